"""Prediction speed: latency and throughput of fastmlp, scikit-learn, PyTorch.

On the MNIST-shaped network of bench_train.py (784 -> 256 -> 128 -> 10,
float32), trained for one epoch by scikit-learn and copied into fastmlp
(fastmlp.from_sklearn) and PyTorch so that all three compute the same
function: the median latency of predict_proba and predict for 1, 8 and 32
rows, and their throughput for 100000 rows, with 1 thread (threadpoolctl, and
torch.set_num_threads; PyTorch under torch.no_grad()). The same weights with
bfloat16 products: fastmlp with compute_dtype="bfloat16" (weights kept
packed in bfloat16 by the predictor; the tier is printed) against PyTorch
under torch.autocast("cpu", dtype=torch.bfloat16).

Usage::

    python bench/bench_predict.py [--threads 1] [--json PATH]
"""
import argparse
import json
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

import fastmlp
from fastmlp._bench import median_call_seconds


def build_models(seed=0):
    from sklearn.neural_network import MLPClassifier

    rng = np.random.default_rng(seed)
    X = rng.random((60000, 784), dtype=np.float32)
    y = rng.integers(0, 10, 60000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = MLPClassifier(hidden_layer_sizes=(256, 128), max_iter=1, random_state=0).fit(X, y)
    ours = fastmlp.from_sklearn(theirs)
    ours_bf16 = fastmlp.from_sklearn(theirs).set_params(compute_dtype="bfloat16")
    torch_model = None
    try:
        import torch

        layers = []
        for i, (w, b) in enumerate(zip(theirs.coefs_, theirs.intercepts_)):
            lin = torch.nn.Linear(*w.shape)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(w.T)))
                lin.bias.copy_(torch.from_numpy(b))
            layers.append(lin)
            last = i == len(theirs.coefs_) - 1
            layers.append(torch.nn.Softmax(dim=1) if last else torch.nn.ReLU())
        torch_model = torch.nn.Sequential(*layers).eval()
    except ImportError:
        pass
    return X, theirs, ours, ours_bf16, torch_model


def run(threads):
    X, theirs, ours, ours_bf16, torch_model = build_models()
    rows = []
    with threadpool_limits(limits=threads):
        if torch_model is not None:
            import torch

            torch.set_num_threads(threads)

            def torch_predict(Xb, method, bf16=False):
                with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16,
                                                     enabled=bf16):
                    out = torch_model(torch.from_numpy(Xb))
                    return (out.argmax(dim=1) if method == "predict" else out.float()).numpy()
        for n in (1, 8, 32, 100000):
            Xb = np.ascontiguousarray(X[:n] if n <= len(X) else np.concatenate([X, X])[:n])
            for method in ("predict_proba", "predict"):
                t = {"fastmlp": median_call_seconds(getattr(ours, method).__call__, Xb),
                     "sklearn": median_call_seconds(getattr(theirs, method).__call__, Xb),
                     "fastmlp_bf16": median_call_seconds(getattr(ours_bf16, method).__call__,
                                                         Xb)}
                if torch_model is not None:
                    t["torch"] = median_call_seconds(torch_predict, Xb, method)
                    t["torch_bf16"] = median_call_seconds(torch_predict, Xb, method, True)
                rows.append({"rows": n, "method": method, "threads": threads, "seconds": t})
    # All three compute the same function.
    Xc = X[:100]
    np.testing.assert_allclose(ours.predict_proba(Xc), theirs.predict_proba(Xc), rtol=1e-4,
                               atol=1e-6)
    # The bfloat16 one to bfloat16's rounding of its operands.
    np.testing.assert_allclose(ours_bf16.predict_proba(Xc), theirs.predict_proba(Xc), atol=0.05)
    return rows


def _formatter(n):
    """Latency in microseconds, or rows per second for the throughput rows."""
    if n >= 100000:
        return lambda v: f"{n / v / 1e6:9.2f} M/s"
    return lambda v: f"{v * 1e6:9.1f} us"


def print_table(rows):
    print(f"{'rows':>7} {'method':<14}{'thr':>4}{'fastmlp':>12}{'sklearn':>12}{'torch':>12}"
          f"{'fm/sk':>8}{'fm/torch':>9}   (latency per call; rows/s for 100000)")
    for r in rows:
        s = r["seconds"]
        torch_s = s.get("torch", float("nan"))
        fmt = _formatter(r["rows"])
        print(f"{r['rows']:>7} {r.get('method', 'predict_proba'):<14}{r['threads']:>4}"
              f"{fmt(s['fastmlp']):>12}{fmt(s['sklearn']):>12}"
              f"{fmt(torch_s):>12}{s['fastmlp'] / s['sklearn']:>8.2f}"
              f"{s['fastmlp'] / torch_s:>9.2f}")
    print(f"\nbfloat16 products (tier: {fastmlp._kernels._runtime_info()['bf16_tier']})")
    print(f"{'rows':>7} {'method':<14}{'thr':>4}{'fm bf16':>12}{'fm f32':>12}{'torch bf16':>12}"
          f"{'bf16/f32':>9}{'fm/torch':>9}")
    for r in rows:
        s = r["seconds"]
        if "fastmlp_bf16" not in s:
            continue
        torch_s = s.get("torch_bf16", float("nan"))
        fmt = _formatter(r["rows"])
        print(f"{r['rows']:>7} {r['method']:<14}{r['threads']:>4}{fmt(s['fastmlp_bf16']):>12}"
              f"{fmt(s['fastmlp']):>12}{fmt(torch_s):>12}"
              f"{s['fastmlp_bf16'] / s['fastmlp']:>9.2f}{s['fastmlp_bf16'] / torch_s:>9.2f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", help="save the rows as JSON here")
    args = parser.parse_args(argv)
    rows = run(args.threads)
    print_table(rows)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"fastmlp": fastmlp.__version__, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
