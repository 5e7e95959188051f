"""Keras 3's learning-rate schedules (``keras.optimizers.schedules``).

A schedule maps the optimizer's step count (``iterations``, the steps
taken before the step) to that step's learning rate, with Keras's formulas
evaluated in float32 as Keras does. Pass one as any optimizer's
``learning_rate``. The schedule is evaluated in NumPy for all the steps of
an epoch at once (``__call__`` takes an array of steps), before the
epoch's C call: the engine reads one rate per minibatch
(:class:`fastmlp.keras.optimizers.Optimizer`).
"""
import math

import numpy as np

__all__ = ["LearningRateSchedule", "ExponentialDecay", "PiecewiseConstantDecay",
           "PolynomialDecay", "InverseTimeDecay", "CosineDecay", "serialize", "deserialize"]

_F = np.float32


def _steps(step):
    """The steps as float32 (Keras casts the step count to the rate's dtype)."""
    return np.asarray(step).astype(_F)


def _out(value):
    """A float32 scalar for a scalar step, else the float32 array."""
    value = np.asarray(value, dtype=_F)
    return value[()] if value.ndim == 0 else value


def _check_decay_steps(decay_steps, name="decay_steps"):
    if decay_steps <= 0:
        raise ValueError(f"Argument `{name}` must be > 0. Received: {name}={decay_steps}")


class LearningRateSchedule:
    """The learning-rate schedule base class (Keras's).

    A subclass defines ``__call__(step)`` (the rate at a step count) and,
    to be saved, ``get_config``.
    """

    def __call__(self, step):
        """The learning rate at `step`.

        Parameters
        ----------
        step : int or array of int
            The optimizer's step count(s) (steps taken before the step).

        Returns
        -------
        numpy.float32 or ndarray of float32
            One rate per step.
        """
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must "
                                  "override `__call__(self, step)`.")

    def get_config(self):
        """Keras's configuration dict.

        Returns
        -------
        dict
            The constructor's arguments.
        """
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must "
                                  "override `get_config()` in order to be serializable.")

    @classmethod
    def from_config(cls, config):
        """Build from :meth:`get_config`'s dict.

        Parameters
        ----------
        config : dict
            As :meth:`get_config` returns it (or Keras's).

        Returns
        -------
        LearningRateSchedule
        """
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class ExponentialDecay(LearningRateSchedule):
    """An exponential decay: ``initial_learning_rate * decay_rate ** (step / decay_steps)``.

    Parameters
    ----------
    initial_learning_rate : float
        The rate at step 0.
    decay_steps : int
        > 0.
    decay_rate : float
        The factor per `decay_steps` steps.
    staircase : bool, default=False
        ``step / decay_steps`` rounded down (a staircase).
    name : str, default="ExponentialDecay"
        Keras's name scope (kept in the config).
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="ExponentialDecay"):
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name
        _check_decay_steps(decay_steps)

    def __call__(self, step):
        p = _steps(step) / _F(self.decay_steps)
        if self.staircase:
            p = np.floor(p)
        return _out(_F(self.initial_learning_rate) * np.power(_F(self.decay_rate), p))

    __call__.__doc__ = LearningRateSchedule.__call__.__doc__

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}

    get_config.__doc__ = LearningRateSchedule.get_config.__doc__


class PiecewiseConstantDecay(LearningRateSchedule):
    """A constant rate between boundaries (``keras.optimizers.schedules``).

    ``values[0]`` while ``step <= boundaries[0]``, ``values[1]`` while
    ``step <= boundaries[1]``, ..., ``values[-1]`` after the last boundary.

    Parameters
    ----------
    boundaries : list of int
        Strictly increasing step counts.
    values : list of float
        One more than `boundaries`.
    name : str, default="PiecewiseConstant"
        Keras's name scope (kept in the config).
    """

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "The length of boundaries should be 1 less than the length of values. "
                f"Received: boundaries={boundaries} of length {len(boundaries)}, and "
                f"values={values} of length {len(values)}.")
        self.boundaries = boundaries
        self.values = values
        self.name = name

    def __call__(self, step):
        step = np.asarray(step)
        # The interval a step falls in: the number of boundaries below it.
        index = np.searchsorted(np.asarray(self.boundaries), step, side="left")
        return _out(np.asarray(self.values, dtype=_F)[index])

    __call__.__doc__ = LearningRateSchedule.__call__.__doc__

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}

    get_config.__doc__ = LearningRateSchedule.get_config.__doc__


class PolynomialDecay(LearningRateSchedule):
    """A polynomial decay to `end_learning_rate` in `decay_steps` steps.

    ``(initial - end) * (1 - min(step, decay_steps) / decay_steps) ** power
    + end``.

    Parameters
    ----------
    initial_learning_rate : float
        The rate at step 0.
    decay_steps : int
        > 0.
    end_learning_rate : float, default=0.0001
        The rate from `decay_steps` on.
    power : float, default=1.0
        The polynomial's power (1: linear).
    cycle : bool, default=False
        Past `decay_steps`, decay again over the first multiple of
        `decay_steps` above the step (instead of staying at the end).
    name : str, default="PolynomialDecay"
        Keras's name scope (kept in the config).
    """

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0,
                 cycle=False, name="PolynomialDecay"):
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name
        _check_decay_steps(decay_steps)

    def __call__(self, step):
        s = _steps(step)
        decay_steps = _F(self.decay_steps)
        if self.cycle:
            multiplier = np.where(s == 0, _F(1.0), np.ceil(s / decay_steps)).astype(_F)
            decay_steps = decay_steps * multiplier
        else:
            s = np.minimum(s, decay_steps)
        p = s / decay_steps
        lr0, end = _F(self.initial_learning_rate), _F(self.end_learning_rate)
        return _out((lr0 - end) * np.power(_F(1) - p, _F(self.power)) + end)

    __call__.__doc__ = LearningRateSchedule.__call__.__doc__

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "end_learning_rate": self.end_learning_rate,
                "power": self.power, "cycle": self.cycle, "name": self.name}

    get_config.__doc__ = LearningRateSchedule.get_config.__doc__


class InverseTimeDecay(LearningRateSchedule):
    """An inverse time decay: ``initial_learning_rate / (1 + decay_rate * step / decay_steps)``.

    Parameters
    ----------
    initial_learning_rate : float
        The rate at step 0.
    decay_steps : int
        > 0.
    decay_rate : float
        How fast the rate falls: it halves at ``step = decay_steps / decay_rate``.
    staircase : bool, default=False
        ``step / decay_steps`` rounded down.
    name : str, default="InverseTimeDecay"
        Keras's name scope (kept in the config).
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="InverseTimeDecay"):
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name
        _check_decay_steps(decay_steps)

    def __call__(self, step):
        p = _steps(step) / _F(self.decay_steps)
        if self.staircase:
            p = np.floor(p)
        return _out(_F(self.initial_learning_rate) / (_F(1) + _F(self.decay_rate) * p))

    __call__.__doc__ = LearningRateSchedule.__call__.__doc__

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}

    get_config.__doc__ = LearningRateSchedule.get_config.__doc__


