"""
Learning-rate schedules compared
================================

SGD on the MNIST subset with each of the learning-rate schedules:
``constant``; ``invscaling``, scikit-learn's ``eta0 / t ** power_t`` with t
the number of samples seen; ``adaptive``, which divides the rate by 5
whenever the training loss stops falling by ``tol``. A callback records the
rate each epoch ended with (``logs["learning_rate"]``).

Each schedule is one line of ``SCHEDULES``, so adding one to the comparison
is adding a line.

Run: ``python examples/learning_rate_schedules.py``
"""
import warnings

import matplotlib.pyplot as plt
from sklearn.exceptions import ConvergenceWarning

from _datasets import mnist_subset

from fastmlp import MLPClassifier

# A fixed, short epoch budget on purpose: no warning that training could go on.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

SCHEDULES = {
    "constant": dict(learning_rate="constant"),
    "invscaling (power_t=0.25)": dict(learning_rate="invscaling", power_t=0.25),
    "adaptive": dict(learning_rate="adaptive", tol=1e-3, n_iter_no_change=2),
}

X_train, X_test, y_train, y_test = mnist_subset()

# %%
# Train with each
# ---------------
# The same network, initial weights and 20 epochs; the callback appends the
# epoch's learning rate to a list.
curves, rates = {}, {}
for name, params in SCHEDULES.items():
    seen = []
    params = {"tol": 0.0, "n_iter_no_change": 20, **params}
    est = MLPClassifier(hidden_layer_sizes=(64,), solver="sgd", learning_rate_init=0.1,
                        batch_size=100, max_iter=20, random_state=0,
                        callbacks=[lambda est, logs, seen=seen: seen.append(logs["learning_rate"])],
                        **params)
    est.fit(X_train, y_train)
    curves[name], rates[name] = est.loss_curve_, seen
    print(f"{name:>26}: final loss {est.loss_curve_[-1]:.4f}, last rate {seen[-1]:.2g}, "
          f"test accuracy {est.score(X_test, y_test):.3f}")

# %%
# Loss and learning rate per epoch
# --------------------------------
fig, (ax_loss, ax_rate) = plt.subplots(1, 2, figsize=(9, 4))
for name in SCHEDULES:
    epochs = range(1, len(curves[name]) + 1)
    ax_loss.plot(epochs, curves[name], label=name)
    ax_rate.plot(epochs, rates[name], label=name)
ax_loss.set_yscale("log")
ax_loss.set_ylabel("training loss")
ax_rate.set_yscale("log")
ax_rate.set_ylabel("learning rate at the epoch's end")
for ax in (ax_loss, ax_rate):
    ax.set_xlabel("epoch")
ax_loss.legend()
fig.tight_layout()
plt.show()
