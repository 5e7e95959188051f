"""The stochastic solvers of the MLP estimators, one class per solver.

An optimizer object is everything a solver keeps between minibatches: its
hyper-parameters, its step count ``t``, its state arrays (flat, in
scikit-learn's parameter order: all coefficients, then all intercepts, then
batch normalisation's gammas and betas), and the learning-rate bookkeeping
that scikit-learn's ``_stochastic_optimizers`` do once per epoch
(:meth:`~BaseOptimizer.iteration_ends`, :meth:`~BaseOptimizer.trigger_stopping`).
The training engine (``MLPEngine.epoch``) takes the object as it is and
updates the state arrays and ``t`` in place, in C; Python never loops over
minibatches. An estimator keeps its optimizer as ``est.optimizer_`` (stored
as ``_optimizer``, scikit-learn's name), so that ``partial_fit`` continues
where it stopped and pickles carry it.

Each class's docstring gives its update rule; the C bodies are in
``csrc/ops/optimizers_tmpl.h`` and their NumPy twins in :mod:`fastmlp.reference`.

``arithmetic`` chooses how a step rounds: ``"sklearn"`` reproduces
scikit-learn's SGD and Adam bit for bit (NumPy's promotion rules: Adam's
float32 update is computed in float64), ``"plain"`` computes every
operation in the parameters' dtype, vectorised, with subnormal numbers
flushed to zero (inputs and results, as XLA and TensorFlow run on the
CPU): a weight whose gradient stays zero, a dead ReLU unit's, has its
moments decay into the subnormal range, where each operation costs a
microcode assist; unflushed, a float32 MNIST epoch's Adam step grew 5x over
eight epochs on Sapphire Rapids. The newer solvers only have the plain
form. ``"keras"`` is Keras 3's form of every rule (its moment updates
``m += (g - m) * (1 - beta_1)``, RMSprop's and AdaGrad's epsilon under the
square root, AdamW as Keras's Adam after the decoupled decay, Nadam with
``momentum_decay=1``), plain rounding otherwise; with it, ``clipnorm`` and
``clipvalue`` clip each step's gradient as Keras clips one variable's
(:func:`fastmlp.kernels.optimizer_step`, :func:`fastmlp.reference.keras_step`;
the training engine does not apply them yet). :mod:`fastmlp.keras.optimizers`
builds these objects with Keras's names and defaults.
"""
import math
import numbers

import numpy as np

from fastmlp._validation import check_optimizer_hyper

__all__ = ["BaseOptimizer", "SGD", "Adam", "RMSprop", "Adagrad", "AdamW", "NAdam"]

_LR_STRINGS = ("constant", "invscaling", "adaptive")


def _check_no_sklearn(arithmetic):
    """The newer rules have no scikit-learn form."""
    if arithmetic not in ("plain", "keras"):
        raise ValueError(f"arithmetic must be 'plain' or 'keras', got {arithmetic!r}")


