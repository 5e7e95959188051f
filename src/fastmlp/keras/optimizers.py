"""Keras 3's optimizers by name, with its defaults, on fastmlp's C steps.

Each class takes Keras's arguments and defaults (``SGD(learning_rate=0.01,
momentum=0.0, nesterov=False)``, ``Adam(0.001, epsilon=1e-7)``, ...) and
the base arguments ``weight_decay``, ``clipnorm``, ``clipvalue``,
``global_clipnorm`` (at most one of the three clippings, as Keras).
Keras 2's spellings ``lr=`` and ``decay=`` are accepted with a warning
(``lr`` is ``learning_rate``; ``decay``, which Keras 3 ignores, is
ignored). A learning-rate schedule (:mod:`fastmlp.keras.schedules`,
also ``optimizers.schedules``) may stand for the learning rate: ``fit``
evaluates it at each step of an epoch, vectorised, before the epoch's C
call. The arithmetic is Keras's (:mod:`fastmlp.optimizers`,
``arithmetic='keras'``): :meth:`Optimizer.fastmlp_optimizer` builds the
object the C step and the training engine run; :meth:`Optimizer.apply`
steps NumPy variables in place, one C step per variable.
"""
import math
import sys
import warnings

import numpy as np

from fastmlp import kernels, reference
from fastmlp import optimizers as _fm
from fastmlp.keras import schedules

# Keras's path to them: keras.optimizers.schedules (importable by that name too).
sys.modules.setdefault(__name__ + ".schedules", schedules)

__all__ = ["Optimizer", "SGD", "RMSprop", "Adam", "AdamW", "Adagrad", "Nadam", "get",
           "schedules"]


def _float32(x):
    """A Python float holding float32(x): Keras keeps hyper-parameters such as
    the learning rate in float32 variables."""
    return float(np.float32(x))


