"""Callbacks, the progress bar and the learning-curve plot."""
import pickle
import sys

import numpy as np
import pytest
from sklearn.base import clone

from fastmlp import MLPClassifier
from fastmlp.callbacks import EarlyStopping, ModelCheckpoint
from conftest import require_module, validation_loss




def test_callbacks_see_every_epoch_and_can_stop(digits_split):
    X_tr, X_val, y_tr, y_val = digits_split
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


def test_early_stopping_callback_restores_the_best_epoch(digits_split):
    X_tr, X_val, y_tr, y_val = digits_split
    stopper = EarlyStopping(monitor="validation_loss", patience=3, restore_best_weights=True)
    est = MLPClassifier(hidden_layer_sizes=(100,), max_iter=400, learning_rate_init=0.01,
                        alpha=0.0, random_state=0, callbacks=[stopper])
    est.fit(X_tr, y_tr, validation_data=(X_val, y_val))
    assert est.n_iter_ < 400 and stopper.stopped_epoch_ == est.n_iter_
    best = int(np.argmin(est.validation_loss_curve_)) + 1
    assert stopper.best_epoch_ == best and best <= est.n_iter_ - 3
    # The model holds the best epoch's weights: its validation loss is the best one.
    assert validation_loss(est, X_val, y_val) == \
        pytest.approx(min(est.validation_loss_curve_), rel=1e-12)
    # clone() gives a fresh callback; monitoring something absent is an error.
    assert clone(est).callbacks[0].best_ is None
    with pytest.raises(ValueError, match="monitors 'validation_loss'"):
        MLPClassifier(max_iter=3, callbacks=[EarlyStopping()]).fit(X_tr, y_tr)


def test_early_stopping_has_keras_defaults(digits_split):
    """Keras's defaults, as the docstring promises: patience=0 (stop at the
    first epoch that does not improve) and restore_best_weights=False (keep
    the last epoch's weights)."""
    import inspect

    defaults = {k: p.default for k, p in inspect.signature(EarlyStopping).parameters.items()}
    assert defaults == {"monitor": "validation_loss", "patience": 0, "min_delta": 0.0,
                        "mode": "auto", "restore_best_weights": False}
    X_tr, X_val, y_tr, y_val = digits_split
    stopper = EarlyStopping(monitor="validation_score")
    est = MLPClassifier(hidden_layer_sizes=(30,), max_iter=300, learning_rate_init=0.05,
                        random_state=0, callbacks=[stopper])
    est.fit(X_tr, y_tr, validation_data=(X_val, y_val))
    scores = est.validation_scores_
    # Stopped at the first epoch whose score is not above the best before it.
    first_miss = next(i for i in range(1, len(scores)) if scores[i] <= max(scores[:i]))
    assert stopper.stopped_epoch_ == est.n_iter_ == first_miss + 1
    # The weights are the last epoch's, not the best one's.
    assert est.score(X_val, y_val) == scores[-1] < stopper.best_


def test_checkpoint_saves_loadable_models(tmp_path, digits_split):
    X_tr, X_val, y_tr, y_val = digits_split
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


def test_progress_bar(capsys, digits_split):
    require_module("tqdm")
    X_tr, _, y_tr, _ = digits_split
    MLPClassifier(hidden_layer_sizes=(10,), max_iter=3, progress=True).fit(X_tr, y_tr)
    assert "MLPClassifier" in capsys.readouterr().err


def test_progress_without_tqdm_says_what_to_install(monkeypatch, digits_split):
    X_tr, _, y_tr, _ = digits_split
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    with pytest.raises(ImportError, match="pip install tqdm"):
        MLPClassifier(max_iter=2, progress=True).fit(X_tr, y_tr)


def test_plot_learning_curve(tmp_path, digits_split):
    matplotlib = require_module("matplotlib")
    matplotlib.use("Agg")
    from fastmlp.plot import plot_learning_curve

    X_tr, X_val, y_tr, y_val = digits_split
    est = MLPClassifier(hidden_layer_sizes=(20,), max_iter=8, random_state=0).fit(
        X_tr, y_tr, validation_data=(X_val, y_val))
    ax = plot_learning_curve(est)
    assert [line.get_label() for line in ax.get_lines()] == ["training loss", "validation loss"]
    assert ax.right_ax.get_lines()[0].get_label() == "validation score"
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), est.loss_curve_)
    ax.figure.savefig(tmp_path / "curve.png")
    assert (tmp_path / "curve.png").stat().st_size > 1000
    with pytest.raises(ValueError, match=r"no loss_curve_: fit it with a stochastic solver "
                       r"\('sgd', 'adam', 'rmsprop', 'adagrad', 'adamw', 'nadam'\)"):
        plot_learning_curve(MLPClassifier(solver="lbfgs", max_iter=5).fit(X_tr, y_tr))



