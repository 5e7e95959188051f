"""Keras's weight constraint for MLPs: :class:`MaxNorm` (``keras.constraints``).

A constraint is applied to a weight after each optimizer step.
"""
import numpy as np

from fastmlp.keras._configurable import Configurable

__all__ = ["Constraint", "MaxNorm", "get"]

_EPSILON = 1e-7  # keras.backend.epsilon()


class Constraint(Configurable):
    """Base class: ``constraint(w)`` returns the constrained weight."""

    def __call__(self, w):
        """The constrained weight.

        Parameters
        ----------
        w : ndarray

        Returns
        -------
        ndarray
        """
        return w


class MaxNorm(Constraint):
    """Each unit's incoming weight vector rescaled to a norm of at most ``max_value``.

    ``w * clip(norm, 0, max_value) / (epsilon + norm)`` with ``norm`` the
    Euclidean norm along ``axis`` (0: the inputs of each unit of a Dense
    kernel) and Keras's ``epsilon = 1e-7`` (so a norm below the bound is
    shrunk by a factor ``norm / (norm + 1e-7)``, as in Keras).

    Parameters
    ----------
    max_value : float, default=2
    axis : int, default=0
    """

    def __init__(self, max_value=2, axis=0):
        self.max_value = max_value
        self.axis = axis

    def __call__(self, w):
        w = np.asarray(w)
        norms = np.sqrt(np.sum(np.square(w), axis=self.axis, keepdims=True))
        desired = np.clip(norms, 0, self.max_value)
        return (w * (desired / (_EPSILON + norms))).astype(w.dtype)

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


def get(identifier):
    """A constraint from a name, a config dict or an instance.

    Parameters
    ----------
    identifier : str, dict, Constraint or None
        ``'max_norm'`` / ``'MaxNorm'`` or a config dict.

    Returns
    -------
    Constraint or None
    """
    if identifier is None or isinstance(identifier, Constraint):
        return identifier
    if isinstance(identifier, dict):
        if identifier.get("class_name") in ("MaxNorm", "max_norm"):
            return MaxNorm.from_config(identifier.get("config", {}))
    if identifier in ("max_norm", "MaxNorm"):
        return MaxNorm()
    raise ValueError(f"Could not interpret constraint identifier: {identifier}; "
                     "fastmlp.keras has MaxNorm")
