"""
Optimizers compared
===================

Plain SGD with momentum, SGD with Nesterov's momentum and Adam on the MNIST
subset (the digits 0, 1, 6 and 9), the same network and the same initial
weights: loss per epoch and test accuracy.

Each optimizer is one line of ``SOLVERS``: a name and the estimator
parameters that select it, so adding one to the comparison is adding a
line.

Run: ``python examples/optimizers.py``
"""
import warnings

import matplotlib.pyplot as plt
from sklearn.exceptions import ConvergenceWarning

from _datasets import mnist_subset

from fastmlp import MLPClassifier

# A fixed, short epoch budget on purpose: no warning that training could go on.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

SOLVERS = {
    "sgd (momentum 0.9)": dict(solver="sgd", learning_rate_init=0.05, nesterovs_momentum=False),
    "sgd + nesterov": dict(solver="sgd", learning_rate_init=0.05, nesterovs_momentum=True),
    "adam": dict(solver="adam", learning_rate_init=0.001),
}

X_train, X_test, y_train, y_test = mnist_subset()

# %%
# Train with each
# ---------------
# 64 hidden units, minibatches of 100, 15 epochs (tol=0 so that none stops
# early), the same random_state so all start from the same weights.
curves, accuracy = {}, {}
for name, params in SOLVERS.items():
    est = MLPClassifier(hidden_layer_sizes=(64,), batch_size=100, max_iter=15, tol=0.0,
                        n_iter_no_change=15, random_state=0, **params)
    est.fit(X_train, y_train)
    curves[name] = est.loss_curve_
    accuracy[name] = est.score(X_test, y_test)
    print(f"{name:>20}: final loss {est.loss_curve_[-1]:.4f}, test accuracy {accuracy[name]:.3f}")

# %%
# Loss per epoch
# --------------
fig, ax = plt.subplots(figsize=(6, 4))
for name, curve in curves.items():
    ax.plot(range(1, len(curve) + 1), curve, marker=".", label=name)
ax.set_yscale("log")
ax.set_xlabel("epoch")
ax.set_ylabel("training loss")
ax.legend()
fig.tight_layout()
plt.show()