class Optimizer:
    """What Keras's optimizers share (``keras.optimizers.Optimizer``).

    Parameters
    ----------
    learning_rate : float or fastmlp.keras.schedules.LearningRateSchedule
        > 0, or a schedule of the step count (the rate of each step is the
        schedule at ``iterations``, as in Keras).
    weight_decay : float or None, default=None
        Decoupled weight decay: before each step ``w -= w * weight_decay *
        learning_rate``.
    clipnorm : float or None, default=None
        Each variable's gradient scaled to a norm of at most ``clipnorm``.
    clipvalue : float or None, default=None
        Each gradient value clamped to ``[-clipvalue, clipvalue]``.
    global_clipnorm : float or None, default=None
        All the gradients scaled together to a norm of at most
        ``global_clipnorm``.
    name : str or None, default=None
        Keras's name (its class name in snake case by default).
    **kwargs
        Keras 2's ``lr`` (warns, taken as ``learning_rate``) and ``decay``
        (warns, ignored); anything else is a ValueError, as in Keras.

    Attributes
    ----------
    iterations : int
        Steps taken (the engine's ``t``).
    learning_rate : float
        The current rate: with a schedule, its value at ``iterations``
        (read-only then: setting a float raises TypeError, as in Keras, so
        ``ReduceLROnPlateau`` and ``LearningRateScheduler`` refuse a
        schedule when they set the rate). A schedule may be set.
    """

    _kind = None
    _n_slots = 0  # state arrays per variable (Keras's optimizer variables)
    _default_name = None

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name=None, **kwargs):
        if "lr" in kwargs:
            warnings.warn("Argument `lr` is Keras 2's name of `learning_rate` (Keras 3 "
                          "rejects it); fastmlp.keras takes it as `learning_rate`.",
                          DeprecationWarning, stacklevel=3)
            learning_rate = kwargs.pop("lr")
        if "decay" in kwargs:
            kwargs.pop("decay")
            warnings.warn("Argument `decay` is no longer supported and will be ignored.",
                          UserWarning, stacklevel=3)
        for key in ("use_ema", "ema_momentum", "ema_overwrite_frequency", "loss_scale_factor",
                    "gradient_accumulation_steps"):
            if kwargs.get(key, None) not in (None, False, 0.99):
                raise NotImplementedError(f"fastmlp.keras optimizers do not support {key}")
            kwargs.pop(key, None)
        if kwargs:
            raise ValueError(f"Argument(s) not recognized: {kwargs}")
        if sum(x is not None for x in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError("Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can "
                             f"be set. Received: clipnorm={clipnorm}, clipvalue={clipvalue}, "
                             f"global_clipnorm={global_clipnorm}")
        for key, value in (("learning_rate", learning_rate), ("clipnorm", clipnorm),
                           ("clipvalue", clipvalue), ("global_clipnorm", global_clipnorm),
                           ("weight_decay", weight_decay)):
            if value is None and key != "learning_rate":
                continue
            if isinstance(value, schedules.LearningRateSchedule) and key == "learning_rate":
                continue
            if callable(value) and key == "learning_rate":
                raise NotImplementedError("fastmlp.keras takes a float learning_rate or a "
                                          "keras.optimizers.schedules.LearningRateSchedule")
            if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) \
                    or not math.isfinite(value) or value < 0 \
                    or (value == 0 and key != "weight_decay"):
                raise ValueError(f"Argument `{key}` must be a positive float, got {value!r}")
        self.iterations = 0
        self._learning_rate = learning_rate if isinstance(
            learning_rate, schedules.LearningRateSchedule) else _float32(learning_rate)
        self.weight_decay = None if weight_decay is None else float(weight_decay)
        self.clipnorm = None if clipnorm is None else float(clipnorm)
        self.clipvalue = None if clipvalue is None else float(clipvalue)
        self.global_clipnorm = None if global_clipnorm is None else float(global_clipnorm)
        self.name = name if name is not None else self._default_name
        self._slots = None

    @property
    def learning_rate(self):
        """The current learning rate (a schedule's at ``iterations``)."""
        if isinstance(self._learning_rate, schedules.LearningRateSchedule):
            return float(self._learning_rate(self.iterations))
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        if isinstance(value, schedules.LearningRateSchedule):
            self._learning_rate = value
        elif isinstance(self._learning_rate, schedules.LearningRateSchedule):
            raise TypeError("This optimizer was created with a `LearningRateSchedule` object "
                            "as its `learning_rate` constructor argument, hence its learning "
                            "rate is not settable. If you need the learning rate to be "
                            "settable, you should instantiate the optimizer with a float "
                            "`learning_rate` argument.")
        else:
            self._learning_rate = value

    def lr_steps(self, n_steps):
        """The rates of the next `n_steps` steps, for the engine.

        Parameters
        ----------
        n_steps : int
            Steps to come (an epoch's minibatches).

        Returns
        -------
        ndarray of float64 or None
            With a schedule, its float32 values at ``iterations``,
            ``iterations + 1``, ... (one call, vectorised); None for a
            float rate (the engine's scalar).
        """
        if not isinstance(self._learning_rate, schedules.LearningRateSchedule):
            return None
        steps = self.iterations + np.arange(int(n_steps), dtype=np.int64)
        rates = np.asarray(self._learning_rate(steps), dtype=np.float32).astype(np.float64)
        if rates.shape != (int(n_steps),):
            raise ValueError(f"the learning-rate schedule returned shape {rates.shape} for "
                             f"{int(n_steps)} steps; it must take an array of steps")
        if not (np.isfinite(rates).all() and (rates >= 0).all()):
            raise ValueError("the learning-rate schedule gave a rate that is not finite and "
                             f">= 0 at the steps from {self.iterations}")
        return rates

    def _hyper(self):
        """The fastmlp.optimizers keyword arguments besides the common ones."""
        return {}

    def _n_variable_slots(self):
        return self._n_slots

    def fastmlp_optimizer(self, n_params, dtype=np.float32):
        """The :mod:`fastmlp.optimizers` object running this optimizer.

        Parameters
        ----------
        n_params : int
            Number of parameters (one variable, or the engine's flat layout).
        dtype : {numpy.float32, numpy.float64}, default=numpy.float32
            The parameters' dtype.

        Returns
        -------
        fastmlp.optimizers.BaseOptimizer
            With ``arithmetic='keras'``, Keras's per-variable clipping, the
            learning rate and step count of this object.
        """
        opt = self._fastmlp_class(n_params, dtype, learning_rate_init=self.learning_rate,
                                  weight_decay=self.weight_decay or 0.0, arithmetic="keras",
                                  clipnorm=self.clipnorm, clipvalue=self.clipvalue,
                                  **self._hyper())
        opt.t = self.iterations
        return opt

    def build(self, variables):
        """Create the state of each variable (Keras's ``build``).

        Parameters
        ----------
        variables : list of ndarray
            The variables this optimizer will step (float32 or float64).
        """
        self._slots = [self.fastmlp_optimizer(v.size, v.dtype) for v in variables]
        for opt, v in zip(self._slots, variables):
            opt.state = [s.reshape(v.shape) for s in opt.state]

    def apply(self, grads, variables):
        """One step on every variable, in place (Keras's ``apply``).

        Keras's order: the gradients clipped (``global_clipnorm`` over all of
        them here; ``clipnorm`` / ``clipvalue`` per variable in the C step),
        the decoupled decay, the rule; then ``iterations`` advances.

        Parameters
        ----------
        grads : list of ndarray
            One gradient per variable.
        variables : list of ndarray
            C-contiguous writeable arrays, updated in place.
        """
        if self._slots is None:
            self.build(variables)
        if len(grads) != len(variables) or len(variables) != len(self._slots):
            raise ValueError("apply needs one gradient per variable, the variables of build")
        grads = [np.asarray(g, dtype=v.dtype) for g, v in zip(grads, variables)]
        if self.global_clipnorm is not None:
            # one scale for all the variables (the engine will do it in C)
            grads = reference.keras_global_clip(grads, self.global_clipnorm)
        for opt, g, v in zip(self._slots, grads, variables):
            opt.learning_rate = self.learning_rate
            opt.t = self.iterations
            kernels.optimizer_step(v, g, opt)
        self.iterations += 1

    def count_params(self, trainable_sizes):
        """How many values Keras's optimizer variables hold.

        Parameters
        ----------
        trainable_sizes : list of int
            Sizes of the model's trainable variables.

        Returns
        -------
        int
            ``iterations`` and ``learning_rate`` (2; 1 with a schedule), plus the per-variable
            state (and Nadam's ``u_product``): the "Optimizer params" line of
            ``summary()``.
        """
        # a schedule is not a variable: iterations only (Keras tracks no rate)
        own = 1 if isinstance(self._learning_rate, schedules.LearningRateSchedule) else 2
        return own + self._n_variable_slots() * int(sum(trainable_sizes)) + self._extra_scalars

    _extra_scalars = 0

    def get_config(self):
        """Keras's configuration dict.

        Returns
        -------
        dict
            The arguments, as Keras 3's ``get_config`` names them (a
            schedule as Keras serializes it).
        """
        lr = self._learning_rate
        if isinstance(lr, schedules.LearningRateSchedule):
            lr = schedules.serialize(lr)
        return {"name": self.name, "learning_rate": lr,
                "weight_decay": self.weight_decay, "clipnorm": self.clipnorm,
                "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue,
                "use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None,
                "loss_scale_factor": None, "gradient_accumulation_steps": None,
                **self._config()}

    def _config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        """Build from :meth:`get_config`'s dict.

        Parameters
        ----------
        config : dict
            As :meth:`get_config` returns it (or Keras's).

        Returns
        -------
        Optimizer
        """
        config = {k: v for k, v in config.items()
                  if k not in ("use_ema", "ema_momentum", "ema_overwrite_frequency",
                               "loss_scale_factor", "gradient_accumulation_steps")}
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"])
        return cls(**config)

    def __repr__(self):
        return (f"<fastmlp.keras.optimizers.{type(self).__name__} "
                f"learning_rate={self.learning_rate:g}>")


