"""Keras's weight initializers, drawn with NumPy (``keras.initializers``).

The names, arguments and distributions are Keras's (its bits are not: the
draws come from NumPy's generator, seeded by ``seed`` or by
:func:`fastmlp.keras.utils.set_random_seed`). Fans are those of a Dense
kernel ``(fan_in, fan_out)``. Truncated normals are cut at two standard
deviations and, for the variance-scaling ones, their standard deviation is
divided by 0.87962566103423978 (the standard deviation of a unit normal
truncated to [-2, 2]) so that the draws have the variance asked for.
"""
import math

import numpy as np

from fastmlp.keras._configurable import Configurable

from fastmlp.keras import utils

__all__ = ["Initializer", "Zeros", "Ones", "Constant", "RandomNormal", "RandomUniform",
           "TruncatedNormal", "VarianceScaling", "GlorotUniform", "GlorotNormal",
           "HeNormal", "HeUniform", "LecunNormal", "LecunUniform", "get"]

_TRUNCATED_STD = 0.87962566103423978


class Initializer(Configurable):
    """Base class: ``initializer(shape, dtype)`` returns an array."""

    def __call__(self, shape, dtype="float32"):
        """Draw the values.

        Parameters
        ----------
        shape : tuple of int
            ``(fan_in, fan_out)`` for a kernel, ``(units,)`` for a bias.
        dtype : str or numpy dtype, default='float32'

        Returns
        -------
        ndarray
        """
        raise NotImplementedError

    @classmethod
    def from_config(cls, config):
        """Build from :meth:`get_config`'s dict (Keras 3.x's ``input_axes``
        and ``output_axes`` entries, which fans of a Dense kernel do not
        need, are dropped).

        Parameters
        ----------
        config : dict

        Returns
        -------
        Initializer
        """
        config = {k: v for k, v in config.items() if k not in ("input_axes", "output_axes")}
        return super().from_config(config)

    def _rng(self):
        seed = getattr(self, "seed", None)
        return np.random.default_rng(utils._next_seed() if seed is None else seed)


class Zeros(Initializer):
    """All zeros."""

    def __call__(self, shape, dtype="float32"):
        return np.zeros(shape, dtype)


class Ones(Initializer):
    """All ones."""

    def __call__(self, shape, dtype="float32"):
        return np.ones(shape, dtype)


class Constant(Initializer):
    """Every value ``value``.

    Parameters
    ----------
    value : float, default=0.0
    """

    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, shape, dtype="float32"):
        return np.full(shape, self.value, dtype)

    def get_config(self):
        return {"value": self.value}


class RandomNormal(Initializer):
    """Normal draws.

    Parameters
    ----------
    mean : float, default=0.0
    stddev : float, default=0.05
    seed : int or None, default=None
    """

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def __call__(self, shape, dtype="float32"):
        return self._rng().normal(self.mean, self.stddev, shape).astype(dtype)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class TruncatedNormal(RandomNormal):
    """Normal draws, redrawn beyond two standard deviations.

    Parameters
    ----------
    mean : float, default=0.0
    stddev : float, default=0.05
    seed : int or None, default=None
    """

    def __call__(self, shape, dtype="float32"):
        return (self.mean + self.stddev * _truncated(self._rng(), shape)).astype(dtype)


