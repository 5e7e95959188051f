"""The examples' data sets: scikit-learn's digits and the MNIST subset that
ships with the tests (the gallery skips this file: its name starts with _)."""
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

# Found from this file, so it works from any working directory and from a
# fresh clone: examples/ and tests/ are siblings.
MNIST_SUBSET = Path(__file__).resolve().parent.parent / "tests" / "data" / "mnist_4class_subset.npz"


def mnist_subset():
    """2000 training and 800 test images of the digits 0, 1, 6 and 9.

    Returns
    -------
    X_train, X_test, y_train, y_test : ndarray
        28 x 28 pixels flattened to 784 float32 values in [0, 1]; labels.
    """
    with np.load(MNIST_SUBSET) as data:
        return data["X_train"], data["X_test"], data["y_train"], data["y_test"]


def digits(test_size=0.3):
    """scikit-learn's 8 x 8 digits, scaled to [0, 1], split stratified.

    Parameters
    ----------
    test_size : float, default=0.3
        Fraction held out.

    Returns
    -------
    X_train, X_test, y_train, y_test : ndarray
        64 float64 pixels per image; labels 0-9.
    """
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=test_size, random_state=0, stratify=y)
