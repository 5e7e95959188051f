"""Callbacks, the progress bar and the learning-curve plot."""
import pickle
import sys
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from fastmlp import MLPClassifier
from fastmlp.callbacks import EarlyStopping, ModelCheckpoint
from conftest import require_module


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@pytest.fixture
def data():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.3, random_state=0, stratify=y)


def test_callbacks_see_every_epoch_and_can_stop(data):
    X_tr, X_val, y_tr, y_val = data
    seen = []

    def record(est, logs):
        seen.append(dict(logs))
        return logs["epoch"] == 4  # stop after the 4th epoch

    est = MLPClassifier(hidden_layer_sizes=(20,), max_iter=50, random_state=0,
                        callbacks=[record]).fit(X_tr, y_tr, validation_data=(X_val, y_val))
    assert est.n_iter_ == 4 and [s["epoch"] for s in seen] == [1, 2, 3, 4]
    assert seen[-1]["loss"] == est.loss_curve_[-1]
    assert seen[-1]["validation_score"] == est.validation_scores_[-1]
    assert seen[-1]["validation_loss"] == est.validation_loss_curve_[-1]
    assert seen[-1]["learning_rate"] == 0.001


def test_early_stopping_callback_restores_the_best_epoch(data):
    X_tr, X_val, y_tr, y_val = data
    stopper = EarlyStopping(monitor="validation_loss", patience=3)
    est = MLPClassifier(hidden_layer_sizes=(100,), max_iter=400, learning_rate_init=0.01,
                        alpha=0.0, random_state=0, callbacks=[stopper])
    est.fit(X_tr, y_tr, validation_data=(X_val, y_val))
    assert est.n_iter_ < 400 and stopper.stopped_epoch_ == est.n_iter_
    best = int(np.argmin(est.validation_loss_curve_)) + 1
    assert stopper.best_epoch_ == best and best <= est.n_iter_ - 3
    # The model holds the best epoch's weights: its validation loss is the best one.
    assert est._validation_loss(X_val, est._target_matrix(y_val, X_val.dtype)) == \
        pytest.approx(min(est.validation_loss_curve_), rel=1e-12)
    # clone() gives a fresh callback; monitoring something absent is an error.
    assert clone(est).callbacks[0].best_ is None
    with pytest.raises(ValueError, match="monitors 'validation_loss'"):
        MLPClassifier(max_iter=3, callbacks=[EarlyStopping()]).fit(X_tr, y_tr)


def test_checkpoint_saves_loadable_models(tmp_path, data):
    X_tr, X_val, y_tr, y_val = data
    ckpt = ModelCheckpoint(str(tmp_path / "model-{epoch:02d}.pkl"), every=2)
    est = MLPClassifier(hidden_layer_sizes=(10,), max_iter=5, random_state=0,
                        callbacks=[ckpt]).fit(X_tr, y_tr)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["model-02.pkl", "model-04.pkl"]
    with open(tmp_path / "model-04.pkl", "rb") as f:
        saved = pickle.load(f)
    assert saved.n_iter_ == 4 and est.n_iter_ == 5
    assert saved.loss_curve_ == est.loss_curve_[:4]
    assert saved.predict(X_val).shape == y_val.shape


def test_progress_bar(capsys, data):
    require_module("tqdm")
    X_tr, _, y_tr, _ = data
    MLPClassifier(hidden_layer_sizes=(10,), max_iter=3, progress=True).fit(X_tr, y_tr)
    assert "MLPClassifier" in capsys.readouterr().err


def test_progress_without_tqdm_says_what_to_install(monkeypatch, data):
    X_tr, _, y_tr, _ = data
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    with pytest.raises(ImportError, match="pip install tqdm"):
        MLPClassifier(max_iter=2, progress=True).fit(X_tr, y_tr)


def test_plot_learning_curve(tmp_path, data):
    matplotlib = require_module("matplotlib")
    matplotlib.use("Agg")
    from fastmlp.plot import plot_learning_curve

    X_tr, X_val, y_tr, y_val = data
    est = MLPClassifier(hidden_layer_sizes=(20,), max_iter=8, random_state=0).fit(
        X_tr, y_tr, validation_data=(X_val, y_val))
    ax = plot_learning_curve(est)
    assert [line.get_label() for line in ax.get_lines()] == ["training loss", "validation loss"]
    assert ax.right_ax.get_lines()[0].get_label() == "validation score"
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), est.loss_curve_)
    ax.figure.savefig(tmp_path / "curve.png")
    assert (tmp_path / "curve.png").stat().st_size > 1000
    with pytest.raises(ValueError, match="no loss_curve_"):
        plot_learning_curve(MLPClassifier(solver="lbfgs", max_iter=5).fit(X_tr, y_tr))
