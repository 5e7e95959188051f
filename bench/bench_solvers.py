"""Training comparison of the stochastic solvers on digits and the MNIST
4-class subset (tests/data): test accuracy and final training loss.

    python bench/bench_solvers.py

Each solver at a learning rate that suits it (one value per solver, the same
on both data sets); one hidden layer, 'auto' batches, no early stopping.
Prints a Markdown table (the README's).
"""
import os
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from fastmlp import MLPClassifier

HERE = os.path.dirname(os.path.abspath(__file__))
MNIST = os.path.join(HERE, "..", "tests", "data", "mnist_4class_subset.npz")
SOLVERS = {"sgd": 0.1, "adam": 1e-3, "rmsprop": 1e-3, "adagrad": 3e-2, "adamw": 1e-3,
           "nadam": 1e-3}


def datasets():
    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X / 16.0, y, test_size=0.3, random_state=0,
                                          stratify=y)
    yield "digits", (Xtr, ytr, Xte, yte), (64,), 100
    d = np.load(MNIST)
    yield ("mnist 4-class", (d["X_train"], d["y_train"], d["X_test"],
                             d["y_test"]), (128,), 30)


def main():
    rows = []
    for name, (Xtr, ytr, Xte, yte), hidden, epochs in datasets():
        for solver, lr in SOLVERS.items():
            est = MLPClassifier(hidden, solver=solver, learning_rate_init=lr, max_iter=epochs,
                                random_state=0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                start = time.perf_counter()
                est.fit(Xtr, ytr)
                seconds = time.perf_counter() - start
            rows.append((name, solver, lr, est.n_iter_, est.score(Xte, yte), est.loss_, seconds))
    print("| data | solver | learning_rate_init | epochs | test accuracy | final loss | fit s |")
    print("|---|---|---|---|---|---|---|")
    for name, solver, lr, n_iter, acc, loss, seconds in rows:
        print(f"| {name} | {solver} | {lr:g} | {n_iter} | {acc:.4f} | {loss:.4f} | "
              f"{seconds:.2f} |")


if __name__ == "__main__":
    main()