class SGD(Optimizer):
    """Gradient descent with momentum (``keras.optimizers.SGD``).

    ``m = momentum * m - lr * g``; ``w += m`` (``w += momentum * m - lr * g``
    with Nesterov); ``w -= lr * g`` when ``momentum == 0``.

    Parameters
    ----------
    learning_rate : float, default=0.01
    momentum : float, default=0.0
        In [0, 1].
    nesterov : bool, default=False
    weight_decay, clipnorm, clipvalue, global_clipnorm, name, **kwargs
        See :class:`Optimizer`.
    """

    _fastmlp_class = _fm.SGD
    _default_name = "SGD"

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, name="SGD", **kwargs):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         name, **kwargs)
        if not isinstance(momentum, (int, float)) or not 0 <= momentum <= 1:
            raise ValueError("`momentum` must be a float between [0, 1].")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def _n_variable_slots(self):
        return 1 if self.momentum != 0 else 0

    def _hyper(self):
        return {"momentum": self.momentum, "nesterov": self.nesterov}

    def _config(self):
        return {"momentum": self.momentum, "nesterov": self.nesterov}


class RMSprop(Optimizer):
    """RMSprop (``keras.optimizers.RMSprop``), Keras's epsilon placement.

    ``s = rho * s + (1 - rho) * g**2``; ``w -= lr * g / sqrt(s + epsilon)``.

    Parameters
    ----------
    learning_rate : float, default=0.001
    rho : float, default=0.9
    momentum : float, default=0.0
        Only 0 (Keras's RMSprop momentum is not built yet).
    epsilon : float, default=1e-7
    centered : bool, default=False
        Only False (not built yet).
    weight_decay, clipnorm, clipvalue, global_clipnorm, name, **kwargs
        See :class:`Optimizer`.
    """

    _fastmlp_class = _fm.RMSprop
    _n_slots = 1
    _default_name = "rmsprop"

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                 centered=False, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name="rmsprop", **kwargs):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         name, **kwargs)
        if momentum != 0 or centered:
            raise NotImplementedError("fastmlp.keras's RMSprop has momentum=0 and "
                                      "centered=False only")
        self.rho, self.momentum, self.epsilon, self.centered = float(rho), 0.0, float(
            epsilon), False

    def _hyper(self):
        return {"rho": self.rho, "epsilon": self.epsilon}

    def _config(self):
        return {"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                "centered": self.centered}


class Adam(Optimizer):
    """Adam (``keras.optimizers.Adam``).

    ``m += (g - m) * (1 - beta_1)``, ``v += (g**2 - v) * (1 - beta_2)``,
    ``w -= lr * sqrt(1 - beta_2**t) / (1 - beta_1**t) * m / (sqrt(v) + epsilon)``.

    Parameters
    ----------
    learning_rate : float, default=0.001
    beta_1, beta_2 : float, default=0.9, 0.999
    epsilon : float, default=1e-7
    amsgrad : bool, default=False
        Only False (not built yet).
    weight_decay, clipnorm, clipvalue, global_clipnorm, name, **kwargs
        See :class:`Optimizer`.
    """

    _fastmlp_class = _fm.Adam
    _n_slots = 2
    _default_name = "adam"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name="adam", **kwargs):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         name, **kwargs)
        if amsgrad:
            raise NotImplementedError("fastmlp.keras's Adam has amsgrad=False only")
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)
        self.amsgrad = False

    def _hyper(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}

    def _config(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                "amsgrad": self.amsgrad}


