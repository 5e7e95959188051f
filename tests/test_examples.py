"""The examples in examples/ (the documentation's gallery) run on their own
and show what they claim.

Each example is copied alone into a temporary folder outside the
repository and run from there, with no folder of the repository on
sys.path: what a reader who downloads one script from the gallery gets.
Only the installed fastmlp and the example's third-party imports are
available.
"""
import ast
import os
import runpy
import shutil
import sys

import numpy as np
import pytest

from conftest import require_module

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), os.pardir))
EXAMPLES = os.path.join(ROOT, "examples")
SCRIPTS = sorted(name for name in os.listdir(EXAMPLES) if name.endswith(".py"))


def _inside_repo(path):
    path = os.path.realpath(path or os.getcwd())
    return path == ROOT or path.startswith(ROOT + os.sep)


def _imports(name):
    tree = ast.parse(open(os.path.join(EXAMPLES, name), encoding="utf-8").read())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            found.add((node.module or "").split(".")[0] if node.level == 0 else ".")
    return found


@pytest.fixture
def run_example(tmp_path, monkeypatch):
    """Copy an example alone into an empty folder outside the repository and
    run it there as a script, without the repository on sys.path and with
    figures drawn off screen; return its globals."""
    require_module("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import fastmlp

    assert not _inside_repo(str(tmp_path)), "the temporary folder is inside the repository"
    # The installed package stays importable (an editable install lives in
    # src/); every other folder of the repository (tests/, examples/, the
    # root) leaves sys.path.
    package_parent = os.path.dirname(os.path.dirname(os.path.realpath(fastmlp.__file__)))
    kept = [p for p in sys.path if not _inside_repo(p) or os.path.realpath(p) == package_parent]
    monkeypatch.setattr(sys, "path", kept)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(plt, "show", lambda *args, **kwargs: None)

    def run(name, *argv):
        for module in _imports(name) - {"fastmlp"}:
            if module in ("onnx", "onnxruntime", "tqdm"):
                require_module(module)
        script = tmp_path / name
        shutil.copy(os.path.join(EXAMPLES, name), script)
        monkeypatch.setattr(sys, "argv", [str(script), *argv])
        try:
            return runpy.run_path(str(script), run_name="__main__")
        finally:
            plt.close("all")

    return run


def _perceptron_xor(module, folder):
    # A line gets at most 3 of XOR's 4 points; one hidden layer gets all.
    assert module["results"]["perceptron"] <= 0.75
    assert module["results"]["mlp"] == 1.0


def _learning_curve(module, folder):
    assert (folder / "curve.png").stat().st_size > 1000
    assert module["est"].n_iter_ < 200  # the callback stopped it


def _optimizers(module, folder):
    assert set(module["curves"]) == set(module["SOLVERS"])  # one line per solver
    solvers = {params["solver"] for params in module["SOLVERS"].values()}
    assert solvers == {"sgd", "adam", "rmsprop", "adagrad", "adamw", "nadam"}
    assert min(module["accuracy"].values()) > 0.9


def _learning_rate_schedules(module, folder):
    rates = module["rates"]
    assert set(rates) == set(module["SCHEDULES"])
    assert len(set(rates["constant"])) == 1
    assert rates["adaptive"][-1] < rates["adaptive"][0]
    from fastmlp import schedules

    used = {type(params["learning_rate"]).__name__ for params in module["SCHEDULES"].values()}
    assert set(schedules.__all__) <= used  # every schedule object of fastmlp.schedules
    one_cycle = rates["OneCycle(max_lr=0.2)"]
    assert max(one_cycle) > one_cycle[0] and one_cycle[-1] < one_cycle[0]  # warm-up, then down


def _overfitting(module, folder):
    plain = module["results"]["no regularisation"].validation_loss_curve_
    assert plain[-1] > min(plain)  # the validation loss turned up
    assert module["results"]["dropout 0.5"].validation_loss_curve_[-1] < plain[-1]
    assert module["results"]["batch norm"].validation_loss_curve_[-1] < plain[-1]


def _cross_validation(module, folder):
    # The drop-in: the same five fold scores as scikit-learn's MLPClassifier.
    np.testing.assert_array_equal(module["scores"]["fastmlp"], module["scores"]["scikit-learn"])


def _keras_workflow(module, folder):
    assert module["model"].n_iter_ < module["model"].max_iter  # early stopping
    assert module["same"]  # the reloaded model predicts the same
    assert not os.path.exists(module["checkpoints"])  # cleaned up


def _keras_sequential(module, folder):
    history = module["history"]
    assert sorted(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert len(history.epoch) < 60  # early stopping
    assert module["accuracy"] > 0.95
    assert module["same"]  # the estimator predicts what the model predicts


def _regression(module, folder):
    errors = module["errors"]
    # The robust losses follow the clean curve, the squared error the outliers.
    assert errors["absolute_error"] < errors["squared_error"]
    assert errors["huber (delta 0.3)"] < errors["squared_error"]


def _class_weight(module, folder):
    assert module["recall"]["balanced"] > module["recall"]["none"]


def _maxout(module, folder):
    assert module["reg"].coefs_[0].shape == (1, 5)  # the last unit has 5 pieces
    assert module["clf"].coefs_[0].shape == (64, 128)  # 64 units x 2 pieces


def _bfloat16(module, folder):
    models = module["models"]
    assert models["bfloat16 products"].coefs_[0].dtype == np.float32  # float32 master weights
    accuracy = {name: clf.score(module["X_test"], module["y_test"]) for name, clf in models.items()}
    assert abs(accuracy["float32"] - accuracy["bfloat16 products"]) < 0.02
    assert module["errors"]["bfloat16"].max() > 100 * module["errors"]["float32"].max()


def _onnx_export(module, folder):
    assert np.array_equal(module["label"], module["clf"].predict(module["X_test"]))
    assert module["difference"] < 1e-4
    assert not os.path.exists(module["folder"])  # cleaned up


# What each example claims.
CLAIMS = {
    "perceptron_xor.py": _perceptron_xor,
    "learning_curve.py": _learning_curve,
    "optimizers.py": _optimizers,
    "learning_rate_schedules.py": _learning_rate_schedules,
    "overfitting.py": _overfitting,
    "cross_validation.py": _cross_validation,
    "keras_workflow.py": _keras_workflow,
    "keras_sequential.py": _keras_sequential,
    "regression.py": _regression,
    "class_weight.py": _class_weight,
    "maxout.py": _maxout,
    "bfloat16.py": _bfloat16,
    "onnx_export.py": _onnx_export,
}


def test_every_example_has_its_claims_checked():
    assert set(CLAIMS) == set(SCRIPTS) - {"activations.py"}  # activations.py is only run


def test_examples_import_no_local_module():
    # A downloaded example has no sibling modules: no relative imports, no
    # import of a file in examples/ or tests/.
    local = {name[:-3] for name in os.listdir(EXAMPLES) if name.endswith(".py")}
    local |= {name[:-3] for name in os.listdir(os.path.join(ROOT, "tests")) if name.endswith(".py")}
    for name in SCRIPTS:
        imports = _imports(name)
        assert "." not in imports and not imports & local, (name, imports & local)


def test_examples_read_no_file_of_the_repository():
    for name in SCRIPTS:
        text = open(os.path.join(EXAMPLES, name), encoding="utf-8").read()
        assert "tests/data" not in text and "__file__" not in text, name


def test_examples_draw_a_figure():
    for name in SCRIPTS:
        text = open(os.path.join(EXAMPLES, name), encoding="utf-8").read()
        assert "plt.subplots" in text or "plot_learning_curve(" in text, name


@pytest.mark.parametrize("name", SCRIPTS)
def test_example_runs_alone_outside_the_repository(run_example, tmp_path, name):
    argv = [str(tmp_path / "curve.png")] if name == "learning_curve.py" else []
    module = run_example(name, *argv)
    check = CLAIMS.get(name)
    if check is not None:
        check(module, tmp_path)
