"""
K-fold cross-validation and learning curves
===========================================

fastmlp's estimators are scikit-learn estimators, so its model selection
tools apply as they are: 5-fold cross-validation on the digits, where
fastmlp and scikit-learn's own ``MLPClassifier`` with the same parameters
give the same five scores, and a learning curve over the training-set size.

Run: ``python cross_validation.py``
"""
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import KFold, cross_val_score, learning_curve
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier

from fastmlp import MLPClassifier

X, y = load_digits(return_X_y=True)
X = X / 16.0
folds = KFold(n_splits=5, shuffle=True, random_state=0)
params = dict(hidden_layer_sizes=(64,), max_iter=30, random_state=0)

# %%
# Five folds, two libraries
# -------------------------
# 30 epochs is short of convergence on purpose (a fast gallery), so
# scikit-learn's ConvergenceWarning is silenced for both.
scores = {}
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    for name, est in [("fastmlp", MLPClassifier(**params)),
                      ("scikit-learn", SklearnMLPClassifier(**params))]:
        start = time.perf_counter()
        scores[name] = cross_val_score(est, X, y, cv=folds)
        seconds = time.perf_counter() - start
        print(f"{name:>12}: {np.round(scores[name], 4)}, mean {scores[name].mean():.4f} "
              f"({seconds:.2f} s)")
print("largest difference between the two libraries' fold scores:",
      np.abs(scores["fastmlp"] - scores["scikit-learn"]).max())

# %%
# Learning curve over the training-set size
# -----------------------------------------
# :func:`sklearn.model_selection.learning_curve` refits on growing subsets
# of each training fold: the gap between training and validation accuracy
# shrinks as the data grows.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    sizes, train_scores, val_scores = learning_curve(
        MLPClassifier(**params), X, y, cv=folds, train_sizes=np.linspace(0.1, 1.0, 5))
fig, ax = plt.subplots(figsize=(6, 4))
for values, label in [(train_scores, "training"), (val_scores, "validation")]:
    mean, std = values.mean(axis=1), values.std(axis=1)
    ax.plot(sizes, mean, marker="o", label=label)
    ax.fill_between(sizes, mean - std, mean + std, alpha=0.2)
ax.set_xlabel("training samples")
ax.set_ylabel("accuracy")
ax.legend()
fig.tight_layout()
plt.show()
