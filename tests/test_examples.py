"""The examples in examples/ run and show what they claim."""
import os
import runpy

from conftest import require_module

EXAMPLES = os.path.join(os.path.dirname(__file__), os.pardir, "examples")


def test_perceptron_cannot_learn_xor_but_an_mlp_can(capsys):
    module = runpy.run_path(os.path.join(EXAMPLES, "perceptron_xor.py"))
    results = module["main"]()
    assert results["perceptron"] <= 0.75
    assert results["mlp"] == 1.0
    assert "2-2-1 MLP" in capsys.readouterr().out


def test_learning_curve_example(tmp_path):
    require_module("matplotlib")
    module = runpy.run_path(os.path.join(EXAMPLES, "learning_curve.py"))
    est = module["main"](str(tmp_path / "curve.png"))
    assert (tmp_path / "curve.png").stat().st_size > 1000
    assert est.n_iter_ < 200  # the callback stopped it
