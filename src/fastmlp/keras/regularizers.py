"""Keras's weight penalties (``keras.regularizers``).

A regularizer called on a weight array returns the penalty Keras adds to
the loss: ``l1 * sum(|w|)``, ``l2 * sum(w**2)`` (not halved, not divided
by the batch; fastmlp's estimators use ``0.5 * alpha * sum(w**2) / n``).
"""
import numpy as np

from fastmlp.keras._configurable import Configurable

__all__ = ["Regularizer", "L1", "L2", "L1L2", "l1", "l2", "l1_l2", "get"]


def _check(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) \
            or not np.isfinite(value) or value < 0:
        raise ValueError(f"Invalid value for argument {name}: expected a non-negative float."
                         f"Received: {name}={value}")
    return value


class Regularizer(Configurable):
    """Base class: ``regularizer(w)`` is the penalty of ``w``."""

    def __call__(self, x):
        """The penalty.

        Parameters
        ----------
        x : ndarray

        Returns
        -------
        float
        """
        return 0.0

    def gradient(self, x):
        """The penalty's derivative with respect to ``x``.

        Parameters
        ----------
        x : ndarray

        Returns
        -------
        ndarray
            Of ``x``'s shape (``sign(0) = 0``).
        """
        return np.zeros_like(x)


class L1L2(Regularizer):
    """``l1 * sum(|w|) + l2 * sum(w**2)``.

    Parameters
    ----------
    l1, l2 : float, default=0.0
    """

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = float(_check("l1", 0.0 if l1 is None else l1))
        self.l2 = float(_check("l2", 0.0 if l2 is None else l2))

    def __call__(self, x):
        x = np.asarray(x, np.float64)
        return float(self.l1 * np.sum(np.abs(x)) + self.l2 * np.sum(np.square(x)))

    def gradient(self, x):
        return self.l1 * np.sign(x) + 2.0 * self.l2 * np.asarray(x)

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    """``l1 * sum(|w|)``.

    Parameters
    ----------
    l1 : float, default=0.01
        Kept as Keras keeps it, in float32.
    """

    def __init__(self, l1=0.01):
        # Keras keeps L1's factor as a float32 tensor (get_config shows 0.009999999776...)
        super().__init__(l1=float(np.float32(_check("l1", 0.01 if l1 is None else l1))))

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    """``l2 * sum(w**2)``.

    Parameters
    ----------
    l2 : float, default=0.01
    """

    def __init__(self, l2=0.01):
        super().__init__(l2=0.01 if l2 is None else l2)

    def get_config(self):
        return {"l2": self.l2}


l1 = L1
l2 = L2
l1_l2 = L1L2

_BY_NAME = {"l1": L1, "l2": L2, "l1_l2": L1L2, "L1": L1, "L2": L2, "L1L2": L1L2}


def get(identifier):
    """A regularizer from a name, a config dict or an instance.

    Parameters
    ----------
    identifier : str, dict, Regularizer or None

    Returns
    -------
    Regularizer or None
    """
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, dict):
        return _BY_NAME[identifier["class_name"]].from_config(identifier.get("config", {}))
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]()
    raise ValueError(f"Could not interpret regularizer identifier: {identifier}")
