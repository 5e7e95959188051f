"""The configuration round trip shared by Keras's small objects.

Regularizers, constraints and initializers are rebuilt from their
``get_config()`` dict by passing it back to the constructor, as Keras does;
each subclass's ``get_config`` lists its constructor arguments.
"""


class Configurable:
    """A Keras object whose ``get_config()`` holds its constructor's arguments."""

    def get_config(self):
        """Keras's configuration dict.

        Returns
        -------
        dict
            The constructor's arguments (none for the base class).
        """
        return {}

    @classmethod
    def from_config(cls, config):
        """Build from :meth:`get_config`'s dict.

        Parameters
        ----------
        config : dict
            What :meth:`get_config` returned.

        Returns
        -------
        object
            A new instance of this class.
        """
        return cls(**config)
