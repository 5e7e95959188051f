"""
Training with bfloat16 products
===============================

``compute_dtype="bfloat16"`` makes every matrix product of training and
prediction multiply bfloat16 numbers (8 bits of mantissa instead of
float32's 24) and add in float32; the weights, the optimizer and everything
else stay float32. On CPUs with bfloat16 instructions (AMX on Intel
Sapphire Rapids and later, AVX512_BF16 on AMD Zen 4 and Intel Cooper Lake)
the products run several times faster; elsewhere they are emulated, with
the same results and no speed-up (fitting then warns once).

Here the same network is trained in float32 and with bfloat16 products on
the digits: the loss curves and accuracies nearly coincide. The first
figure shows the rounding a single product makes.

Run: ``python bfloat16.py``
"""
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from fastmlp import MLPClassifier, kernels, show_config

warnings.filterwarnings("ignore", category=ConvergenceWarning)
# On CPUs without bfloat16 instructions, fitting warns that the products
# are emulated; the example runs the same either way.
warnings.filterwarnings("ignore", message=".*emulat.*")
show_config()  # "bfloat16 tier" names the instructions the products use here

# %%
# The rounding of one product
# ---------------------------
# :func:`fastmlp.kernels.gemm` takes the same ``compute_dtype``. bfloat16
# keeps about 3 significant decimal digits of each input (float32: 7), so
# a product's error against the exact one is about a thousand times
# float32's: small next to the noise of stochastic gradient descent.
rng = np.random.default_rng(0)
a = rng.standard_normal((200, 256)).astype(np.float32)
b = rng.standard_normal((256, 64)).astype(np.float32)
exact = a.astype(np.float64) @ b.astype(np.float64)
errors = {}
for dtype in [None, "bfloat16"]:
    product = kernels.gemm(a, b, compute_dtype=dtype)
    errors["float32" if dtype is None else "bfloat16"] = np.abs(product - exact).ravel()
    print(f"{'float32' if dtype is None else 'bfloat16':>8}: largest error "
          f"{np.abs(product - exact).max():.2e} (entries of size ~{np.abs(exact).mean():.0f})")
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.hist([np.log10(e + 1e-12) for e in errors.values()], bins=50, label=list(errors))
ax.set_xlabel("log10 |error| of each entry of a 200 x 256 x 64 product")
ax.legend()
fig.tight_layout()

# %%
# Training both ways
# ------------------
X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split((X / 16).astype(np.float32), y,
                                                    test_size=0.3, random_state=0, stratify=y)
models = {}
for name, dtype in [("float32", None), ("bfloat16 products", "bfloat16")]:
    clf = MLPClassifier(hidden_layer_sizes=(128, 64), compute_dtype=dtype, max_iter=40,
                        random_state=0).fit(X_train, y_train)
    models[name] = clf
    print(f"{name:>18}: weights {clf.coefs_[0].dtype}, final loss {clf.loss_curve_[-1]:.4f}, "
          f"test accuracy {clf.score(X_test, y_test):.3f}")
same = (models["float32"].predict(X_test) == models["bfloat16 products"].predict(X_test)).mean()
print(f"the two models agree on {same:.1%} of the test images")

fig, ax = plt.subplots(figsize=(6, 4))
for name, clf in models.items():
    ax.plot(range(1, clf.n_iter_ + 1), clf.loss_curve_, label=name)
ax.set_yscale("log")
ax.set_xlabel("epoch")
ax.set_ylabel("training loss")
ax.legend()
fig.tight_layout()
plt.show()
