"""Training-speed measurement shared by ``bench/bench_train.py`` and
``python -m fastmlp bench``: the benchmark configurations, synthetic data,
FLOP counts and one-epoch timers for fastmlp, scikit-learn and PyTorch.
"""
import time
import warnings

import numpy as np

import fastmlp

CONFIGS = {
    "mnist": dict(n=60000, d=784, hidden=(256, 128), outputs=10, batch=200, task="classification"),
    "tabular": dict(n=100000, d=50, hidden=(100, 100), outputs=1, batch=200, task="regression"),
    "deep": dict(n=20000, d=74, hidden=(1024, 1024, 512, 512, 256, 256, 128, 128, 64, 64),
                 outputs=8, batch=32, task="classification"),
    # Keras's default batch (32) and 64 on the MNIST shape (issue 22): the
    # per-minibatch costs (optimizer step, packing, dispatch) weigh more.
    "mnist_b32": dict(n=60000, d=784, hidden=(256, 128), outputs=10, batch=32,
                      task="classification"),
    "mnist_b64": dict(n=60000, d=784, hidden=(256, 128), outputs=10, batch=64,
                      task="classification"),
}


def make_data(cfg, scale, seed=0):
    """Synthetic data of the configuration's shape, uniform in [0, 1):
    dense, so that timing does not depend on the values (a mostly-zero
    input such as MNIST's pixels would take the engine's sparse first
    layer); `scale` shrinks the number of samples."""
    rng = np.random.default_rng(seed)
    n = max(int(cfg["n"] * scale), cfg["batch"])
    X = rng.random((n, cfg["d"]), dtype=np.float32)
    if cfg["task"] == "classification":
        y = rng.integers(0, cfg["outputs"], n)
    else:
        y = (X[:, :5].sum(axis=1) + 0.1 * rng.standard_normal(n)).astype(np.float32)
    return X, y


def epoch_flops(cfg, n):
    """2 x the multiply-adds of one epoch: forward, weight gradients, and the
    input gradients of every layer but the first."""
    units = [cfg["d"], *cfg["hidden"], cfg["outputs"]]
    pairs = [a * b for a, b in zip(units[:-1], units[1:])]
    return 2.0 * n * (2 * sum(pairs) + sum(pairs[1:]))


def median_call_seconds(fn, *args, repeat=7, min_round_seconds=0.05):
    """Median over `repeat` rounds of the mean time of one call `fn(*args)`
    (calls per round chosen so that a round lasts at least
    `min_round_seconds`; one warm-up call first)."""
    fn(*args)
    t0 = time.perf_counter()
    fn(*args)
    once = max(time.perf_counter() - t0, 1e-7)
    inner = max(1, int(min_round_seconds / once))
    rounds = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn(*args)
        rounds.append((time.perf_counter() - t0) / inner)
    return float(np.median(rounds))


def time_epochs(run_epoch, epochs):
    """Median seconds of `epochs` calls after one warm-up call."""
    run_epoch()
    times = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        run_epoch()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def estimator_epoch(cls, cfg, X, y, **params):
    """One epoch per call through partial_fit (shuffled, Adam); `params` go
    to the estimator (fastmlp's compute_dtype, for one)."""
    est = cls(hidden_layer_sizes=cfg["hidden"], batch_size=cfg["batch"], random_state=0,
              **params)
    classes = np.arange(cfg["outputs"]) if cfg["task"] == "classification" else None

    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if classes is not None:
                est.partial_fit(X, y, classes=classes)
            else:
                est.partial_fit(X, y)
    return run


