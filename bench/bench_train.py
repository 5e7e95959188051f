"""Training speed: one epoch of fastmlp, scikit-learn and PyTorch, one run.

For each configuration and thread count, the median time of `--epochs`
epochs after a warm-up epoch, for
- fastmlp.MLPClassifier / MLPRegressor (float32 input), and with
  compute_dtype="bfloat16" (the tier, AMX / AVX512_BF16 / emulated, is
  recorded with the machine),
- scikit-learn's MLPClassifier / MLPRegressor with float32 and float64 input,
- PyTorch on the CPU when installed: nn.Sequential of Linear/ReLU, Adam, the
  same batch size, torch.set_num_threads(threads); and under
  torch.autocast("cpu", dtype=torch.bfloat16), the bfloat16 peer;
- JAX when installed (``pip install jax jaxlib optax``; not a test
  dependency): the whole epoch jitted, jax.lax.scan over the minibatches,
  optax Adam, float32, the permutation drawn inside the jitted epoch (see
  fastmlp._bench.jax_epoch); compile time excluded (the warm-up epoch
  compiles). XLA fixes its threads at import, so each thread count runs in
  its own subprocess (this script with --jax-worker), pinned with
  os.sched_setaffinity to the first `threads` CPUs before jax is imported;
  for 1 thread also XLA_FLAGS="--xla_cpu_multi_thread_eigen=false
  intra_op_parallelism_threads=1";
the ratios to fastmlp, the GFLOP/s fastmlp reached (multiply-adds of the
forward and backward passes, without the first layer's input gradient) as a
fraction of this core's FMA peak (bench/peak.py), and the split of one more
fastmlp epoch: products, other passes, optimizer step, gather, and Python
(everything outside the C epoch), from the engine's profile clock.

Configurations (issue 4): "mnist" 60000 x 784, (256, 128), 10 classes,
batch 200; "tabular" regression 100000 x 50, (100, 100), batch 200; "deep"
20000 x 74, ten hidden layers 1024..64, 8 classes, batch 32; "mnist_b32" and
"mnist_b64", mnist at Keras's default batch 32 and at 64 (issue 22). Threads
are limited with threadpoolctl (OpenMP and BLAS) and torch.set_num_threads.
`--libs` times only the libraries named (e.g. ``--libs fastmlp`` for a
quick run of fastmlp's own rows).

Same-run comparison of two fastmlp builds (``--baseline PATH``): PATH holds
another build of the package (e.g. the previous commit's, installed with
``pip install --no-deps --no-build-isolation --target PATH .`` from a
checkout of it). Each configuration, thread count and compute type runs in
`--rounds` alternating pairs of subprocesses, one per build (the baseline's
with PATH first on PYTHONPATH), each timing `--epochs` epochs and one
profiled epoch; the table gives the median over the rounds of each build's
epoch time, their ratio, and both splits. Alternating the builds spreads
the load of a shared machine over both.

Usage::

    python bench/bench_train.py [--configs mnist deep] [--threads 1 2]
                                [--epochs 3] [--scale 1.0] [--json PATH] [--png PATH]
    python bench/bench_train.py --from-json PATH --png PATH   # redraw a saved run
    python bench/bench_train.py --baseline PATH [--rounds 5] [--configs deep] ...
"""
import argparse
import json
import os
import platform
import subprocess
import sys

import numpy as np
from threadpoolctl import threadpool_limits

import fastmlp
from fastmlp._bench import (CONFIGS, epoch_flops, epoch_split, estimator_epoch, jax_epoch,
                            make_data, time_epochs, torch_epoch)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peak import fma_peak_gflops  # noqa: E402

def fm_worker(cfg, threads, epochs, scale, dtype):
    """In this process (the build first on sys.path): print as JSON the
    median fastmlp epoch seconds, one profiled epoch's split and the
    package's path. `cfg` is the configuration itself (an older build's
    CONFIGS may not have it)."""
    X, y = make_data(cfg, scale)
    kind = "Classifier" if cfg["task"] == "classification" else "Regressor"
    params = {} if dtype == "float32" else {"compute_dtype": "bfloat16"}
    with threadpool_limits(limits=threads):
        run_epoch = estimator_epoch(getattr(fastmlp, f"MLP{kind}"), cfg, X, y, **params)
        seconds = time_epochs(run_epoch, epochs)
        _, split = epoch_split(run_epoch)
    print(json.dumps({"seconds": seconds, "split": split, "package": fastmlp.__file__}))


