"""
Optimizers compared
===================

Every stochastic solver fastmlp has, on scikit-learn's digits, with the
same network and the same initial weights: scikit-learn's ``sgd`` (with
momentum, and with Nesterov's momentum) and ``adam``, and the four it does
not have, ``rmsprop``, ``adagrad``, ``adamw`` and ``nadam`` (torch.optim's
formulas). Loss per epoch and test accuracy.

Each optimizer is one line of ``SOLVERS``: a name and the estimator
parameters that select it, with a learning rate that suits it.

Run: ``python optimizers.py``
"""
import warnings

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from fastmlp import MLPClassifier

# A fixed, short epoch budget on purpose: no warning that training could go on.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

SOLVERS = {
    "sgd (momentum 0.9)": dict(solver="sgd", learning_rate_init=0.05, nesterovs_momentum=False),
    "sgd + nesterov": dict(solver="sgd", learning_rate_init=0.05, nesterovs_momentum=True),
    "adam": dict(solver="adam", learning_rate_init=0.001),
    "rmsprop": dict(solver="rmsprop", learning_rate_init=0.001),
    "adagrad": dict(solver="adagrad", learning_rate_init=0.03),
    "adamw (weight_decay 0.01)": dict(solver="adamw", learning_rate_init=0.001),
    "nadam": dict(solver="nadam", learning_rate_init=0.001),
}

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X / 16, y, test_size=0.3, random_state=0,
                                                    stratify=y)

# %%
# Train with each
# ---------------
# 64 hidden units, minibatches of 64, 30 epochs (tol=0 so that none stops
# early), the same random_state so all start from the same weights. The
# solver's state after training is an object of :mod:`fastmlp.optimizers`.
curves, accuracy = {}, {}
for name, params in SOLVERS.items():
    est = MLPClassifier(hidden_layer_sizes=(64,), batch_size=64, max_iter=30, tol=0.0,
                        n_iter_no_change=30, random_state=0, **params)
    est.fit(X_train, y_train)
    curves[name] = est.loss_curve_
    accuracy[name] = est.score(X_test, y_test)
    print(f"{name:>26}: final loss {est.loss_curve_[-1]:.4f}, "
          f"test accuracy {accuracy[name]:.3f}")

# %%
# Loss per epoch
# --------------
# SGD and Adagrad take large steps at these rates and drive the training
# loss lowest; the Adam family moves more cautiously at 0.001. All reach a
# similar test accuracy.
fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4), width_ratios=[3, 2])
for name, curve in curves.items():
    ax_loss.plot(range(1, len(curve) + 1), curve, label=name)
ax_loss.set_yscale("log")
ax_loss.set_xlabel("epoch")
ax_loss.set_ylabel("training loss")
ax_loss.legend(fontsize="small")
ax_acc.barh(list(accuracy), list(accuracy.values()), color=[f"C{i}" for i in range(len(SOLVERS))])
ax_acc.set_xlim(0.9, 1.0)
ax_acc.set_xlabel("test accuracy")
ax_acc.invert_yaxis()
fig.tight_layout()
plt.show()