def torch_epoch(cfg, X, y, threads, bf16=False):
    """One epoch per call of the same network in PyTorch (None if absent);
    with `bf16`, forward and loss under CPU autocast to bfloat16 (PyTorch's
    mixed precision: bfloat16 products, float32 weights and optimizer)."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    units = [cfg["d"], *cfg["hidden"]]
    layers = []
    for a, b in zip(units[:-1], units[1:]):
        layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
    layers.append(torch.nn.Linear(units[-1], cfg["outputs"]))
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    Xt = torch.from_numpy(X)
    if cfg["task"] == "classification":
        yt = torch.from_numpy(y.astype(np.int64))
        loss_fn = torch.nn.CrossEntropyLoss()
    else:
        yt = torch.from_numpy(y.reshape(-1, 1))
        loss_fn = torch.nn.MSELoss()
    batch = cfg["batch"]

    def run():
        perm = torch.randperm(len(Xt))
        for start in range(0, len(Xt), batch):
            idx = perm[start:start + batch]
            opt.zero_grad()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                loss = loss_fn(model(Xt[idx]), yt[idx])
            loss.backward()
            opt.step()
    return run


def jax_epoch(cfg, X, y, seed=0):
    """One epoch per call of the same network in JAX (None if absent).

    The whole epoch is one jitted function: a fresh permutation drawn inside
    it (jax.random.permutation, a new key per epoch), then jax.lax.scan over
    the n // batch minibatches, each gathering its rows by index, the forward
    pass (relu hidden layers), the loss (softmax cross-entropy, or half the
    squared error for regression, plus scikit-learn's L2 term with
    alpha=1e-4), jax.grad and optax's Adam (lr 1e-3). float32, weights drawn
    with scikit-learn's Glorot-uniform bounds (intercepts too, as it does).
    The first call compiles (and is the caller's warm-up); a call returns
    when the epoch's results are ready. Threads are whatever the process
    allows: XLA fixes them at import (see bench/bench_train.py).
    """
    try:
        import jax
        import jax.numpy as jnp
        import optax
    except ImportError:
        return None
    rng = np.random.default_rng(seed)
    units = [cfg["d"], *cfg["hidden"], cfg["outputs"]]
    params = []
    for a, b in zip(units[:-1], units[1:]):
        bound = np.sqrt(6.0 / (a + b))
        params.append((jnp.asarray(rng.uniform(-bound, bound, (a, b)).astype(np.float32)),
                       jnp.asarray(rng.uniform(-bound, bound, b).astype(np.float32))))
    Xj = jnp.asarray(X, dtype=jnp.float32)
    classify = cfg["task"] == "classification"
    Yj = (jax.nn.one_hot(jnp.asarray(y), cfg["outputs"], dtype=jnp.float32) if classify
          else jnp.asarray(y, dtype=jnp.float32).reshape(-1, 1))
    batch, alpha = cfg["batch"], 1e-4
    n_batches = len(X) // batch
    tx = optax.adam(1e-3)

    def loss_fn(p, xb, yb):
        h = xb
        for w, b in p[:-1]:
            h = jax.nn.relu(h @ w + b)
        out = h @ p[-1][0] + p[-1][1]
        if classify:
            data = -jnp.mean(jnp.sum(yb * jax.nn.log_softmax(out), axis=1))
        else:
            data = 0.5 * jnp.mean((out - yb) ** 2)
        return data + 0.5 * alpha * sum(jnp.sum(w * w) for w, _ in p) / xb.shape[0]

    @jax.jit
    def epoch(p, opt_state, key):
        key, sub = jax.random.split(key)
        order = jax.random.permutation(sub, Xj.shape[0])[:n_batches * batch]
        order = order.reshape(n_batches, batch)

        def step(carry, idx):
            p, s = carry
            loss, g = jax.value_and_grad(loss_fn)(p, Xj[idx], Yj[idx])
            updates, s = tx.update(g, s, p)
            return (optax.apply_updates(p, updates), s), loss

        (p, opt_state), losses = jax.lax.scan(step, (p, opt_state), order)
        return p, opt_state, key, losses.sum()

    state = {"p": params, "s": tx.init(params), "key": jax.random.PRNGKey(seed)}

    def run():
        p, s, key, loss = epoch(state["p"], state["s"], state["key"])
        jax.block_until_ready((p, loss))
        state.update(p=p, s=s, key=key)
    return run


def epoch_split(run_epoch):
    """Where one fastmlp epoch `run_epoch()` spends its wall time: seconds of
    the C engine's products, other passes (activations, loss, derivatives,
    bias gradient), optimizer step and minibatch gather, and the rest
    ("python": validation, shuffling, the binding), from the engine's
    profile clock (on for this call only)."""
    from fastmlp import _kernels

    _kernels._epoch_profile(True)
    try:
        t0 = time.perf_counter()
        run_epoch()
        wall = time.perf_counter() - t0
    finally:
        parts = _kernels._epoch_profile(False)
    parts["python"] = wall - sum(parts.values())
    return wall, parts


def quick_bench(scale=0.1, epochs=2, threads=1):
    """The short comparison behind ``python -m fastmlp bench``.

    One thread, the MNIST-shaped and tabular configurations at `scale` of
    their samples: seconds per epoch for fastmlp, scikit-learn (float32)
    and PyTorch when installed, printed as a table.

    Parameters
    ----------
    scale : float, default=0.1
        Fraction of each configuration's samples.
    epochs : int, default=2
        Timed epochs (median) after a warm-up epoch.
    threads : int, default=1
        Thread limit (threadpoolctl and torch.set_num_threads).

    Returns
    -------
    rows : list of dict
        One per configuration: its name and the seconds per library.
    """
    from sklearn import neural_network as sk
    from threadpoolctl import threadpool_limits

    rows = []
    print(f"{'config':<9}{'samples':>8}{'fastmlp s':>11}{'sklearn s':>11}{'torch s':>9}"
          f"{'speed-up vs sklearn':>21}")
    for name in ("mnist", "tabular"):
        cfg = CONFIGS[name]
        X, y = make_data(cfg, scale)
        kind = "Classifier" if cfg["task"] == "classification" else "Regressor"
        with threadpool_limits(limits=threads):
            t = {"fastmlp": time_epochs(estimator_epoch(getattr(fastmlp, f"MLP{kind}"), cfg,
                                                        X, y), epochs),
                 "sklearn": time_epochs(estimator_epoch(getattr(sk, f"MLP{kind}"), cfg, X, y),
                                        epochs)}
            run_torch = torch_epoch(cfg, X, y, threads)
            if run_torch is not None:
                t["torch"] = time_epochs(run_torch, epochs)
        rows.append({"config": name, "n": len(X), "seconds": t})
        print(f"{name:<9}{len(X):>8}{t['fastmlp']:>11.3f}{t['sklearn']:>11.3f}"
              f"{t.get('torch', float('nan')):>9.3f}{t['sklearn'] / t['fastmlp']:>20.2f}x")
    return rows
