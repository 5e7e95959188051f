"""``python -m fastmlp demo``.

Until the estimators land, the demo trains a one-hidden-layer MLP on
scikit-learn's digits by composing the kernels (the lecture's forward and
backward pass, written out), once with :mod:`fastmlp.kernels` and once with
:mod:`fastmlp.reference`, and scikit-learn's MLPClassifier with the same
settings alongside; it prints accuracy and time for each.
"""
import sys
import time

import numpy as np


def _progress(epoch, epochs, loss, width=30):
    """A one-line text progress bar on stderr (no dependency); on a
    non-terminal (a CI log) only the last epoch is reported."""
    if not sys.stderr.isatty():
        if epoch == epochs:
            sys.stderr.write(f"  epoch {epoch}/{epochs} loss {loss:.4f}\n")
        return
    done = int(width * epoch / epochs)
    sys.stderr.write(f"\r  [{'#' * done}{'.' * (width - done)}] epoch {epoch}/{epochs} "
                     f"loss {loss:.4f}")
    if epoch == epochs:
        sys.stderr.write("\n")
    sys.stderr.flush()


def train_mlp(module, X, y, n_classes, *, hidden=64, epochs=30, batch_size=64,
              learning_rate=1e-3, seed=0, progress=False):
    """Train X -> relu(hidden) -> softmax with Adam, using `module`'s kernels.

    Parameters
    ----------
    module : module
        :mod:`fastmlp.kernels` or :mod:`fastmlp.reference`.
    X : ndarray of shape (n_samples, n_features), float32
    y : ndarray of shape (n_samples,), int64 labels in [0, n_classes)
    n_classes : int
    hidden, epochs, batch_size, learning_rate, seed
        The network and the optimisation (Glorot-uniform initialisation).
    progress : bool, default=False
        Draw a progress bar on stderr.

    Returns
    -------
    params : list of ndarray
        ``[W1, b1, W2, b2]``.
    """
    rng = np.random.default_rng(seed)
    sizes = [X.shape[1], hidden, n_classes]
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = np.sqrt(6.0 / (fan_in + fan_out))
        params += [rng.uniform(-bound, bound, (fan_in, fan_out)).astype(X.dtype),
                   rng.uniform(-bound, bound, fan_out).astype(X.dtype)]
    ms = [np.zeros_like(p) for p in params]
    vs = [np.zeros_like(p) for p in params]
    t = 0
    for epoch in range(1, epochs + 1):
        order = rng.permutation(len(X))
        total = 0.0
        for start in range(0, len(X), batch_size):
            idx = order[start:start + batch_size]
            xb, yb = X[idx], y[idx]
            W1, b1, W2, b2 = params
            h = module.dense(xb, W1, b1, "relu")                  # forward
            logits = module.dense(h, W2, b2)
            loss, dlogits = module.softmax_cross_entropy(logits, yb)
            dh = module.gemm(dlogits, W2, trans_b=True)            # backward
            dh = module.activation_grad(h, "relu", dh)  # relu'(z) = relu'(relu(z))
            grads = [module.gemm(xb, dh, trans_a=True), dh.sum(axis=0),
                     module.gemm(h, dlogits, trans_a=True), dlogits.sum(axis=0)]
            t += 1
            for p, g, m, v in zip(params, grads, ms, vs):
                module.adam_step(p, g, m, v, t=t, learning_rate=learning_rate)
            total += loss * len(idx)
        if progress:
            _progress(epoch, epochs, total / len(X))
    return params


def predict(module, params, X):
    """Class predictions of the network trained by :func:`train_mlp`."""
    W1, b1, W2, b2 = params
    return np.argmax(module.dense(module.dense(X, W1, b1, "relu"), W2, b2), axis=1)


def run_demo(epochs=30, seed=0):
    """Train on digits with the kernels, the NumPy reference and scikit-learn.

    Parameters
    ----------
    epochs : int, default=30
    seed : int, default=0

    Returns
    -------
    status : int
        0 on success.
    """
    import warnings

    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier

    import fastmlp
    from fastmlp import kernels, reference

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=seed,
                                                        stratify=y)
    print(f"fastmlp {fastmlp.__version__} demo: digits, {len(X_train)} train / {len(X_test)} "
          f"test images, MLP 64-64-10 (relu, softmax), Adam, batch 64, {epochs} epochs\n")
    rows = []
    for label, module in [("fastmlp.kernels (C)", kernels), ("fastmlp.reference (NumPy)", reference)]:
        print(label)
        t0 = time.perf_counter()
        params = train_mlp(module, X_train, y_train, 10, epochs=epochs, seed=seed, progress=True)
        elapsed = time.perf_counter() - t0
        rows.append((label, np.mean(predict(module, params, X_test) == y_test), elapsed))
    print("scikit-learn MLPClassifier")
    clf = MLPClassifier(hidden_layer_sizes=(64,), batch_size=64, max_iter=epochs,
                        random_state=seed, tol=0.0)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X_train, y_train)
    rows.append(("scikit-learn MLPClassifier", clf.score(X_test, y_test),
                 time.perf_counter() - t0))

    print(f"\n{'implementation':<28}{'test accuracy':>14}{'time (s)':>10}")
    for label, acc, elapsed in rows:
        print(f"{label:<28}{acc:>14.3f}{elapsed:>10.2f}")
    print("\nThe two fastmlp rows run the same training loop, once on the C kernels and once"
          "\non their NumPy twins. The estimators (fastmlp.MLPClassifier) run whole epochs in C.")
    return 0