def test_plot_learning_curve_losses_left_metrics_right_each_its_colour(digits_split):
    """The README's scoring=["accuracy", "neg_log_loss"]: neg_log_loss is a
    metric (a score, higher is better), drawn on the right axis; no two
    curves share a colour."""
    matplotlib = require_module("matplotlib")
    matplotlib.use("Agg")
    from fastmlp.plot import plot_learning_curve

    X_tr, X_val, y_tr, y_val = digits_split
    est = MLPClassifier(hidden_layer_sizes=(20,), max_iter=4, random_state=0,
                        scoring=["accuracy", "neg_log_loss"]).fit(
        X_tr, y_tr, validation_data=(X_val, y_val))
    ax = plot_learning_curve(est)
    left, right = ax.get_lines(), ax.right_ax.get_lines()
    assert [line.get_label() for line in left] == ["training loss", "validation loss"]
    assert [line.get_label() for line in right] == ["validation accuracy",
                                                    "validation neg log loss"]
    np.testing.assert_allclose(right[1].get_ydata(), est.history_["validation_neg_log_loss"])
    colors = [matplotlib.colors.to_hex(line.get_color()) for line in left + right]
    assert len(set(colors)) == 4, colors
    assert ax.get_ylabel() == "loss" and ax.right_ax.get_ylabel() == "metrics"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == [line.get_label() for line in left + right]
    matplotlib.pyplot.close(ax.figure)

# --- the Callback base, the public surface, the Keras callbacks ------------------

from fastmlp.callbacks import (  # noqa: E402
    Callback,
    CSVLogger,
    LearningRateScheduler,
    ReduceLROnPlateau,
    TerminateOnNaN,
)


class Recorder(Callback):
    def __init__(self):
        self.calls = []

    def on_train_begin(self, estimator, logs):
        self.calls.append(("train_begin", dict(logs)))

    def on_epoch_begin(self, estimator, logs):
        self.calls.append(("epoch_begin", dict(logs)))

    def on_epoch_end(self, estimator, logs):
        self.calls.append(("epoch_end", logs["epoch"]))

    def on_train_end(self, estimator, logs):
        self.calls.append(("train_end", logs["epoch"]))


def test_hooks_run_in_keras_order(digits_split):
    X_tr, _, y_tr, _ = digits_split
    rec = Recorder()
    est = MLPClassifier((5,), max_iter=2, random_state=0, callbacks=[rec]).fit(X_tr, y_tr)
    assert rec.calls == [("train_begin", {"epoch": 0}),
                         ("epoch_begin", {"epoch": 1, "learning_rate": 0.001}), ("epoch_end", 1),
                         ("epoch_begin", {"epoch": 2, "learning_rate": 0.001}), ("epoch_end", 2),
                         ("train_end", 2)]
    # warm_start continues the numbering; partial_fit: begin once, never end.
    rec.calls.clear()
    est.set_params(warm_start=True, max_iter=1).fit(X_tr, y_tr)
    assert rec.calls[0] == ("train_begin", {"epoch": 2}) and rec.calls[-1] == ("train_end", 3)
    inc = MLPClassifier((5,), random_state=0, callbacks=[rec])
    rec.calls.clear()
    inc.partial_fit(X_tr, y_tr, classes=np.arange(10))
    inc.partial_fit(X_tr, y_tr)
    assert [c[0] for c in rec.calls] == ["train_begin", "epoch_begin", "epoch_end",
                                         "epoch_begin", "epoch_end"]
    # A bare Callback does nothing; plain callables still work beside it.
    seen = []
    MLPClassifier((5,), max_iter=2, callbacks=[Callback(), lambda e, logs: seen.append(1)]).fit(
        X_tr, y_tr)
    assert seen == [1, 1]


