"""
Activation functions compared
=============================

The same one-hidden-layer network on scikit-learn's digits with each of
fastmlp's hidden activations: scikit-learn's four (identity, logistic,
tanh, relu) and the five it declined to add (leaky_relu, elu, selu, gelu,
softplus). The identity makes the network linear (a softmax regression);
the others bend.

Run: ``python activations.py``
"""
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from fastmlp import MLPClassifier, kernels

# A fixed, short epoch budget on purpose: no warning that training could go on.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

ACTIVATIONS = ["identity", "logistic", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu",
               "softplus"]

# %%
# The functions
# -------------
# :func:`fastmlp.kernels.activation` is the C kernel the network uses;
# each curve is drawn through it.
z = np.linspace(-3, 3, 241)
fig, ax = plt.subplots(figsize=(6, 4))
for name in ACTIVATIONS:
    ax.plot(z, kernels.activation(z, name), label=name)
ax.set_ylim(-2, 3)
ax.set_xlabel("z")
ax.legend(ncol=3, fontsize="small")
ax.set_title("hidden activations")
fig.tight_layout()

# %%
# Training with each
# ------------------
# 32 hidden units, Adam, 40 epochs: the loss curves and the test accuracy.
X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X / 16, y, test_size=0.3, random_state=0,
                                                    stratify=y)
accuracy = {}
fig, ax = plt.subplots(figsize=(6, 4))
for name in ACTIVATIONS:
    est = MLPClassifier(hidden_layer_sizes=(32,), activation=name, learning_rate_init=0.01,
                        max_iter=40, tol=0.0, n_iter_no_change=40, random_state=0)
    est.fit(X_train, y_train)
    accuracy[name] = est.score(X_test, y_test)
    ax.plot(est.loss_curve_, label=name)
ax.set_yscale("log")
ax.set_xlabel("epoch")
ax.set_ylabel("training loss")
ax.legend(ncol=3, fontsize="small")
fig.tight_layout()
plt.show()

for name, acc in accuracy.items():
    print(f"{name:>10}: test accuracy {acc:.3f}")
