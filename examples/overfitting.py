"""
Dropout and batch normalisation against overfitting
===================================================

A wide two-layer network trained on only 300 of scikit-learn's digits fits
them perfectly and gets worse on unseen ones: the validation loss turns up
while the training loss keeps falling. Dropout (a random share of the
hidden units silenced at each step) and batch normalisation (each hidden
unit's inputs standardised per minibatch) are options scikit-learn does not
have; here each, and both, are compared with no regularisation.

Run: ``python overfitting.py``
"""
import warnings

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from fastmlp import MLPClassifier

# A fixed, short epoch budget on purpose: no warning that training could go on.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

VARIANTS = {
    "no regularisation": dict(),
    "dropout 0.5": dict(dropout=0.5),
    "batch norm": dict(batch_norm=True),
    "dropout 0.5 + batch norm": dict(dropout=0.5, batch_norm=True),
}

X, y = load_digits(return_X_y=True)
X_train, X_val, y_train, y_val = train_test_split(X / 16, y, train_size=300, test_size=600,
                                                  random_state=0, stratify=y)

# %%
# Train each variant
# ------------------
# ``X_val`` and ``y_val`` record the validation loss after every epoch
# (``validation_loss_curve_``); alpha=0 turns off the L2 penalty so that
# only the option under test regularises.
results = {}
for name, params in VARIANTS.items():
    est = MLPClassifier(hidden_layer_sizes=(128, 128), alpha=0.0, batch_size=30,
                        learning_rate_init=0.003, max_iter=40, tol=0.0, n_iter_no_change=40,
                        random_state=0, **params)
    est.fit(X_train, y_train, X_val=X_val, y_val=y_val)
    results[name] = est
    print(f"{name:>26}: training loss {est.loss_curve_[-1]:.4f}, "
          f"validation loss {est.validation_loss_curve_[-1]:.3f} "
          f"(best {min(est.validation_loss_curve_):.3f}), "
          f"validation accuracy {est.score(X_val, y_val):.3f}")

# %%
# Training and validation loss
# ----------------------------
# Solid: training loss; dashed: validation loss. Without regularisation the
# validation loss turns up after its minimum; dropout ends lower, batch
# normalisation lowest.
fig, ax = plt.subplots(figsize=(7, 4.5))
for (name, est), color in zip(results.items(), ["C0", "C1", "C2", "C3"]):
    epochs = range(1, len(est.loss_curve_) + 1)
    ax.plot(epochs, est.loss_curve_, color=color, label=name)
    ax.plot(epochs, est.validation_loss_curve_, color=color, linestyle="--")
ax.set_yscale("log")
ax.set_xlabel("epoch")
ax.set_ylabel("loss")
ax.legend()
fig.tight_layout()
plt.show()