class BaseOptimizer:
    """What every solver shares: learning rate, step count, state arrays.

    Parameters
    ----------
    n_params : int
        Number of parameters (length of each state array).
    dtype : {numpy.float32, numpy.float64}, default=numpy.float64
        dtype of the parameters and of the state arrays.
    learning_rate_init : float, default=0.001
        Learning rate of the first epoch, > 0 (scikit-learn's constraint).
    lr_schedule : 'constant' or callable, default='constant'
        How the learning rate changes from epoch to epoch: 'constant', or a
        schedule ``f(epoch, learning_rate_init) -> learning rate`` (finite,
        >= 0: a rate of 0 is legal, as in torch; see
        :mod:`fastmlp.schedules`) giving the rate of epoch ``epoch``
        (counted from 0; epoch 0 trains at ``learning_rate_init``).
        :class:`SGD` also has scikit-learn's 'invscaling' and 'adaptive'.
    weight_decay : float, default=0.0
        Decoupled weight decay, >= 0: before each step every parameter is
        multiplied by ``1 - learning_rate * weight_decay`` (AdamW's rule).
    arithmetic : {'sklearn', 'plain', 'keras'}, default='plain'
        How a step rounds (see the module docstring).
    clipnorm : float or None, default=None
        With ``arithmetic='keras'``: each step's gradient scaled by
        ``clipnorm / max(norm, clipnorm)`` (Keras's per-variable clipping).
    clipvalue : float or None, default=None
        With ``arithmetic='keras'``: each step's gradient clamped to
        ``[-clipvalue, clipvalue]``.

    Attributes
    ----------
    learning_rate : float
        The learning rate of the coming steps (finite, >= 0).
    t : int
        Steps taken (minibatches), advanced by the engine.
    epoch : int
        Epochs ended (calls of :meth:`iteration_ends`).
    state : list of ndarray
        The solver's state arrays, each ``(n_params,)``, updated in place.
    """

    #: Name of the rule in the C engine.
    kind = None
    #: Number of state arrays.
    n_states = 0
    #: The scalars besides the arrays that a step or an epoch changes.
    _counters = ("t", "learning_rate", "epoch")

    def __init__(self, n_params, dtype=np.float64, *, learning_rate_init=0.001,
                 lr_schedule="constant", weight_decay=0.0, arithmetic="plain", clipnorm=None,
                 clipvalue=None):
        if isinstance(n_params, (bool, np.bool_)) or not isinstance(n_params, numbers.Integral) \
                or n_params < 0:
            raise ValueError(f"n_params must be an integer >= 0, got {n_params!r}")
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {dtype}")
        check_optimizer_hyper(learning_rate_init=learning_rate_init, weight_decay=weight_decay)
        if arithmetic not in ("sklearn", "plain", "keras"):
            raise ValueError(f"arithmetic must be 'sklearn', 'plain' or 'keras', got "
                             f"{arithmetic!r}")
        for name, value in (("clipnorm", clipnorm), ("clipvalue", clipvalue)):
            if value is None:
                continue
            if arithmetic != "keras":
                raise ValueError(f"{name} is Keras's per-variable clipping: it needs "
                                 f"arithmetic='keras'")
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
                raise ValueError(f"{name} must be a float > 0 or None, got {value!r}")
        if clipnorm is not None and clipvalue is not None:
            raise ValueError("set at most one of clipnorm and clipvalue (as Keras)")
        self.clipnorm = None if clipnorm is None else float(clipnorm)
        self.clipvalue = None if clipvalue is None else float(clipvalue)
        self._check_schedule(lr_schedule)
        self.learning_rate_init = learning_rate_init
        self.learning_rate = float(learning_rate_init)
        self.lr_schedule = lr_schedule
        self.weight_decay = float(weight_decay)
        self.arithmetic = arithmetic
        self.t = 0
        self.epoch = 0
        self.state = [self._initial_state(k, int(n_params), dtype) for k in range(self.n_states)]

    def _check_schedule(self, lr_schedule):
        if lr_schedule != "constant" and not callable(lr_schedule):
            raise ValueError(f"{type(self).__name__} takes lr_schedule='constant' or a "
                             f"callable schedule, got {lr_schedule!r}")

    def _initial_state(self, k, n_params, dtype):
        return np.zeros(n_params, dtype)

    def iteration_ends(self, time_step):
        """Update the learning rate at the end of an epoch.

        Parameters
        ----------
        time_step : int
            Samples seen so far (scikit-learn's ``t_``).
        """
        self.epoch += 1
        if callable(self.lr_schedule):
            lr = float(self.lr_schedule(self.epoch, self.learning_rate_init))
            # 0 is a legal rate (torch's too): a cosine reaches eta_min=0.
            if not (math.isfinite(lr) and lr >= 0):
                raise ValueError(f"the learning-rate schedule gave {lr} for epoch "
                                 f"{self.epoch}; learning rates must be finite and >= 0")
            self.learning_rate = lr

    def trigger_stopping(self, msg, verbose):
        """Decide whether to stop when the loss or score stopped improving.

        Parameters
        ----------
        msg : str
            The reason, printed when ``verbose``.
        verbose : bool
            Print what is decided.

        Returns
        -------
        bool
            True to stop training: always, except with the 'adaptive'
            schedule (:class:`SGD`), which divides the learning rate by 5 and
            goes on while it is above 1e-6 (scikit-learn's rule).
        """
        if self.lr_schedule != "adaptive":
            if verbose:
                print(msg + " Stopping.")
            return True
        if self.learning_rate <= 1e-6:
            if verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self.learning_rate /= 5.0
        if verbose:
            print(msg + " Setting learning rate to %f" % self.learning_rate)
        return False

    def writeable(self, dtype=None):
        """Make every state array C-contiguous and writeable (and of `dtype`).

        Only the arrays that are not are copied (e.g. after loading with
        ``mmap_mode='r'``, or converted when partial_fit changes the
        weights' dtype).

        Parameters
        ----------
        dtype : numpy dtype or None, default=None
            The dtype the state must have; None keeps each array's.
        """
        self.state = [np.require(s, dtype, requirements=["C", "W"]) for s in self.state]

    def counters(self):
        """The scalars a step or an epoch changes, as a dict.

        With :meth:`set_counters` and ``state``, a snapshot of the optimizer.

        Returns
        -------
        dict
            The counters' values by attribute name (the step count ``t``
            among them).
        """
        return {name: getattr(self, name) for name in self._counters}

    def set_counters(self, counters):
        """Put back what :meth:`counters` returned.

        Parameters
        ----------
        counters : dict
            The values by attribute name, as :meth:`counters` returns them.
        """
        for name, value in counters.items():
            setattr(self, name, value)

    def __repr__(self):
        return (f"{type(self).__name__}(n_params={self.state[0].size if self.state else 0}, "
                f"learning_rate={self.learning_rate:g}, t={self.t})")


