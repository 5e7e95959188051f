"""Keras's utilities that an MLP script uses.

``to_categorical``, ``set_random_seed``, ``clear_session``.
"""
import random

import numpy as np

__all__ = ["to_categorical", "set_random_seed", "clear_session"]

# The seed of every draw fastmlp.keras makes without a seed of its own
# (initializers, shuffling); set by set_random_seed.
_STATE = {"rng": np.random.default_rng()}


def _next_seed():
    """A seed from the session's generator (set_random_seed makes the
    sequence of seeds, so of initial weights, reproducible)."""
    return int(_STATE["rng"].integers(0, 2**31 - 1))


def to_categorical(x, num_classes=None):
    """One-hot rows from integer labels (``keras.utils.to_categorical``).

    Parameters
    ----------
    x : array-like of int
        Labels in ``[0, num_classes)``; a trailing axis of 1 is dropped.
    num_classes : int or None, default=None
        Number of columns; ``max(x) + 1`` when None.

    Returns
    -------
    ndarray of float64
        Shape ``x.shape + (num_classes,)``: a 1 in column ``x``, 0 elsewhere.
    """
    x = np.array(x, dtype="int64")
    input_shape = x.shape
    if input_shape and input_shape[-1] == 1 and len(input_shape) > 1:
        input_shape = tuple(input_shape[:-1])
    x = x.reshape(-1)
    if not num_classes:
        num_classes = int(np.max(x)) + 1
    categorical = np.zeros((x.shape[0], num_classes))
    categorical[np.arange(x.shape[0]), x] = 1
    return categorical.reshape(input_shape + (num_classes,))


def set_random_seed(seed):
    """Seed every draw of a session (``keras.utils.set_random_seed``).

    Python's ``random``, NumPy's global generator and fastmlp.keras's own
    (initial weights, shuffling) are seeded, so a script gives the same
    numbers on every run.

    Parameters
    ----------
    seed : int
        >= 0.
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"Expected `seed` argument to be a positive integer. Received: "
                         f"seed={seed}")
    random.seed(int(seed))
    np.random.seed(int(seed))
    _STATE["rng"] = np.random.default_rng(int(seed))


def clear_session():
    """Start the layer and model names afresh (``dense``, ``sequential``, ...).

    Keras's ``keras.utils.clear_session``: the global name counters go back
    to zero.
    """
    from fastmlp.keras import layers

    layers._reset_names()
