"""
Regression with MLPRegressor: losses against outliers
=====================================================

:class:`fastmlp.MLPRegressor` fits a curve to noisy data whose targets
include a few outliers, with scikit-learn's ``squared_error`` and the two
robust losses fastmlp adds: ``absolute_error`` and ``huber`` (squared
within ``huber_delta`` of the target, absolute beyond). The squared error
lets the outliers pull the curve towards them; the robust losses follow
the bulk of the data. ``out_activation`` (here ``softplus``) keeps the
predictions of a positive quantity positive.

Run: ``python regression.py``
"""
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning

from fastmlp import MLPRegressor

# A fixed epoch budget on purpose: no warning that training could go on.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

rng = np.random.default_rng(0)
X = np.sort(rng.uniform(-3, 3, 300))[:, None]
y_true = np.sin(X[:, 0]) + 1.5
y = y_true + rng.normal(0, 0.1, len(X))
outliers = rng.choice(len(X), 20, replace=False)
y[outliers] += rng.uniform(3, 5, 20)          # a few large errors in the targets

LOSSES = {
    "squared_error": dict(loss="squared_error"),
    "absolute_error": dict(loss="absolute_error"),
    "huber (delta 0.3)": dict(loss="huber", huber_delta=0.3),
}

# %%
# Fit with each loss
# ------------------
# Two hidden layers of 32 tanh units, Adam, 300 epochs; the error is
# measured against the clean curve.
grid = np.linspace(-3, 3, 200)[:, None]
predictions, errors = {}, {}
for name, params in LOSSES.items():
    reg = MLPRegressor(hidden_layer_sizes=(32, 32), activation="tanh", learning_rate_init=0.01,
                       out_activation="softplus", max_iter=300, random_state=0, **params)
    reg.fit(X, y)
    predictions[name] = reg.predict(grid)
    errors[name] = np.abs(reg.predict(X) - y_true).mean()
    print(f"{name:>18}: mean absolute error against the clean curve {errors[name]:.3f}")

# %%
# The fitted curves
# -----------------
fig, ax = plt.subplots(figsize=(7, 4.5))
ax.scatter(X[:, 0], y, s=8, color="0.6", label="training data (20 outliers)")
ax.plot(grid[:, 0], np.sin(grid[:, 0]) + 1.5, color="k", linestyle=":", label="clean curve")
for name, pred in predictions.items():
    ax.plot(grid[:, 0], pred, label=f"{name}: error {errors[name]:.3f}")
ax.set_xlabel("x")
ax.set_ylabel("y")
ax.set_ylim(0, 7)
ax.legend(fontsize="small")
fig.tight_layout()
plt.show()