def fm_seconds(name, threads, epochs, scale, dtype, path=None):
    """fm_worker's answer from a subprocess, with the build at `path` (or
    the installed one)."""
    env = dict(os.environ)
    if path is not None:
        env["PYTHONPATH"] = os.pathsep.join([os.path.abspath(path)]
                                            + ([env["PYTHONPATH"]] if env.get("PYTHONPATH")
                                               else []))
    cmd = [sys.executable, os.path.abspath(__file__), "--fm-worker", json.dumps(CONFIGS[name]),
           str(threads), str(epochs), str(scale), dtype]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def compare_builds(configs, threads, epochs, scale, baseline, rounds, dtypes):
    """Rows of the same-run comparison of the installed build ("new")
    against the one at `baseline` ("old"): alternating subprocesses,
    `rounds` pairs per configuration, thread count and compute type."""
    rows = []
    for name in configs:
        for t in threads:
            for dtype in dtypes:
                runs = {"old": [], "new": []}
                for _ in range(rounds):
                    for build, path in (("old", baseline), ("new", None)):
                        runs[build].append(fm_seconds(name, t, epochs, scale, dtype, path))
                row = dict(config=name, threads=t, dtype=dtype,
                           packages={b: runs[b][0]["package"] for b in runs})
                for build in runs:
                    row[build] = float(np.median([r["seconds"] for r in runs[build]]))
                    row[build + "_all"] = [r["seconds"] for r in runs[build]]
                    row[build + "_split"] = {k: float(np.median([r["split"][k]
                                                                 for r in runs[build]]))
                                             for k in SPLIT_PARTS}
                rows.append(row)
                print_compare([row], header=len(rows) == 1)
                if len(rows) == 1:
                    print(f"  (old: {row['packages']['old']}; new: {row['packages']['new']})")
    return rows


def print_compare(rows, header=True):
    """The comparison rows: epoch seconds of both builds (medians over the
    rounds), new / old, and each build's split in milliseconds."""
    if header:
        print(f"{'config':<10}{'thr':>4}{'dtype':>9}{'old s':>8}{'new s':>8}{'new/old':>8}  "
              + "split old -> new (ms): " + ", ".join(SPLIT_PARTS))
    for r in rows:
        parts = "  ".join(f"{r['old_split'][k] * 1e3:.0f}->{r['new_split'][k] * 1e3:.0f}"
                          for k in SPLIT_PARTS)
        print(f"{r['config']:<10}{r['threads']:>4}{r['dtype']:>9}{r['old']:>8.3f}"
              f"{r['new']:>8.3f}{r['new'] / r['old']:>8.2f}  {parts}", flush=True)


def jax_worker(name, threads, epochs, scale):
    """In this (fresh) process: pin to `threads` CPUs, import JAX, print the
    median epoch seconds as JSON (null without JAX)."""
    os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:threads])
    cfg = CONFIGS[name]
    X, y = make_data(cfg, scale)
    run_epoch = jax_epoch(cfg, X, y)
    print(json.dumps(None if run_epoch is None else time_epochs(run_epoch, epochs)))