class SGD(BaseOptimizer):
    """Stochastic gradient descent with momentum (scikit-learn's SGDOptimizer).

    Per step, with ``g`` the minibatch gradient and ``lr`` the learning rate::

        velocity = momentum * velocity - lr * g
        param += momentum * velocity - lr * g    (nesterov)
        param += velocity                        (otherwise)

    Parameters
    ----------
    n_params : int
        Number of parameters.
    dtype : {numpy.float32, numpy.float64}, default=numpy.float64
        dtype of the parameters.
    learning_rate_init : float, default=0.1
        Initial learning rate, > 0.
    lr_schedule : {'constant', 'invscaling', 'adaptive'} or callable, default='constant'
        A schedule (see :class:`BaseOptimizer`) or scikit-learn's:
        'invscaling' sets the learning rate to
        ``learning_rate_init / (time_step + 1) ** power_t`` after each epoch;
        'adaptive' divides it by 5 each time the loss (or validation score)
        stalls, and stops once it is below 1e-6.
    momentum : float, default=0.9
        In [0, 1].
    nesterov : bool, default=True
        Nesterov's momentum.
    power_t : float, default=0.5
        Exponent of 'invscaling'.
    weight_decay : float, default=0.0
        Decoupled weight decay (see :class:`BaseOptimizer`).
    arithmetic : {'sklearn', 'plain', 'keras'}, default='sklearn'
        scikit-learn's rounding (the same as plain and Keras's for SGD).
    clipnorm, clipvalue : float or None, default=None
        Keras's clipping (see :class:`BaseOptimizer`).

    Attributes
    ----------
    velocities : ndarray
        ``state[0]``.
    """

    kind = "sgd"
    n_states = 1

    def __init__(self, n_params, dtype=np.float64, *, learning_rate_init=0.1,
                 lr_schedule="constant", momentum=0.9, nesterov=True, power_t=0.5,
                 weight_decay=0.0, arithmetic="sklearn", clipnorm=None, clipvalue=None):
        super().__init__(n_params, dtype, learning_rate_init=learning_rate_init,
                         lr_schedule=lr_schedule, weight_decay=weight_decay,
                         arithmetic=arithmetic, clipnorm=clipnorm, clipvalue=clipvalue)
        check_optimizer_hyper(momentum=momentum)
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self.power_t = float(power_t)

    def _check_schedule(self, lr_schedule):
        if not callable(lr_schedule) and lr_schedule not in _LR_STRINGS:
            raise ValueError(f"lr_schedule must be one of {_LR_STRINGS} or a callable, got "
                             f"{lr_schedule!r}")

    @property
    def velocities(self):
        return self.state[0]

    def iteration_ends(self, time_step):
        """Apply 'invscaling' at the end of an epoch (scikit-learn's rule).

        Parameters
        ----------
        time_step : int
            Samples seen so far (scikit-learn's ``t_``).
        """
        super().iteration_ends(time_step)
        if self.lr_schedule == "invscaling":
            self.learning_rate = float(self.learning_rate_init) / (time_step + 1) ** self.power_t