class CosineDecay(LearningRateSchedule):
    """Cosine decay, after an optional linear warmup.

    Without warmup: ``lr0 * ((1 - alpha) * 0.5 * (1 + cos(pi * s /
    decay_steps)) + alpha)`` with ``s = min(step, decay_steps)``. With a
    `warmup_target`: from `initial_learning_rate` linearly to
    `warmup_target` over `warmup_steps`, then the cosine decay from
    `warmup_target` over the next `decay_steps`.

    Parameters
    ----------
    initial_learning_rate : float
        The rate at step 0.
    decay_steps : int
        > 0.
    alpha : float, default=0.0
        The end of the decay as a fraction of its start.
    name : str, default="CosineDecay"
        Keras's name scope (kept in the config).
    warmup_target : float or None, default=None
        The rate the warmup reaches (None: no warmup).
    warmup_steps : int, default=0
        The warmup's length in steps.
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay",
                 warmup_target=None, warmup_steps=0):
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_steps = warmup_steps
        self.warmup_target = warmup_target
        _check_decay_steps(decay_steps)

    def _decay(self, s, decay_steps, decay_from):
        fraction = s / decay_steps
        cosine = _F(0.5) * (_F(1.0) + np.cos(_F(math.pi) * fraction))
        decayed = _F(1 - self.alpha) * cosine + _F(self.alpha)
        return decay_from * decayed

    def __call__(self, step):
        s = _steps(step)
        lr0 = _F(self.initial_learning_rate)
        decay_steps = _F(self.decay_steps)
        if self.warmup_target is None:
            return _out(self._decay(np.minimum(s, decay_steps), decay_steps, lr0))
        target, warmup_steps = _F(self.warmup_target), _F(self.warmup_steps)
        s = np.minimum(s, decay_steps + warmup_steps)
        with np.errstate(divide="ignore", invalid="ignore"):  # warmup_steps 0: not taken
            warm = (target - lr0) * (s / warmup_steps) + lr0
        return _out(np.where(s < warmup_steps, warm,
                             self._decay(s - warmup_steps, decay_steps, target)))

    __call__.__doc__ = LearningRateSchedule.__call__.__doc__

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha, "name": self.name,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}

    get_config.__doc__ = LearningRateSchedule.get_config.__doc__


_BY_NAME = {c.__name__: c for c in (ExponentialDecay, PiecewiseConstantDecay, PolynomialDecay,
                                    InverseTimeDecay, CosineDecay)}


def serialize(learning_rate_schedule):
    """A schedule as Keras serializes it (in an optimizer's config, a ``.keras`` file).

    Parameters
    ----------
    learning_rate_schedule : LearningRateSchedule
        One of this module's schedules.

    Returns
    -------
    dict
        ``{"module": "keras.optimizers.schedules", "class_name": ...,
        "config": ..., "registered_name": None}``.
    """
    return {"module": "keras.optimizers.schedules",
            "class_name": type(learning_rate_schedule).__name__,
            "config": learning_rate_schedule.get_config(), "registered_name": None}


def deserialize(config):
    """A schedule from :func:`serialize`'s dict (or Keras's).

    Parameters
    ----------
    config : dict
        With ``class_name`` (one of this module's schedules) and ``config``.

    Returns
    -------
    LearningRateSchedule
        The schedule the dict describes.

    Raises
    ------
    ValueError
        A schedule this module does not have (CosineDecayRestarts, a custom one).
    """
    cls = _BY_NAME.get(config.get("class_name"))
    if cls is None:
        raise ValueError(f"fastmlp.keras has no learning-rate schedule "
                         f"{config.get('class_name')!r}; it has {sorted(_BY_NAME)}")
    return cls.from_config(config.get("config", {}))