class AdamW(Adam):
    """AdamW (``keras.optimizers.AdamW``): Keras's Adam with decoupled decay.

    Parameters
    ----------
    learning_rate : float, default=0.001
    weight_decay : float, default=0.004
    beta_1, beta_2 : float, default=0.9, 0.999
    epsilon : float, default=1e-7
    amsgrad : bool, default=False
    clipnorm, clipvalue, global_clipnorm, name, **kwargs
        See :class:`Optimizer`.
    """

    _fastmlp_class = _fm.AdamW
    _default_name = "adamw"

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name="adamw", **kwargs):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay,
                         clipnorm, clipvalue, global_clipnorm, name, **kwargs)
        if self.weight_decay is None:
            raise ValueError("Argument `weight_decay` must be a float. Received: "
                             "weight_decay=None")


class Adagrad(Optimizer):
    """AdaGrad (``keras.optimizers.Adagrad``).

    ``s += g**2`` (``s`` starts at ``initial_accumulator_value``);
    ``w -= lr * g / sqrt(s + epsilon)``.

    Parameters
    ----------
    learning_rate : float, default=0.001
    initial_accumulator_value : float, default=0.1
    epsilon : float, default=1e-7
    weight_decay, clipnorm, clipvalue, global_clipnorm, name, **kwargs
        See :class:`Optimizer`.
    """

    _fastmlp_class = _fm.Adagrad
    _n_slots = 1
    _default_name = "adagrad"

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 name="adagrad", **kwargs):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         name, **kwargs)
        self.initial_accumulator_value = float(initial_accumulator_value)
        self.epsilon = float(epsilon)

    def _hyper(self):
        return {"initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}

    def _config(self):
        return {"initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


class Nadam(Optimizer):
    """Nadam (``keras.optimizers.Nadam``): Adam with Nesterov momentum.

    ``u_t = beta_1 * (1 - 0.5 * 0.96**t)``; moments as :class:`Adam`;
    ``w -= lr * (u_{t+1} m / (1 - u_1...u_{t+1}) + (1 - u_t) g / (1 - u_1...u_t))
    / (sqrt(v / (1 - beta_2**t)) + epsilon)``.

    Parameters
    ----------
    learning_rate : float, default=0.001
    beta_1, beta_2 : float, default=0.9, 0.999
    epsilon : float, default=1e-7
    weight_decay, clipnorm, clipvalue, global_clipnorm, name, **kwargs
        See :class:`Optimizer`.
    """

    _fastmlp_class = _fm.NAdam
    _n_slots = 2
    _extra_scalars = 1  # u_product
    _default_name = "nadam"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 name="nadam", **kwargs):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         name, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)
        self.u_product = 1.0

    def _hyper(self):
        # Keras's u_t = beta_1 * (1 - 0.5 * 0.96**t): torch's mu_t with momentum_decay 1
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                "momentum_decay": 1.0}

    def fastmlp_optimizer(self, n_params, dtype=np.float32):
        opt = super().fastmlp_optimizer(n_params, dtype)
        opt.mu_product = self.u_product
        return opt

    fastmlp_optimizer.__doc__ = Optimizer.fastmlp_optimizer.__doc__

    def apply(self, grads, variables):
        super().apply(grads, variables)
        self.u_product = self._slots[0].mu_product  # every variable's is the same

    apply.__doc__ = Optimizer.apply.__doc__

    def _config(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


_BY_NAME = {"sgd": SGD, "rmsprop": RMSprop, "adam": Adam, "adamw": AdamW, "adagrad": Adagrad,
            "nadam": Nadam}
_KERAS_ONLY = ("adadelta", "adamax", "adafactor", "ftrl", "lion", "lamb", "loss_scale_optimizer",
               "muon")


def get(identifier):
    """An optimizer from a name (any case), a config dict or an instance.

    Parameters
    ----------
    identifier : str, dict or Optimizer
        ``'sgd'``, ``'SGD'``, ``'rmsprop'``, ``'adam'``, ``'adamw'``,
        ``'adagrad'``, ``'nadam'`` (with Keras's defaults); a
        ``{"class_name": ..., "config": ...}`` dict; an :class:`Optimizer`.

    Returns
    -------
    Optimizer

    Raises
    ------
    ValueError
        An unknown name, or one of Keras's optimizers that fastmlp.keras
        does not have (it names the ones it has).
    """
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        cls = _BY_NAME.get(str(identifier.get("class_name", "")).lower())
        if cls is None:
            raise ValueError(f"Could not interpret optimizer identifier: {identifier}")
        return cls.from_config(identifier.get("config", {}))
    if isinstance(identifier, str):
        key = identifier.lower()
        if key in _BY_NAME:
            return _BY_NAME[key]()
        if key in _KERAS_ONLY:
            raise ValueError(f"fastmlp.keras has no {identifier!r} optimizer; it has "
                             f"{sorted(c.__name__ for c in _BY_NAME.values())}")
    raise ValueError(f"Could not interpret optimizer identifier: {identifier}")