class Adam(BaseOptimizer):
    """Adam (scikit-learn's AdamOptimizer).

    Per step ``t`` (counted from 1), with ``g`` the minibatch gradient::

        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g**2
        lr_t = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)
        param += -lr_t * m / (sqrt(v) + epsilon)

    Parameters
    ----------
    n_params : int
        Number of parameters.
    dtype : {numpy.float32, numpy.float64}, default=numpy.float64
        dtype of the parameters.
    learning_rate_init : float, default=0.001
        Learning rate, > 0.
    beta_1, beta_2 : float, default=0.9, 0.999
        Decay rates of the moment estimates, in [0, 1).
    epsilon : float, default=1e-8
        > 0, added to ``sqrt(v)``.
    weight_decay : float, default=0.0
        Decoupled weight decay (see :class:`BaseOptimizer`).
    arithmetic : {'sklearn', 'plain', 'keras'}, default='sklearn'
        'sklearn' computes float32's update in float64 as scikit-learn does;
        'plain' stays in float32; 'keras' too, with Keras's moment updates.
    lr_schedule : 'constant' or callable, default='constant'
        See :class:`BaseOptimizer`.
    clipnorm, clipvalue : float or None, default=None
        Keras's clipping (see :class:`BaseOptimizer`).

    Attributes
    ----------
    ms, vs : ndarray
        ``state[0]`` and ``state[1]``, the moment estimates.
    """

    kind = "adam"
    n_states = 2

    def __init__(self, n_params, dtype=np.float64, *, learning_rate_init=0.001, beta_1=0.9,
                 beta_2=0.999, epsilon=1e-8, weight_decay=0.0, arithmetic="sklearn",
                 lr_schedule="constant", clipnorm=None, clipvalue=None):
        super().__init__(n_params, dtype, learning_rate_init=learning_rate_init,
                         lr_schedule=lr_schedule, weight_decay=weight_decay,
                         arithmetic=arithmetic, clipnorm=clipnorm, clipvalue=clipvalue)
        check_optimizer_hyper(beta_1=beta_1, beta_2=beta_2, epsilon=epsilon)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)

    @property
    def ms(self):
        return self.state[0]

    @property
    def vs(self):
        return self.state[1]


