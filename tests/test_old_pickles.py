"""Models pickled by fastmlp before the network became one description
(commit 232a889, tests/data/pickles/make_pickles.py) load, predict exactly
what they predicted then (a sparse input: to rounding, its first layer now
summed before the bias), and keep training (their optimizer state fits the
flat layout the engine computes now).

"Exactly" holds under the kernels that made the fixtures: the `avx512` set,
with bfloat16 products on the `avx512_bf16` tier. Another set adds the same
products in another order (its own register tile and vector width), so
there the outputs agree to rounding: a few float64 or float32 units in the
last place of each dot product, relative to the sum of its terms' sizes."""
import pathlib
import pickle
import warnings

import numpy as np
import pytest

from fastmlp import MLPClassifier, _kernels

HERE = pathlib.Path(__file__).parent / "data" / "pickles"
CASES = sorted(p.stem for p in HERE.glob("*.pkl"))
MADE_WITH = {"isa": "avx512", "bf16_tier": "avx512_bf16"}
# Outputs under another kernel set, relative to the recorded ones, at most
# (measured under generic and avx2: 5e-14 float64, 7.5e-6 float32 for values
# over 1e-6, the largest where a hidden unit's sum nearly cancels).
ROUNDING = {np.dtype(np.float64): dict(rtol=1e-12, atol=1e-14),
            np.dtype(np.float32): dict(rtol=5e-5, atol=1e-6)}


def _load(name):
    with open(HERE / f"{name}.pkl", "rb") as f, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a version warning is fine
        return pickle.load(f)


def test_the_fixtures_are_there():
    assert len(CASES) == 11


def _same_kernels(model):
    """Whether this process runs the kernels that recorded the fixtures'
    outputs (for a bfloat16 model, also the bfloat16 tier)."""
    info = _kernels._runtime_info()
    if info["isa"] != MADE_WITH["isa"]:
        return False
    return model.compute_dtype != "bfloat16" or info["bf16_tier"] == MADE_WITH["bf16_tier"]


@pytest.mark.parametrize("name", CASES)
def test_old_pickle_predicts_the_same(name):
    import scipy.sparse as sp

    record = _load(name)
    model, X = record["model"], record["X"]
    same_kernels = _same_kernels(model)
    for method, expected in record["outputs"].items():
        got = getattr(model, method)(X)
        if not sp.issparse(X):
            if same_kernels or expected.dtype.kind != "f":
                # Bit for bit: the same weights through the same kernels
                # (labels: the fixtures' top two classes are far apart).
                np.testing.assert_array_equal(got, expected, err_msg=method)
            else:
                np.testing.assert_allclose(got, expected, err_msg=method,
                                           **ROUNDING[expected.dtype])
            continue
        # A sparse X's first layer now sums its values, then adds the bias,
        # as the dense products and scikit-learn do (it added the bias first
        # when the pickle was made): the dense input's outputs bit for bit,
        # the recorded ones to rounding.
        np.testing.assert_array_equal(got, getattr(model, method)(X.toarray()), err_msg=method)
        np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-15, err_msg=method)


@pytest.mark.parametrize("name", CASES)
def test_old_pickle_keeps_training(name):
    record = _load(name)
    model, X, y = record["model"], record["X"], record["y"]
    if model.solver == "lbfgs":
        model.set_params(max_iter=2, warm_start=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X, y)
    else:
        classes = {"classes": model.classes_} if isinstance(model, MLPClassifier) else {}
        model.partial_fit(X, y, **classes)
    assert model.network_.n_params == len(model.optimizer_.state[0]) if hasattr(
        model, "optimizer_") else True
    assert all(np.isfinite(c).all() for c in model.coefs_)