def jax_seconds(name, threads, epochs, scale):
    """Median JAX epoch seconds from a subprocess with `threads` threads, or
    None when JAX is not installed (or the worker fails)."""
    env = dict(os.environ)
    if threads == 1:
        env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false "
                            "intra_op_parallelism_threads=1").strip()
    cmd = [sys.executable, os.path.abspath(__file__), "--jax-worker", name, str(threads),
           str(epochs), str(scale)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        print(f"JAX worker failed: {done.stderr.strip()[-500:]}", file=sys.stderr)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


LIBS = ("fastmlp", "fastmlp_bf16", "sklearn", "torch", "jax")


def run(configs, threads, epochs, scale, libs=LIBS):
    from sklearn import neural_network as sk

    peak = fma_peak_gflops()
    rows = []
    for name in configs:
        cfg = CONFIGS[name]
        X, y = make_data(cfg, scale)
        kind = "Classifier" if cfg["task"] == "classification" else "Regressor"
        flops = epoch_flops(cfg, len(X))
        for t in threads:
            with threadpool_limits(limits=t):
                times = {"fastmlp": time_epochs(estimator_epoch(getattr(fastmlp, f"MLP{kind}"),
                                                                cfg, X, y), epochs)}
                if "fastmlp_bf16" in libs:
                    times["fastmlp_bf16"] = time_epochs(estimator_epoch(
                        getattr(fastmlp, f"MLP{kind}"), cfg, X, y, compute_dtype="bfloat16"),
                        epochs)
                if "sklearn" in libs:
                    times["sklearn_f32"] = time_epochs(estimator_epoch(
                        getattr(sk, f"MLP{kind}"), cfg, X, y), epochs)
                    times["sklearn_f64"] = time_epochs(estimator_epoch(
                        getattr(sk, f"MLP{kind}"), cfg, X.astype(np.float64), y), epochs)
                torch_run = torch_epoch(cfg, X, y, t) if "torch" in libs else None
                if torch_run is not None:
                    times["torch"] = time_epochs(torch_run, epochs)
                    times["torch_bf16"] = time_epochs(torch_epoch(cfg, X, y, t, bf16=True),
                                                      epochs)
                fm_run = estimator_epoch(getattr(fastmlp, f"MLP{kind}"), cfg, X, y)
                fm_run()
                _, split = epoch_split(fm_run)
                split_bf16 = None
                if "fastmlp_bf16" in libs:
                    bf16_run = estimator_epoch(getattr(fastmlp, f"MLP{kind}"), cfg, X, y,
                                               compute_dtype="bfloat16")
                    bf16_run()
                    _, split_bf16 = epoch_split(bf16_run)
            jax_s = jax_seconds(name, t, epochs, scale) if "jax" in libs else None
            if jax_s is not None:
                times["jax"] = jax_s
            gflops = flops / times["fastmlp"] / 1e9
            rows.append(dict(config=name, threads=t, n=len(X), seconds=times, split=split,
                             split_bf16=split_bf16,
                             bf16_tier=fastmlp._kernels._runtime_info()["bf16_tier"],
                             fastmlp_gflops=gflops,
                             fraction_of_peak=gflops / peak if peak else None))
    return rows, peak


SPLIT_PARTS = ("products", "passes", "step", "gather", "python")


def print_table(rows, peak, mach=None):
    mach = mach or machine()
    print(f"CPU: {mach.get('processor', '?')} (kernels {mach.get('isa', '?')}, "
          f"bfloat16 tier {mach.get('bf16_tier', '?')})")
    print(f"single-core float32 FMA peak: {peak:.1f} GFLOP/s" if peak else "peak: unknown")
    nan = float("nan")
    head = (f"{'config':<8}{'thr':>4}{'fastmlp s':>11}{'sk f32 s':>10}{'sk f64 s':>10}"
            f"{'torch s':>9}{'jax s':>8}{'fm/sk32':>9}{'fm/torch':>9}{'fm/jax':>8}"
            f"{'GF/s':>7}{'%peak':>7}")
    print(head)
    for r in rows:
        s = r["seconds"]
        torch_s, jax_s = s.get("torch"), s.get("jax")
        sk32, sk64 = s.get("sklearn_f32", nan), s.get("sklearn_f64", nan)
        print(f"{r['config']:<8}{r['threads']:>4}{s['fastmlp']:>11.3f}{sk32:>10.3f}"
              f"{sk64:>10.3f}{(torch_s if torch_s else nan):>9.3f}"
              f"{(jax_s if jax_s else nan):>8.3f}"
              f"{s['fastmlp'] / sk32:>9.2f}"
              f"{(s['fastmlp'] / torch_s if torch_s else nan):>9.2f}"
              f"{(s['fastmlp'] / jax_s if jax_s else nan):>8.2f}"
              f"{r['fastmlp_gflops']:>7.1f}"
              f"{(100 * r['fraction_of_peak'] if r['fraction_of_peak'] else nan):>7.1f}")
    print_split(rows, "split", "fastmlp epoch split (% of one epoch's wall time):")
    print(f"\nbfloat16 products (tier: {rows[0].get('bf16_tier', '?') if rows else '?'})")
    print(f"{'config':<8}{'thr':>4}{'fm bf16 s':>11}{'bf16/f32':>10}{'torch bf16 s':>14}"
          f"{'fm/torch':>10}")
    for r in rows:
        s = r["seconds"]
        if "fastmlp_bf16" not in s:
            continue
        torch_s = s.get("torch_bf16")
        print(f"{r['config']:<8}{r['threads']:>4}{s['fastmlp_bf16']:>11.3f}"
              f"{s['fastmlp_bf16'] / s['fastmlp']:>10.2f}{(torch_s if torch_s else nan):>14.3f}"
              f"{(s['fastmlp_bf16'] / torch_s if torch_s else nan):>10.2f}")
    print_split(rows, "split_bf16", "fastmlp bfloat16 epoch split (% of one epoch's wall "
                "time; the step includes packing the weights):")
    print_speedups(rows)


def print_speedups(rows):
    """Per configuration run at 1 and at more threads: each library's epoch
    time at 1 thread over its time at the other counts."""
    libs = ("fastmlp", "fastmlp_bf16", "torch", "jax")
    one = {r["config"]: r["seconds"] for r in rows if r["threads"] == 1}
    more = [r for r in rows if r["threads"] > 1 and r["config"] in one]
    if not more:
        return
    print("\nspeed-up over 1 thread (1-thread time / this time):")
    print(f"{'config':<8}{'thr':>4}" + "".join(f"{k:>14}" for k in libs))
    nan = float("nan")
    for r in more:
        base, s = one[r["config"]], r["seconds"]
        print(f"{r['config']:<8}{r['threads']:>4}" + "".join(
            f"{(base[k] / s[k] if s.get(k) and base.get(k) else nan):>14.2f}" for k in libs))


def print_split(rows, key, title):
    """The epoch split r[key] of each row, in percent of its wall time."""
    print(title)
    print(f"{'config':<8}{'thr':>4}" + "".join(f"{k:>10}" for k in SPLIT_PARTS))
    for r in rows:
        split = r.get(key)
        if split:
            total = sum(split.values())
            print(f"{r['config']:<8}{r['threads']:>4}"
                  + "".join(f"{100 * split[k] / total:>10.1f}" for k in SPLIT_PARTS))


def draw_chart(rows, path):
    """Bar chart of epoch times (log scale) per configuration and thread
    count; needs matplotlib (optional: skipped with a message if absent)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no chart drawn", file=sys.stderr)
        return
    libs = [("fastmlp", "fastmlp (float32)"), ("fastmlp_bf16", "fastmlp (bfloat16 products)"),
            ("sklearn_f32", "scikit-learn float32"), ("sklearn_f64", "scikit-learn float64"),
            ("torch", "PyTorch"), ("torch_bf16", "PyTorch bfloat16 autocast"), ("jax", "JAX")]
    libs = [(k, label) for k, label in libs if all(k in r["seconds"] for r in rows)]
    labels = [f"{r['config']}\n{r['threads']} thread{'s' if r['threads'] > 1 else ''}"
              for r in rows]
    x = np.arange(len(rows))
    width = 0.8 / len(libs)
    fig, ax = plt.subplots(figsize=(max(6, 1.4 * len(rows)), 4))
    for i, (key, label) in enumerate(libs):
        ax.bar(x + (i - (len(libs) - 1) / 2) * width, [r["seconds"][key] for r in rows],
               width, label=label)
    ax.set_xticks(x, labels)
    ax.set_yscale("log")
    ax.set_ylabel("seconds per epoch (lower is better)")
    ax.set_title("One training epoch, same network and batch size")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"chart saved to {path}")


def cpu_model():
    """The CPU's model name (Linux /proc/cpuinfo), or platform.processor()."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def machine():
    return {"platform": platform.platform(), "processor": cpu_model(),
            "cpus": os.cpu_count(), "python": platform.python_version(),
            "fastmlp": fastmlp.__version__, **fastmlp._kernels._runtime_info()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs (median)")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="fraction of each configuration's samples (for quick runs)")
    parser.add_argument("--json", help="save the rows and the machine as JSON here")
    parser.add_argument("--png", help="draw the epoch times as a bar chart here")
    parser.add_argument("--from-json", help="redraw table and chart from a saved run")
    parser.add_argument("--libs", nargs="+", default=list(LIBS), choices=list(LIBS),
                        help="libraries to time (fastmlp's float32 epoch always runs)")
    parser.add_argument("--baseline", metavar="PATH",
                        help="compare the installed fastmlp with the build at PATH, same run")
    parser.add_argument("--rounds", type=int, default=5,
                        help="--baseline: alternating subprocess pairs per row (median)")
    parser.add_argument("--dtypes", nargs="+", default=["float32", "bfloat16"],
                        choices=["float32", "bfloat16"], help="--baseline: compute types")
    parser.add_argument("--fm-worker", nargs=5,
                        metavar=("CONFIG_JSON", "THREADS", "EPOCHS", "SCALE", "DTYPE"),
                        help=argparse.SUPPRESS)  # internal: one build's timing, see fm_seconds
    parser.add_argument("--jax-worker", nargs=4, metavar=("CONFIG", "THREADS", "EPOCHS", "SCALE"),
                        help=argparse.SUPPRESS)  # internal: one JAX timing, see jax_seconds
    args = parser.parse_args(argv)
    if args.jax_worker:
        name, threads, epochs, scale = args.jax_worker
        jax_worker(name, int(threads), int(epochs), float(scale))
        return
    if args.fm_worker:
        name, threads, epochs, scale, dtype = args.fm_worker
        fm_worker(json.loads(name), int(threads), int(epochs), float(scale), dtype)
        return
    if args.baseline:
        print(f"CPU: {cpu_model()}; load average {os.getloadavg()}; "
              f"old: {args.baseline}, new: the installed fastmlp")
        rows = compare_builds(args.configs, args.threads, args.epochs, args.scale,
                              args.baseline, args.rounds, args.dtypes)
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"machine": machine(), "baseline": args.baseline, "rows": rows}, f,
                          indent=1)
        return
    if args.from_json:
        with open(args.from_json) as f:
            saved = json.load(f)
        rows, peak, mach = saved["rows"], saved["peak_gflops"], saved.get("machine")
    else:
        rows, peak = run(args.configs, args.threads, args.epochs, args.scale, args.libs)
        mach = None
    print_table(rows, peak, mach)
    if args.png:
        draw_chart(rows, args.png)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine(), "peak_gflops": peak, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
