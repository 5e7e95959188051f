"""``python -m fastmlp demo``: fastmlp and scikit-learn side by side.

Trains the same MLP (same parameters, same random_state) with
``fastmlp.MLPClassifier`` and ``sklearn.neural_network.MLPClassifier`` on
scikit-learn's digits (shipped with scikit-learn: no download), and prints
accuracy, training time and how close the learned weights are: in float32
(what is timed; rounding makes them differ slightly) and, for a few epochs,
in float64 (the same numbers to float64 rounding).
"""
import sys
import time
import warnings

import numpy as np


def run_demo(epochs=30, seed=0):
    """Train on digits with fastmlp and with scikit-learn and compare.

    Parameters
    ----------
    epochs : int, default=30
        Training epochs (``max_iter``).
    seed : int, default=0
        ``random_state`` of both models and of the train/test split.

    Returns
    -------
    status : int
        0 on success.
    """
    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier as SklearnMLP

    import fastmlp

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)  # both libraries then train in float32
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=seed,
                                                        stratify=y)
    params = dict(hidden_layer_sizes=(256, 128), max_iter=epochs, random_state=seed,
                  batch_size=64)
    print(f"fastmlp {fastmlp.__version__} demo: scikit-learn's digits, {len(X_train)} train / "
          f"{len(X_test)} test images, MLP 64-256-128-10 (relu, softmax), Adam, batch 64, "
          f"{epochs} epochs, float32\n")
    rows = []
    models = {}
    for label, cls in [("fastmlp.MLPClassifier", fastmlp.MLPClassifier),
                       ("sklearn MLPClassifier", SklearnMLP)]:
        sys.stderr.write(f"  training {label} ...")
        sys.stderr.flush()
        est = cls(**params)
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X_train, y_train)
        elapsed = time.perf_counter() - t0
        sys.stderr.write(f" {elapsed:.2f} s\n")
        models[label] = est
        rows.append((label, est.score(X_test, y_test), elapsed))

    print(f"\n{'model':<24}{'test accuracy':>14}{'fit time (s)':>14}")
    for label, acc, elapsed in rows:
        print(f"{label:<24}{acc:>14.4f}{elapsed:>14.2f}")
    ours, theirs = models.values()
    print(f"\nspeed-up {rows[1][2] / rows[0][2]:.1f}x")
    # float32 weights differ by the products' rounding (fastmlp sums in
    # another order than NumPy's BLAS), compounded over the epochs; in
    # float64 the same run agrees to float64 rounding: the same algorithm.
    print(f"largest difference between the two models' weights in float32: "
          f"{_largest_difference(ours, theirs):.1e} (float32 rounding: the products sum in "
          "another order, and Adam carries the differences over the epochs)")
    X64_train = X_train.astype(np.float64)
    pair = []
    for cls in (fastmlp.MLPClassifier, SklearnMLP):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            pair.append(cls(**{**params, "max_iter": min(epochs, 5)}).fit(X64_train, y_train))
    print(f"the same run in float64 ({min(epochs, 5)} epochs): largest difference "
          f"{_largest_difference(*pair):.1e}: the same algorithm, the same numbers up to "
          "float64 rounding")
    return 0


def _largest_difference(a, b):
    """Largest absolute difference between two fitted MLPs' weights."""
    return max(float(np.max(np.abs(x - y))) for x, y in zip(a.coefs_ + a.intercepts_,
                                                             b.coefs_ + b.intercepts_))
