"""
Learning-rate schedules compared
================================

SGD on scikit-learn's digits with scikit-learn's three schedules and the
schedule objects of :mod:`fastmlp.schedules`, which work with every solver:

- ``constant``; ``invscaling``, scikit-learn's ``eta0 / t ** power_t`` with
  t the number of samples seen; ``adaptive``, which divides the rate by 5
  whenever the training loss stops falling by ``tol``;
- :class:`~fastmlp.schedules.StepDecay`, :class:`~fastmlp.schedules.ExponentialDecay`,
  :class:`~fastmlp.schedules.CosineAnnealing`, :class:`~fastmlp.schedules.OneCycle`
  and :class:`~fastmlp.schedules.WarmupCosine`, passed as ``learning_rate=``.

A callback records the rate of each epoch (``logs["learning_rate"]``, also
in ``history_``). Each schedule is one line of ``SCHEDULES``.

Run: ``python learning_rate_schedules.py``
"""
import warnings

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from fastmlp import MLPClassifier
from fastmlp.schedules import (CosineAnnealing, ExponentialDecay, OneCycle, StepDecay,
                               WarmupCosine)

# A fixed, short epoch budget on purpose: no warning that training could go on.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

EPOCHS = 30
SCHEDULES = {
    "constant": dict(learning_rate="constant"),
    "invscaling (power_t=0.25)": dict(learning_rate="invscaling", power_t=0.25),
    "adaptive": dict(learning_rate="adaptive", tol=1e-3, n_iter_no_change=2),
    "StepDecay(10, 0.5)": dict(learning_rate=StepDecay(step_size=10, gamma=0.5)),
    "ExponentialDecay(0.9)": dict(learning_rate=ExponentialDecay(gamma=0.9)),
    "CosineAnnealing": dict(learning_rate=CosineAnnealing(T_max=EPOCHS, eta_min=1e-4)),
    "OneCycle(max_lr=0.2)": dict(learning_rate=OneCycle(max_lr=0.2, total_epochs=EPOCHS)),
    "WarmupCosine(5)": dict(learning_rate=WarmupCosine(warmup_epochs=5, total_epochs=EPOCHS,
                                                       eta_min=1e-4)),
}

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X / 16, y, test_size=0.3, random_state=0,
                                                    stratify=y)

# %%
# Train with each
# ---------------
# The same network, initial weights and 30 epochs; the callback appends the
# epoch's learning rate to a list.
curves, rates = {}, {}
for name, params in SCHEDULES.items():
    seen = []
    params = {"tol": 0.0, "n_iter_no_change": EPOCHS, **params}
    est = MLPClassifier(hidden_layer_sizes=(64,), solver="sgd", learning_rate_init=0.1,
                        batch_size=64, max_iter=EPOCHS, random_state=0,
                        callbacks=[lambda est, logs, seen=seen: seen.append(logs["learning_rate"])],
                        **params)
    est.fit(X_train, y_train)
    curves[name], rates[name] = est.loss_curve_, seen
    print(f"{name:>26}: final loss {est.loss_curve_[-1]:.4f}, last rate {seen[-1]:.2g}, "
          f"test accuracy {est.score(X_test, y_test):.3f}")

# %%
# Loss and learning rate per epoch
# --------------------------------
# OneCycle, which warms up to 0.2 before annealing to almost zero, ends
# with the lowest training loss; invscaling's rate falls fastest and leaves
# the loss highest. The test accuracies differ little: on a problem this
# small the schedule matters less than in long trainings.
fig, (ax_loss, ax_rate) = plt.subplots(1, 2, figsize=(10, 4))
for name in SCHEDULES:
    epochs = range(1, len(curves[name]) + 1)
    ax_loss.plot(epochs, curves[name], label=name)
    ax_rate.plot(epochs, rates[name], label=name)
ax_loss.set_yscale("log")
ax_loss.set_ylabel("training loss")
ax_rate.set_yscale("log")
ax_rate.set_ylabel("learning rate of the epoch")
for ax in (ax_loss, ax_rate):
    ax.set_xlabel("epoch")
ax_rate.legend(fontsize="small")
fig.tight_layout()
plt.show()
