"""
Maxout units
============

A maxout unit outputs the maximum of ``k`` linear functions of its inputs
(Goodfellow et al., 2013) instead of applying a fixed nonlinearity to one:
with ``activation="maxout"`` and ``maxout_pieces=k``, each hidden unit has
``k`` columns of weights (``coefs_`` of a layer of ``h`` units is
``(n_in, h * k)``, unit ``j``'s pieces in columns ``j*k`` to ``j*k+k-1``).
A unit's output is a convex, piecewise linear function that training
shapes; ReLU is the special case max(z, 0).

Here one maxout unit with 2, 3 and 5 pieces learns a 1-d curve, to show
the pieces, and a maxout network is compared with ReLU on the digits.

Run: ``python maxout.py``
"""
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from fastmlp import MLPClassifier, MLPRegressor

warnings.filterwarnings("ignore", category=ConvergenceWarning)

# %%
# One unit, several pieces
# ------------------------
# A single maxout unit (and a linear output) fitted to x**2 on [-2, 2]: the
# unit's output is the upper envelope of its pieces, a convex polyline. A
# unit this small often ends in a local minimum where two pieces coincide,
# so each fit keeps the best of 6 seeds (the lowest training loss).
x = np.linspace(-2, 2, 200)[:, None]
target = x[:, 0] ** 2
fig, axes = plt.subplots(1, 3, figsize=(10, 3.3), sharey=True)
for ax, pieces in zip(axes, [2, 3, 5]):
    fits = [MLPRegressor(hidden_layer_sizes=(1,), activation="maxout", maxout_pieces=pieces,
                         alpha=0.0, solver="lbfgs", max_iter=2000, random_state=seed).fit(x, target)
            for seed in range(6)]
    reg = min(fits, key=lambda fit: fit.loss_)
    W, b = reg.coefs_[0], reg.intercepts_[0]
    print(f"{pieces} pieces: first-layer weights {W.shape}, "
          f"mean absolute error {np.abs(reg.predict(x) - target).mean():.3f}")
    scale, shift = reg.coefs_[1][0, 0], reg.intercepts_[1][0]
    for piece in range(pieces):  # each piece as the network's output would see it
        ax.plot(x[:, 0], scale * (x[:, 0] * W[0, piece] + b[piece]) + shift, linestyle=":",
                color="0.5")
    ax.plot(x[:, 0], target, color="k", label="x ** 2")
    ax.plot(x[:, 0], reg.predict(x), color="C3", label="maxout unit")
    ax.set_title(f"maxout_pieces={pieces}")
    ax.set_ylim(-0.5, 4.5)
axes[0].legend()
fig.tight_layout()

# %%
# Maxout against ReLU on the digits
# ---------------------------------
# 64 units of 2 pieces have twice ReLU's first-layer weights.
X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X / 16, y, test_size=0.3, random_state=0,
                                                    stratify=y)
curves = {}
for name, params in {"relu": dict(activation="relu"),
                     "maxout, 2 pieces": dict(activation="maxout", maxout_pieces=2)}.items():
    clf = MLPClassifier(hidden_layer_sizes=(64,), learning_rate_init=0.003, max_iter=40,
                        random_state=0, **params).fit(X_train, y_train)
    curves[name] = clf.loss_curve_
    print(f"{name:>16}: weights {[w.shape for w in clf.coefs_]}, "
          f"test accuracy {clf.score(X_test, y_test):.3f}")
fig, ax = plt.subplots(figsize=(6, 4))
for name, curve in curves.items():
    ax.plot(range(1, len(curve) + 1), curve, label=name)
ax.set_yscale("log")
ax.set_xlabel("epoch")
ax.set_ylabel("training loss")
ax.legend()
fig.tight_layout()
plt.show()
