"""The examples in examples/ run and show what they claim."""
import os
import runpy

EXAMPLES = os.path.join(os.path.dirname(__file__), os.pardir, "examples")


def test_perceptron_cannot_learn_xor_but_an_mlp_can(capsys):
    module = runpy.run_path(os.path.join(EXAMPLES, "perceptron_xor.py"))
    results = module["main"]()
    assert results["perceptron"] <= 0.75
    assert results["mlp"] == 1.0
    assert "2-2-1 MLP" in capsys.readouterr().out