def test_weights_and_learning_rate_surface(digits_split):
    X_tr, _, y_tr, _ = digits_split
    est = MLPClassifier((5,), max_iter=2, batch_norm=True, random_state=0).fit(X_tr, y_tr)
    weights = est.get_weights()
    assert len(weights) == 2 + 2 + 4 and weights[0] is not est.coefs_[0]
    proba = est.predict_proba(X_tr)
    for w in est.coefs_ + est.bn_gammas_:
        w *= 3.0
    est.set_weights(weights)
    np.testing.assert_array_equal(est.predict_proba(X_tr), proba)
    with pytest.raises(ValueError, match="what get_weights"):
        est.set_weights(weights[:-1])
    assert est.get_learning_rate() == 0.001
    est.set_learning_rate(0.5)
    assert est.get_learning_rate() == 0.5 == est.optimizer_.learning_rate
    est.set_learning_rate(0.0)  # legal, as in torch
    assert est.get_learning_rate() == 0.0
    with pytest.raises(ValueError, match="finite number >= 0"):
        est.set_learning_rate(-0.1)


SOLVERS = ["sgd", "adam", "rmsprop", "adagrad", "adamw", "nadam"]


@pytest.mark.parametrize("solver", SOLVERS)
def test_scheduler_sets_the_rate_each_epoch_uses(solver, digits_split):
    X_tr, _, y_tr, _ = digits_split
    rates = [0.05, 0.01, 0.002]
    params = dict(hidden_layer_sizes=(10,), solver=solver, shuffle=False, random_state=0,
                  learning_rate_init=rates[0])
    est = MLPClassifier(max_iter=3, callbacks=[LearningRateScheduler(
        lambda epoch, lr: rates[epoch])], **params).fit(X_tr, y_tr)
    assert est.history_["learning_rate"] == rates
    # The same epochs by hand: partial_fit with the rate set in between.
    ref = MLPClassifier(**params)
    for i, rate in enumerate(rates):
        if i:
            ref.set_learning_rate(rate)
        ref.partial_fit(X_tr, y_tr, classes=np.arange(10))
    for a, b in zip(est.coefs_ + est.intercepts_, ref.coefs_ + ref.intercepts_):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="finite number >= 0"):
        MLPClassifier(max_iter=2, callbacks=[LearningRateScheduler(lambda e, lr: -1.0)]).fit(
            X_tr, y_tr)


class _FakeEstimator:
    def __init__(self, lr):
        self.lr = lr

    def get_learning_rate(self):
        return self.lr

    def set_learning_rate(self, lr):
        self.lr = lr


def test_reduce_lr_on_plateau_follows_keras():
    # Worked by hand with Keras's rules: patience 2, cooldown 1, factor 0.5,
    # min_lr 0.2, min_delta 0.01, monitoring a loss.
    values = [1.0, 0.9, 0.895, 0.9, 0.95, 0.96, 0.97, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6]
    cb = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=2, cooldown=1, min_lr=0.2,
                           min_delta=0.01)
    est = _FakeEstimator(1.0)
    rates = []
    for epoch, v in enumerate(values, start=1):
        cb.on_epoch_end(est, {"epoch": epoch, "loss": v})
        rates.append(est.lr)
    # 0.895 and 0.9 do not improve on 0.9 by 0.01: reduction after epoch 4.
    # Epoch 5 ends the cooldown (Keras decrements the counter first, so that
    # epoch already counts): 5 and 6 without improvement, second reduction.
    # Epoch 7 ends that cooldown and counts; 0.5 improves; 0.6 twice: third
    # reduction (to min_lr) after epoch 10; after that the rate is at min_lr.
    assert rates == [1.0, 1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.2, 0.2, 0.2, 0.2]
    assert cb.reductions_ == [(4, 0.5), (6, 0.25), (10, 0.2)]
    with pytest.raises(ValueError, match="factor must be in"):
        ReduceLROnPlateau(factor=1.0)