class RMSprop(BaseOptimizer):
    """RMSprop (torch.optim.RMSprop without momentum or centering).

    Per step, with ``g`` the minibatch gradient::

        s = rho * s + (1 - rho) * g**2
        param += -lr * g / (sqrt(s) + epsilon)       (plain: torch's)
        param -= lr * g / sqrt(s + epsilon)          (keras)

    Parameters
    ----------
    n_params : int
        Number of parameters.
    dtype : {numpy.float32, numpy.float64}, default=numpy.float64
        dtype of the parameters.
    learning_rate_init : float, default=0.001
        Learning rate, > 0.
    rho : float, default=0.99
        Decay of the mean square (torch's ``alpha``), in [0, 1).
    epsilon : float, default=1e-8
        > 0, added to ``sqrt(s)``.
    lr_schedule : 'constant' or schedule, default='constant'
        See :class:`BaseOptimizer`.
    weight_decay : float, default=0.0
        Decoupled weight decay (see :class:`BaseOptimizer`).
    arithmetic : {'plain', 'keras'}, default='plain'
        torch's epsilon, or Keras's (under the square root).
    clipnorm, clipvalue : float or None, default=None
        Keras's clipping (see :class:`BaseOptimizer`).
    """

    kind = "rmsprop"
    n_states = 1

    def __init__(self, n_params, dtype=np.float64, *, learning_rate_init=0.001, rho=0.99,
                 epsilon=1e-8, lr_schedule="constant", weight_decay=0.0, arithmetic="plain",
                 clipnorm=None, clipvalue=None):
        _check_no_sklearn(arithmetic)
        super().__init__(n_params, dtype, learning_rate_init=learning_rate_init,
                         lr_schedule=lr_schedule, weight_decay=weight_decay,
                         arithmetic=arithmetic, clipnorm=clipnorm, clipvalue=clipvalue)
        check_optimizer_hyper(rho=rho, epsilon=epsilon)
        self.rho, self.epsilon = float(rho), float(epsilon)


class Adagrad(BaseOptimizer):
    """AdaGrad (torch.optim.Adagrad with lr_decay=0).

    Per step, with ``g`` the minibatch gradient::

        s = s + g**2                     (s starts at initial_accumulator_value)
        param += -lr * g / (sqrt(s) + epsilon)       (plain: torch's)
        param -= lr * g / sqrt(s + epsilon)          (keras)

    Parameters
    ----------
    n_params : int
        Number of parameters.
    dtype : {numpy.float32, numpy.float64}, default=numpy.float64
        dtype of the parameters.
    learning_rate_init : float, default=0.001
        Learning rate, > 0.
    initial_accumulator_value : float, default=0.0
        Starting value of the sum of squares, >= 0.
    epsilon : float, default=1e-8
        > 0, added to ``sqrt(s)``.
    lr_schedule : 'constant' or schedule, default='constant'
        See :class:`BaseOptimizer`.
    weight_decay : float, default=0.0
        Decoupled weight decay (see :class:`BaseOptimizer`).
    arithmetic : {'plain', 'keras'}, default='plain'
        torch's epsilon, or Keras's (under the square root).
    clipnorm, clipvalue : float or None, default=None
        Keras's clipping (see :class:`BaseOptimizer`).
    """

    kind = "adagrad"
    n_states = 1

    def __init__(self, n_params, dtype=np.float64, *, learning_rate_init=0.001,
                 initial_accumulator_value=0.0, epsilon=1e-8, lr_schedule="constant",
                 weight_decay=0.0, arithmetic="plain", clipnorm=None, clipvalue=None):
        _check_no_sklearn(arithmetic)
        check_optimizer_hyper(initial_accumulator_value=initial_accumulator_value,
                              epsilon=epsilon)
        self.initial_accumulator_value = float(initial_accumulator_value)
        self.epsilon = float(epsilon)
        super().__init__(n_params, dtype, learning_rate_init=learning_rate_init,
                         lr_schedule=lr_schedule, weight_decay=weight_decay,
                         arithmetic=arithmetic, clipnorm=clipnorm, clipvalue=clipvalue)

    def _initial_state(self, k, n_params, dtype):
        return np.full(n_params, self.initial_accumulator_value, dtype)


