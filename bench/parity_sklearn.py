"""How close fastmlp's float64 fits are to scikit-learn's: the figures behind
tests/test_sklearn_parity.py's tolerances and the README's parity claim.

Runs every float64 stochastic fit of that test module (its own functions,
with the assertions replaced by measurements) and prints the largest
|ours - theirs| / max|theirs| over the coefs_/intercepts_ arrays, the largest
relative loss_curve_ difference and the largest absolute difference of the
2-D float64 predictions compared. Run per kernel tier:

    for isa in avx512 avx2 generic; do FASTMLP_ISA=$isa python bench/parity_sklearn.py; done
"""
import os
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
import test_sklearn_parity as T  # noqa: E402

weights, curves, predictions = [], [], []


def measure_fit(ours, theirs, *args, **kwargs):
    if ours.coefs_[0].dtype != np.float64 or ours.solver == "lbfgs":
        return
    pairs = zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_)
    weights.append(max(np.max(np.abs(a - b)) / np.abs(b).max() for a, b in pairs))
    curve = np.asarray(theirs.loss_curve_)
    curves.append(np.max(np.abs(np.asarray(ours.loss_curve_) - curve) / np.abs(curve)))


def measure_close(actual, desired, *args, **kwargs):
    actual, desired = np.asarray(actual), np.asarray(desired)
    if actual.dtype == np.float64 and actual.shape == desired.shape and actual.ndim == 2:
        predictions.append(np.max(np.abs(actual - desired)))


def main():
    warnings.simplefilter("ignore")
    T.assert_same_fit = measure_fit
    np.testing.assert_allclose = measure_close
    for opts in T.STOCHASTIC:
        for activation in ["relu", "logistic", "tanh", "identity"]:
            T.test_classifier_multiclass_stochastic(opts, activation)
    for solver in ["adam", "sgd"]:
        T.test_classifier_binary_and_string_labels(solver)
    T.test_classifier_multilabel()
    for opts in T.STOCHASTIC[:3]:
        T.test_regressor_stochastic(opts)
    T.test_regressor_multi_output_and_poisson()
    T.test_sample_weight_early_stopping_and_no_shuffle()
    T.test_stopping_rule_same_iteration()
    T.test_partial_fit_and_warm_start()
    for fmt in ["csr", "csc"]:
        T.test_sparse_input(fmt, np.float64)
    print(f"{os.environ.get('FASTMLP_ISA', 'native')}: weights/scale {max(weights):.2e}  "
          f"loss_curve rel {max(curves):.2e}  predictions abs {max(predictions):.2e}")


if __name__ == "__main__":
    main()