@pytest.mark.parametrize("solver", SOLVERS)
def test_reduce_lr_on_plateau_in_training(solver, digits_split):
    X_tr, X_val, y_tr, y_val = digits_split
    cb = ReduceLROnPlateau(monitor="validation_accuracy", factor=0.5, patience=1,
                           min_delta=1.0, min_lr=1e-4)  # never improves by 1: every epoch
    est = MLPClassifier((10,), solver=solver, learning_rate_init=0.004, max_iter=6,
                        scoring="accuracy", random_state=0, callbacks=[cb]).fit(
        X_tr, y_tr, validation_data=(X_val, y_val))
    np.testing.assert_allclose(est.history_["learning_rate"],
                               [0.004, 0.004, 0.002, 0.001, 0.0005, 0.00025])
    # Cloned, the callback starts afresh.
    assert clone(est).callbacks[0].reductions_ == []


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_early_stopping_on_any_logged_key(solver, digits_split):
    X_tr, X_val, y_tr, y_val = digits_split
    stopper = EarlyStopping(monitor="validation_balanced_accuracy", patience=2,
                            restore_best_weights=True)
    est = MLPClassifier((30,), solver=solver, learning_rate_init=0.01, max_iter=300,
                        scoring=["balanced_accuracy"], random_state=0, callbacks=[stopper])
    est.fit(X_tr, y_tr, validation_data=(X_val, y_val))
    scores = est.history_["validation_balanced_accuracy"]
    assert stopper.stopped_epoch_ == est.n_iter_ < 300
    assert stopper.best_ == max(scores) and stopper.best_epoch_ == int(np.argmax(scores)) + 1
    from sklearn.metrics import balanced_accuracy_score
    assert balanced_accuracy_score(y_val, est.predict(X_val)) == max(scores)
    # mode="min" on the training loss; mode errors.
    stop_loss = EarlyStopping(monitor="loss", mode="min", patience=1, min_delta=10.0)
    MLPClassifier((5,), max_iter=50, callbacks=[stop_loss]).fit(X_tr, y_tr)
    assert stop_loss.stopped_epoch_ == 2
    with pytest.raises(ValueError, match="mode must be"):
        EarlyStopping(mode="up")
    with pytest.raises(ValueError, match="cannot tell whether 'time'"):
        EarlyStopping(monitor="time")


def test_checkpoint_save_best_only(tmp_path, digits_split):
    X_tr, X_val, y_tr, y_val = digits_split
    ckpt = ModelCheckpoint(str(tmp_path / "best-{epoch:02d}-{validation_loss:.3f}.pkl"),
                           save_best_only=True)
    est = MLPClassifier((10,), max_iter=12, learning_rate_init=0.05, random_state=0,
                        callbacks=[ckpt]).fit(X_tr, y_tr, validation_data=(X_val, y_val))
    losses = est.history_["validation_loss"]
    improving = [e for e in range(1, 13) if losses[e - 1] < min(losses[:e - 1], default=np.inf)]
    assert [int(p.split("best-")[1][:2]) for p in ckpt.saved_] == improving
    assert ckpt.best_ == min(losses)
    with open(ckpt.saved_[-1], "rb") as f:
        best = pickle.load(f)
    assert validation_loss(best, X_val, y_val) == pytest.approx(min(losses), rel=1e-12)


def test_csv_logger(tmp_path, digits_split):
    pd = require_module("pandas")
    X_tr, X_val, y_tr, y_val = digits_split
    path = tmp_path / "log.csv"
    logger = CSVLogger(path)
    est = MLPClassifier((5,), max_iter=3, warm_start=True, random_state=0,
                        callbacks=[logger]).fit(X_tr, y_tr, validation_data=(X_val, y_val))
    pd.testing.assert_frame_equal(pd.read_csv(path), pd.DataFrame(est.history_))
    # append=True adds the continued fit's rows under the same header; the
    # model pickles with the logger (ModelCheckpoint does that every epoch).
    est.set_params(callbacks=[CSVLogger(path, append=True), ModelCheckpoint(
        str(tmp_path / "m.pkl"))]).fit(X_tr, y_tr, validation_data=(X_val, y_val))
    pd.testing.assert_frame_equal(pd.read_csv(path), pd.DataFrame(est.history_))
    assert len(pd.read_csv(path)) == 6


def test_terminate_on_nan():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5)) * 1e3
    y = X @ rng.normal(size=5) * 1e6
    from fastmlp import MLPRegressor

    est = MLPRegressor(hidden_layer_sizes=(10,), solver="sgd", learning_rate_init=10.0,
                       max_iter=50, callbacks=[TerminateOnNaN()])
    with pytest.warns(RuntimeWarning, match="TerminateOnNaN stops training"), \
            pytest.raises(ValueError, match="non-finite parameter weights"):
        est.fit(X, y)
    assert est.n_iter_ < 50 and not np.isfinite(est.history_["loss"][-1])
    assert np.isfinite(est.history_["loss"][:-1]).all()