class AdamW(Adam):
    """AdamW (torch.optim.AdamW): Adam with decoupled weight decay.

    Epsilon and the bias corrections are placed as torch places them.

    Per step ``t`` (counted from 1), with ``g`` the minibatch gradient::

        param *= 1 - lr * weight_decay
        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g**2
        param += -(lr / (1 - beta_1**t)) * m / (sqrt(v) / sqrt(1 - beta_2**t) + epsilon)

    Parameters
    ----------
    n_params : int
        Number of parameters.
    dtype : {numpy.float32, numpy.float64}, default=numpy.float64
        dtype of the parameters.
    learning_rate_init : float, default=0.001
        Learning rate, > 0.
    beta_1, beta_2 : float, default=0.9, 0.999
        Decay rates of the moment estimates, in [0, 1).
    epsilon : float, default=1e-8
        > 0.
    weight_decay : float, default=0.01
        Decoupled weight decay, >= 0.
    lr_schedule : 'constant' or schedule, default='constant'
        See :class:`BaseOptimizer`.
    arithmetic : {'plain', 'keras'}, default='plain'
        torch's placement of epsilon, or Keras's AdamW (its Adam after the
        decay).
    clipnorm, clipvalue : float or None, default=None
        Keras's clipping (see :class:`BaseOptimizer`).
    """

    kind = "adamw"

    def __init__(self, n_params, dtype=np.float64, *, learning_rate_init=0.001, beta_1=0.9,
                 beta_2=0.999, epsilon=1e-8, weight_decay=0.01, lr_schedule="constant",
                 arithmetic="plain", clipnorm=None, clipvalue=None):
        _check_no_sklearn(arithmetic)
        BaseOptimizer.__init__(self, n_params, dtype, learning_rate_init=learning_rate_init,
                               lr_schedule=lr_schedule, weight_decay=weight_decay,
                               arithmetic=arithmetic, clipnorm=clipnorm, clipvalue=clipvalue)
        check_optimizer_hyper(beta_1=beta_1, beta_2=beta_2, epsilon=epsilon)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)


class NAdam(AdamW):
    """NAdam (torch.optim.NAdam): Adam with Nesterov momentum.

    Per step ``t`` (counted from 1), with ``g`` the minibatch gradient and
    ``psi`` the momentum decay::

        mu_t = beta_1 * (1 - 0.5 * 0.96**(t * psi))
        mu_product = mu_1 * ... * mu_t
        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g**2
        d = sqrt(v / (1 - beta_2**t)) + epsilon
        param += -lr * (1 - mu_t) / (1 - mu_product) * g / d
        param += -lr * mu_{t+1} / (1 - mu_product * mu_{t+1}) * m / d

    Parameters
    ----------
    n_params : int
        Number of parameters.
    dtype : {numpy.float32, numpy.float64}, default=numpy.float64
        dtype of the parameters.
    learning_rate_init : float, default=0.001
        Learning rate, > 0.
    beta_1, beta_2 : float, default=0.9, 0.999
        Decay rates of the moment estimates, in [0, 1).
    epsilon : float, default=1e-8
        > 0.
    momentum_decay : float, default=0.004
        ``psi`` above, >= 0.
    weight_decay : float, default=0.0
        Decoupled weight decay (see :class:`BaseOptimizer`).
    lr_schedule : 'constant' or schedule, default='constant'
        See :class:`BaseOptimizer`.
    arithmetic : {'plain', 'keras'}, default='plain'
        torch's NAdam, or Keras's Nadam (its moments and one division; Keras's
        ``u_t`` is ``mu_t`` with ``momentum_decay=1``).
    clipnorm, clipvalue : float or None, default=None
        Keras's clipping (see :class:`BaseOptimizer`).

    Attributes
    ----------
    mu_product : float
        ``mu_1 * ... * mu_t`` (1 before the first step), advanced by the engine.
    """

    kind = "nadam"
    _counters = BaseOptimizer._counters + ("mu_product",)

    def __init__(self, n_params, dtype=np.float64, *, learning_rate_init=0.001, beta_1=0.9,
                 beta_2=0.999, epsilon=1e-8, momentum_decay=0.004, weight_decay=0.0,
                 lr_schedule="constant", arithmetic="plain", clipnorm=None, clipvalue=None):
        super().__init__(n_params, dtype, learning_rate_init=learning_rate_init, beta_1=beta_1,
                         beta_2=beta_2, epsilon=epsilon, weight_decay=weight_decay,
                         lr_schedule=lr_schedule, arithmetic=arithmetic, clipnorm=clipnorm,
                         clipvalue=clipvalue)
        check_optimizer_hyper(momentum_decay=momentum_decay)
        self.momentum_decay = float(momentum_decay)
        self.mu_product = 1.0
