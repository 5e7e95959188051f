"""Train with validation data, early stopping by callback, and a progress
bar; draw the learning curve.

Run: python examples/learning_curve.py [output.png]
(needs the optional dependencies matplotlib and, for the bar, tqdm)
"""
import sys

import matplotlib

matplotlib.use("Agg")
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from fastmlp import MLPClassifier  # noqa: E402
from fastmlp.callbacks import EarlyStopping  # noqa: E402
from fastmlp.plot import plot_learning_curve  # noqa: E402


def main(path="docs/learning_curve.png"):
    """Fit on digits and save the learning curve to `path`.

    Returns
    -------
    estimator : MLPClassifier
        The fitted model.
    """
    X, y = load_digits(return_X_y=True)
    X_tr, X_val, y_tr, y_val = train_test_split(X / 16.0, y, test_size=0.3, random_state=0,
                                                stratify=y)
    try:
        import tqdm  # noqa: F401
        progress = True
    except ImportError:
        progress = False
    est = MLPClassifier(hidden_layer_sizes=(128,), alpha=0.0, learning_rate_init=0.01,
                        max_iter=200, random_state=0, progress=progress,
                        callbacks=[EarlyStopping(monitor="validation_loss", patience=8)])
    est.fit(X_tr, y_tr, validation_data=(X_val, y_val))
    ax = plot_learning_curve(est)
    ax.figure.tight_layout()
    ax.figure.savefig(path, dpi=100)
    print(f"{est.n_iter_} epochs, validation accuracy {est.score(X_val, y_val):.3f}; "
          f"curve saved to {path}")
    return est


if __name__ == "__main__":
    main(*sys.argv[1:])
