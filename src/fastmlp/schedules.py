"""Epoch-level learning-rate schedules for the stochastic solvers.

Pass one as an estimator's ``learning_rate`` (any solver but 'lbfgs'), or
any callable ``f(epoch, learning_rate_init) -> learning rate``. The
schedule is consulted once per epoch, as torch's ``lr_scheduler`` stepped
once per epoch: epoch 0 trains at ``learning_rate_init`` and epoch ``e``
(counted from 0) at ``f(e, learning_rate_init)``. The value each epoch
trained at is the ``learning_rate`` of the callbacks' logs. The epoch count
lives in the estimator's optimizer, so ``partial_fit`` calls continue the
schedule and a new ``fit`` restarts it.

The schedules are plain scikit-learn-style objects (``__init__`` only
stores its arguments; ``get_params`` / ``set_params``), so estimators using
them clone and pickle.
"""
import math
from numbers import Integral, Real

from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval

__all__ = ["StepDecay", "ExponentialDecay", "CosineAnnealing", "OneCycle", "WarmupCosine"]


class _Schedule(BaseEstimator):
    """The protocol: ``schedule(epoch, learning_rate_init)`` -> float."""

    _parameter_constraints: dict = {}

    def __call__(self, epoch, learning_rate_init):
        self._validate_params()
        return float(self._rate(int(epoch), float(learning_rate_init)))

    def _rate(self, epoch, lr0):
        raise NotImplementedError


class StepDecay(_Schedule):
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs.

    As torch's StepLR: ``lr0 * gamma ** (epoch // step_size)``.

    Parameters
    ----------
    step_size : int, default=10
        Epochs between decays, >= 1.
    gamma : float, default=0.1
        Factor per decay, > 0.
    """

    _parameter_constraints: dict = {
        "step_size": [Interval(Integral, 1, None, closed="left")],
        "gamma": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(self, step_size=10, gamma=0.1):
        self.step_size = step_size
        self.gamma = gamma

    def _rate(self, epoch, lr0):
        return lr0 * self.gamma ** (epoch // self.step_size)


class ExponentialDecay(_Schedule):
    """``lr0 * gamma ** epoch`` (torch's ExponentialLR).

    Parameters
    ----------
    gamma : float, default=0.95
        Factor per epoch, > 0.
    """

    _parameter_constraints: dict = {"gamma": [Interval(Real, 0, None, closed="neither")]}

    def __init__(self, gamma=0.95):
        self.gamma = gamma

    def _rate(self, epoch, lr0):
        return lr0 * self.gamma ** epoch


def _cosine(progress, high, low):
    """From `high` at progress 0 to `low` at progress 1, half a cosine."""
    return low + (high - low) * (1.0 + math.cos(math.pi * min(max(progress, 0.0), 1.0))) / 2.0


class CosineAnnealing(_Schedule):
    """Half a cosine from ``lr0`` down to ``eta_min`` over ``T_max`` epochs.

    Then ``eta_min`` (torch's CosineAnnealingLR, without restarts):
    ``eta_min + (lr0 - eta_min) * (1 + cos(pi * epoch / T_max)) / 2``.

    Parameters
    ----------
    T_max : int, default=50
        Epochs of the descent, >= 1.
    eta_min : float, default=0.0
        Final learning rate, >= 0.
    """

    _parameter_constraints: dict = {
        "T_max": [Interval(Integral, 1, None, closed="left")],
        "eta_min": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(self, T_max=50, eta_min=0.0):
        self.T_max = T_max
        self.eta_min = eta_min

    def _rate(self, epoch, lr0):
        return _cosine(epoch / self.T_max, lr0, self.eta_min)


class WarmupCosine(_Schedule):
    """A linear warm-up, then :class:`CosineAnnealing` to ``eta_min``.

    The warm-up goes from ``lr0 / warmup_epochs`` to ``lr0`` over
    ``warmup_epochs`` epochs; the cosine reaches ``eta_min`` at epoch
    ``total_epochs``.

    Parameters
    ----------
    warmup_epochs : int, default=5
        Epochs of warm-up, >= 1.
    total_epochs : int, default=100
        Epoch at which the rate reaches ``eta_min``, > warmup_epochs.
    eta_min : float, default=0.0
        Final learning rate, >= 0.
    """

    _parameter_constraints: dict = {
        "warmup_epochs": [Interval(Integral, 1, None, closed="left")],
        "total_epochs": [Interval(Integral, 2, None, closed="left")],
        "eta_min": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(self, warmup_epochs=5, total_epochs=100, eta_min=0.0):
        self.warmup_epochs = warmup_epochs
        self.total_epochs = total_epochs
        self.eta_min = eta_min

    def _rate(self, epoch, lr0):
        if self.total_epochs <= self.warmup_epochs:
            raise ValueError(f"total_epochs ({self.total_epochs}) must be greater than "
                             f"warmup_epochs ({self.warmup_epochs})")
        if epoch < self.warmup_epochs:
            return lr0 * (epoch + 1) / self.warmup_epochs
        progress = (epoch - self.warmup_epochs) / (self.total_epochs - self.warmup_epochs)
        return _cosine(progress, lr0, self.eta_min)


class OneCycle(_Schedule):
    """The one-cycle policy (torch's OneCycleLR with cosine annealing, per epoch).

    From ``lr0`` up to ``max_lr`` over the first ``pct_start`` of
    ``total_epochs``, then down to ``lr0 / final_div_factor`` at the last
    epoch (``total_epochs - 1``), then stays there.

    Parameters
    ----------
    max_lr : float, default=0.01
        Peak learning rate, > 0.
    total_epochs : int, default=100
        Length of the cycle in epochs, >= 2.
    pct_start : float, default=0.3
        Fraction of the cycle spent rising, in (0, 1).
    final_div_factor : float, default=1e4
        The final rate is ``lr0 / final_div_factor``, >= 1.
    """

    _parameter_constraints: dict = {
        "max_lr": [Interval(Real, 0, None, closed="neither")],
        "total_epochs": [Interval(Integral, 2, None, closed="left")],
        "pct_start": [Interval(Real, 0, 1, closed="neither")],
        "final_div_factor": [Interval(Real, 1, None, closed="left")],
    }

    def __init__(self, max_lr=0.01, total_epochs=100, pct_start=0.3, final_div_factor=1e4):
        self.max_lr = max_lr
        self.total_epochs = total_epochs
        self.pct_start = pct_start
        self.final_div_factor = final_div_factor

    def _rate(self, epoch, lr0):
        last = self.total_epochs - 1
        peak = max(1.0, self.pct_start * last)
        if epoch <= peak:
            return _cosine(epoch / peak, lr0, self.max_lr)
        return _cosine((epoch - peak) / max(last - peak, 1.0), self.max_lr,
                       lr0 / self.final_div_factor)
