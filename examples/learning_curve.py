"""
Learning curves during training
===============================

Train with validation data, early stopping by callback, and a progress
bar; draw the loss per epoch on both sets and the validation accuracy.

Run: ``python learning_curve.py [output.png]`` (saves the figure
when given a path; needs matplotlib and, for the bar, tqdm)
"""
import sys

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from fastmlp import MLPClassifier
from fastmlp.callbacks import EarlyStopping
from fastmlp.plot import plot_learning_curve

X, y = load_digits(return_X_y=True)
X_train, X_val, y_train, y_val = train_test_split(X / 16, y, test_size=0.3, random_state=0,
                                                  stratify=y)

# %%
# Fit, watching the validation loss
# ---------------------------------
# ``X_val`` and ``y_val`` give the loss and score on held-out data after every
# epoch; :class:`~fastmlp.callbacks.EarlyStopping` stops when the validation
# loss has not improved for 8 epochs and puts back the best epoch's weights.
try:
    import tqdm  # noqa: F401
    progress = True
except ImportError:
    progress = False
est = MLPClassifier(hidden_layer_sizes=(128,), alpha=0.0, learning_rate_init=0.01,
                    max_iter=200, random_state=0, progress=progress,
                    callbacks=[EarlyStopping(monitor="validation_loss", patience=8,
                                             restore_best_weights=True)])
est.fit(X_train, y_train, X_val=X_val, y_val=y_val)
print(f"{est.n_iter_} epochs, validation accuracy {est.score(X_val, y_val):.3f}")

# %%
# The curves
# ----------
# :func:`~fastmlp.plot.plot_learning_curve` draws ``loss_curve_``,
# ``validation_loss_curve_`` and the validation score on a twin axis: the
# training loss keeps falling while the validation loss turns up, which is
# where the callback stopped.
ax = plot_learning_curve(est)
ax.figure.tight_layout()
if len(sys.argv) > 1:
    ax.figure.savefig(sys.argv[1], dpi=100)
    print(f"curve saved to {sys.argv[1]}")
plt.show()