def _truncated(rng, shape):
    """Unit normal draws in [-2, 2] (redrawn outside)."""
    z = rng.standard_normal(shape)
    bad = np.abs(z) > 2
    while bad.any():
        z[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(z) > 2
    return z


class RandomUniform(Initializer):
    """Uniform draws in ``[minval, maxval)``.

    Parameters
    ----------
    minval : float, default=-0.05
    maxval : float, default=0.05
    seed : int or None, default=None
    """

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval, self.maxval, self.seed = minval, maxval, seed

    def __call__(self, shape, dtype="float32"):
        return self._rng().uniform(self.minval, self.maxval, shape).astype(dtype)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class VarianceScaling(Initializer):
    """Draws of variance ``scale / n``, ``n`` the fan chosen by ``mode``.

    Parameters
    ----------
    scale : float, default=1.0
    mode : {'fan_in', 'fan_out', 'fan_avg'}, default='fan_in'
    distribution : {'truncated_normal', 'untruncated_normal', 'uniform'}, default='truncated_normal'
    seed : int or None, default=None
    """

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"Invalid `mode` argument: {mode}")
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError(f"Invalid `distribution` argument: {distribution}")
        self.scale, self.mode, self.distribution, self.seed = scale, mode, distribution, seed

    def _limit(self, shape):
        """The standard deviation (normal) or the bound (uniform)."""
        fan_in = shape[-2] if len(shape) >= 2 else (shape[0] if shape else 1)
        fan_out = shape[-1] if shape else 1
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        var = self.scale / max(1.0, n)
        if self.distribution == "uniform":
            return math.sqrt(3.0 * var)
        if self.distribution == "truncated_normal":
            return math.sqrt(var) / _TRUNCATED_STD
        return math.sqrt(var)

    def __call__(self, shape, dtype="float32"):
        shape = tuple(shape)
        limit, rng = self._limit(shape), self._rng()
        if self.distribution == "uniform":
            return rng.uniform(-limit, limit, shape).astype(dtype)
        if self.distribution == "truncated_normal":
            return (limit * _truncated(rng, shape)).astype(dtype)
        return rng.normal(0.0, limit, shape).astype(dtype)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "seed": self.seed}


def _named(name, scale, mode, distribution, doc):
    def __init__(self, seed=None):
        VarianceScaling.__init__(self, scale, mode, distribution, seed)

    def get_config(self):
        return {"input_axes": None, "output_axes": None, "seed": self.seed}

    return type(name, (VarianceScaling,), {"__init__": __init__, "get_config": get_config,
                                           "__doc__": doc + "\n\n    Parameters\n    ----------"
                                           "\n    seed : int or None, default=None\n",
                                           "__module__": __name__})


GlorotUniform = _named("GlorotUniform", 1.0, "fan_avg", "uniform",
                       "Uniform in ``[-l, l]``, ``l = sqrt(6 / (fan_in + fan_out))``.")
GlorotNormal = _named("GlorotNormal", 1.0, "fan_avg", "truncated_normal",
                      "Truncated normal, variance ``2 / (fan_in + fan_out)``.")
HeNormal = _named("HeNormal", 2.0, "fan_in", "truncated_normal",
                  "Truncated normal, variance ``2 / fan_in``.")
HeUniform = _named("HeUniform", 2.0, "fan_in", "uniform",
                   "Uniform in ``[-l, l]``, ``l = sqrt(6 / fan_in)``.")
LecunNormal = _named("LecunNormal", 1.0, "fan_in", "truncated_normal",
                     "Truncated normal, variance ``1 / fan_in``.")
LecunUniform = _named("LecunUniform", 1.0, "fan_in", "uniform",
                      "Uniform in ``[-l, l]``, ``l = sqrt(3 / fan_in)``.")

_ALIASES = {"zeros": Zeros, "zero": Zeros, "ones": Ones, "one": Ones, "constant": Constant,
            "random_normal": RandomNormal, "random_uniform": RandomUniform,
            "truncated_normal": TruncatedNormal, "variance_scaling": VarianceScaling,
            "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal,
            "he_normal": HeNormal, "he_uniform": HeUniform, "lecun_normal": LecunNormal,
            "lecun_uniform": LecunUniform}


def get(identifier):
    """An initializer from a name, a config dict or an instance.

    Parameters
    ----------
    identifier : str, dict, Initializer or None
        Keras's snake-case names (``'glorot_uniform'``, ``'he_normal'``,
        ``'zeros'``, ...) or class names; None gives None.

    Returns
    -------
    Initializer or None
    """
    if identifier is None or isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, dict):
        cls = get(identifier["class_name"]).__class__
        return cls.from_config(identifier.get("config", {}))
    if isinstance(identifier, str):
        cls = _ALIASES.get(identifier) or next(
            (c for c in _ALIASES.values() if c.__name__ == identifier), None)
        if cls is not None:
            return cls()
    raise ValueError(f"Could not interpret initializer identifier: {identifier}")
