"""Peak memory of fit: what training adds to the resident set beyond its input.

For each configuration of bench_train.py, a fresh subprocess per library
creates the data, resets the kernel's resident-set high-water mark
(/proc/self/clear_refs), fits for `--epochs` epochs and reads the new mark
(VmHWM). The figure reported is that peak minus the resident set just before
fit (which already holds the input X and y), against the issue's budget:
3 x the model's size + 64 MiB (the input itself is not copied).

Linux only (/proc). Usage::

    python bench/bench_memory.py [--configs mnist deep] [--epochs 2] [--json PATH]
"""
import argparse
import json
import os
import subprocess
import sys

MIB = 1024.0 * 1024.0

_CHILD = r"""
import json, sys, warnings
import numpy as np
from fastmlp._bench import CONFIGS, make_data

def status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(key)

lib, name, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3])
cfg = CONFIGS[name]
X, y = make_data(cfg, 1.0)
kind = "Classifier" if cfg["task"] == "classification" else "Regressor"
if lib == "fastmlp":
    import fastmlp as mod
else:
    from sklearn import neural_network as mod
est = getattr(mod, "MLP" + kind)(hidden_layer_sizes=cfg["hidden"], batch_size=cfg["batch"],
                                 max_iter=epochs, random_state=0)
import gc; gc.collect()
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # reset VmHWM to the current resident set
before = status("VmRSS")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    est.fit(X, y)
peak = status("VmHWM")
model = sum(c.nbytes for c in est.coefs_) + sum(b.nbytes for b in est.intercepts_)
print(json.dumps({"before": before, "peak": peak, "input": X.nbytes + y.nbytes,
                  "model": model}))
"""


def measure(lib, name, epochs):
    out = subprocess.run([sys.executable, "-c", _CHILD, lib, name, str(epochs)],
                         check=True, capture_output=True, text=True,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=["mnist", "tabular", "deep"])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--json", help="save the rows as JSON here")
    args = parser.parse_args(argv)
    rows = []
    print(f"{'config':<8}{'input MiB':>10}{'model MiB':>10}{'budget MiB':>11}"
          f"{'fastmlp +MiB':>13}{'sklearn +MiB':>13}{'within':>8}")
    for name in args.configs:
        r = {lib: measure(lib, name, args.epochs) for lib in ("fastmlp", "sklearn")}
        fm = r["fastmlp"]
        budget = 3 * fm["model"] + 64 * MIB
        added = {lib: (v["peak"] - v["before"]) for lib, v in r.items()}
        rows.append({"config": name, "input_bytes": fm["input"], "model_bytes": fm["model"],
                     "budget_bytes": budget, "added_bytes": added,
                     "within_budget": added["fastmlp"] <= budget})
        print(f"{name:<8}{fm['input'] / MIB:>10.1f}{fm['model'] / MIB:>10.2f}{budget / MIB:>11.1f}"
              f"{added['fastmlp'] / MIB:>13.1f}{added['sklearn'] / MIB:>13.1f}"
              f"{'yes' if added['fastmlp'] <= budget else 'NO':>8}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"epochs": args.epochs, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
