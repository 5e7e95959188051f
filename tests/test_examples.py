"""The examples in examples/ (the documentation's gallery) run and show what
they claim."""
import os
import runpy
import sys

import numpy as np
import pytest

from conftest import require_module

EXAMPLES = os.path.normpath(os.path.join(os.path.dirname(__file__), os.pardir, "examples"))
SCRIPTS = sorted(name for name in os.listdir(EXAMPLES)
                 if name.endswith(".py") and not name.startswith("_"))


@pytest.fixture
def run_example(tmp_path, monkeypatch):
    """Run an example as a script, from an empty folder (so nothing it
    writes lands in the repository), with examples/ importable (for
    _datasets) and figures drawn off screen; return its globals."""
    require_module("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(EXAMPLES)
    monkeypatch.setattr(plt, "show", lambda *args, **kwargs: None)

    def run(name, *argv):
        monkeypatch.setattr(sys, "argv", [os.path.join(EXAMPLES, name), *argv])
        try:
            return runpy.run_path(os.path.join(EXAMPLES, name), run_name="__main__")
        finally:
            plt.close("all")

    return run


def _perceptron_xor(module, argv_dir):
    # A line gets at most 3 of XOR's 4 points; one hidden layer gets all.
    assert module["results"]["perceptron"] <= 0.75
    assert module["results"]["mlp"] == 1.0


def _learning_curve(module, argv_dir):
    assert (argv_dir / "curve.png").stat().st_size > 1000
    assert module["est"].n_iter_ < 200  # the callback stopped it


def _optimizers(module, argv_dir):
    assert set(module["curves"]) == set(module["SOLVERS"])  # one line per solver


def _learning_rate_schedules(module, argv_dir):
    rates = module["rates"]
    assert set(rates) == set(module["SCHEDULES"])
    assert len(set(rates["constant"])) == 1
    assert rates["adaptive"][-1] < rates["adaptive"][0]


def _overfitting(module, argv_dir):
    plain = module["results"]["no regularisation"].validation_loss_curve_
    assert plain[-1] > min(plain)  # the validation loss turned up
    assert module["results"]["dropout 0.5"].validation_loss_curve_[-1] < plain[-1]


def _cross_validation(module, argv_dir):
    # The drop-in: the same five fold scores as scikit-learn's MLPClassifier.
    np.testing.assert_array_equal(module["scores"]["fastmlp"], module["scores"]["scikit-learn"])


def _keras_workflow(module, argv_dir):
    assert module["model"].n_iter_ < 20  # early stopping
    assert module["same"]  # the reloaded model predicts the same
    assert not os.path.exists(module["checkpoints"])  # cleaned up


# What each example claims (examples without an entry are only run).
CLAIMS = {
    "perceptron_xor.py": _perceptron_xor,
    "learning_curve.py": _learning_curve,
    "optimizers.py": _optimizers,
    "learning_rate_schedules.py": _learning_rate_schedules,
    "overfitting.py": _overfitting,
    "cross_validation.py": _cross_validation,
    "keras_workflow.py": _keras_workflow,
}


def test_the_claims_are_about_existing_examples():
    assert set(CLAIMS) <= set(SCRIPTS)


@pytest.mark.parametrize("name", SCRIPTS)
def test_example(run_example, tmp_path, name):
    argv = [str(tmp_path / "curve.png")] if name == "learning_curve.py" else []
    module = run_example(name, *argv)
    check = CLAIMS.get(name)
    if check is not None:
        check(module, tmp_path)
