"""history_ and scoring: the per-epoch records and validation metrics, and
plot_learning_curve drawing them."""
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import get_scorer, make_scorer, mean_absolute_error

from fastmlp import MLPClassifier, MLPRegressor
from conftest import require_module




def test_history_is_a_table_of_the_epochs(digits_split):
    pd = require_module("pandas")
    X_tr, X_val, y_tr, y_val = digits_split
    est = MLPClassifier((20,), solver="sgd", learning_rate="invscaling", learning_rate_init=0.1,
                        max_iter=6, random_state=0).fit(X_tr, y_tr, validation_data=(X_val, y_val))
    frame = pd.DataFrame(est.history_)
    assert list(frame.columns) == ["epoch", "loss", "learning_rate", "time", "validation_loss",
                                   "validation_score"]
    assert frame["epoch"].tolist() == [1, 2, 3, 4, 5, 6]
    assert frame["loss"].tolist() == est.loss_curve_
    assert frame["validation_loss"].tolist() == est.validation_loss_curve_
    assert frame["validation_score"].tolist() == est.validation_scores_
    assert (np.diff(frame["time"]) > 0).all() and frame["time"].iloc[0] > 0
    # The rate each epoch used: invscaling's value after the previous epoch.
    t = np.arange(6) * len(X_tr)
    expected = np.where(t == 0, 0.1, 0.1 / (t + 1) ** 0.5)
    np.testing.assert_allclose(frame["learning_rate"], expected, rtol=1e-15)


def test_history_continues_and_restarts(digits_split):
    X_tr, X_val, y_tr, y_val = digits_split
    est = MLPClassifier((10,), max_iter=3, warm_start=True, random_state=0).fit(X_tr, y_tr)
    first_time = est.history_["time"][-1]
    est.fit(X_tr, y_tr, validation_data=(X_val, y_val))  # validation only from now on
    h = est.history_
    assert h["epoch"] == [1, 2, 3, 4, 5, 6] and h["loss"] == est.loss_curve_
    assert h["time"][3] > first_time
    assert np.isnan(h["validation_loss"][:3]).all() and not np.isnan(h["validation_loss"][3:]).any()
    assert len({len(v) for v in h.values()}) == 1
    est.partial_fit(X_tr, y_tr)
    assert est.history_["epoch"][-1] == 7 and np.isnan(est.history_["validation_score"][-1])
    est.set_params(warm_start=False).fit(X_tr, y_tr)
    assert est.history_["epoch"] == [1, 2, 3]
    # partial_fit from scratch builds one row per call.
    inc = MLPClassifier((10,), random_state=0)
    for _ in range(3):
        inc.partial_fit(X_tr, y_tr, classes=np.arange(10))
    assert inc.history_["epoch"] == [1, 2, 3] and inc.history_["loss"] == inc.loss_curve_


def test_lbfgs_adds_one_row(digits_split):
    X_tr, X_val, y_tr, y_val = digits_split
    est = MLPClassifier((10,), solver="lbfgs", max_iter=20, random_state=0).fit(
        X_tr, y_tr, validation_data=(X_val, y_val))
    h = est.history_
    assert h["epoch"] == [1] and h["loss"] == [est.loss_] and np.isnan(h["learning_rate"][0])
    assert h["validation_score"] == est.validation_scores_ == [est.score(X_val, y_val)]


def test_scoring_forms_log_every_metric(digits_split):
    X_tr, X_val, y_tr, y_val = digits_split
    params = dict(hidden_layer_sizes=(10,), max_iter=4, random_state=0)
    est = MLPClassifier(scoring=["accuracy", "neg_log_loss"], **params).fit(
        X_tr, y_tr, validation_data=(X_val, y_val))
    h = est.history_
    assert [k for k in h if k.startswith("validation_")] == [
        "validation_loss", "validation_accuracy", "validation_neg_log_loss"]
    assert h["validation_accuracy"][-1] == est.score(X_val, y_val)
    assert h["validation_neg_log_loss"][-1] == pytest.approx(
        get_scorer("neg_log_loss")(est, X_val, y_val), rel=1e-12)
    # validation_scores_ holds the first metric.
    assert est.validation_scores_ == h["validation_accuracy"]
    # None and "accuracy" are the same numbers; a dict and a callable.
    plain = MLPClassifier(**params).fit(X_tr, y_tr, validation_data=(X_val, y_val))
    assert plain.history_["validation_score"] == h["validation_accuracy"]
    mae = make_scorer(mean_absolute_error, greater_is_better=False)
    est = MLPClassifier(scoring={"acc": "accuracy", "mae": mae}, **params).fit(
        X_tr, y_tr, validation_data=(X_val, y_val))
    assert est.history_["validation_mae"][-1] == mae(est, X_val, y_val)
    est = MLPClassifier(scoring=lambda e, X, y: 0.5, **params).fit(
        X_tr, y_tr, validation_data=(X_val, y_val))
    assert est.history_["validation_score"] == [0.5] * 4


def test_early_stopping_follows_the_first_metric(digits_split):
    X_tr, _, y_tr, _ = digits_split
    params = dict(hidden_layer_sizes=(30,), max_iter=200, early_stopping=True,
                  n_iter_no_change=3, random_state=0)
    default = MLPClassifier(**params).fit(X_tr, y_tr)
    accuracy = MLPClassifier(scoring="accuracy", **params).fit(X_tr, y_tr)
    assert accuracy.n_iter_ == default.n_iter_
    np.testing.assert_array_equal(accuracy.coefs_[0], default.coefs_[0])
    by_log_loss = MLPClassifier(scoring=["neg_log_loss", "accuracy"], **params).fit(X_tr, y_tr)
    assert by_log_loss.validation_scores_ == by_log_loss.history_["validation_neg_log_loss"]
    assert max(by_log_loss.validation_scores_) == by_log_loss.best_validation_score_ < 0
    assert by_log_loss.n_iter_ != default.n_iter_
    # The regressor, on the split early stopping holds out.
    Xd, yd = load_diabetes(return_X_y=True)
    reg = MLPRegressor(hidden_layer_sizes=(10,), max_iter=30, early_stopping=True,
                       scoring="neg_mean_absolute_error", random_state=0).fit(Xd, yd)
    assert "validation_neg_mean_absolute_error" in reg.history_
    assert reg.validation_scores_ == reg.history_["validation_neg_mean_absolute_error"]


def test_scoring_with_feature_names_and_bad_values(digits_split):
    pd = require_module("pandas")
    X_tr, X_val, y_tr, y_val = digits_split
    cols = [f"f{i}" for i in range(X_tr.shape[1])]
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        MLPClassifier((5,), max_iter=2, early_stopping=True, scoring="f1_macro",
                      random_state=0).fit(pd.DataFrame(X_tr, columns=cols), y_tr)
    with pytest.raises(ValueError, match="'nope' is not a valid scoring value"):
        MLPClassifier(max_iter=2, scoring="nope").fit(X_tr, y_tr,
                                                       validation_data=(X_val, y_val))
    with pytest.raises(ValueError, match="distinct scorer names"):
        MLPClassifier(max_iter=2, scoring=["accuracy", "accuracy"]).fit(
            X_tr, y_tr, validation_data=(X_val, y_val))
    with pytest.raises(TypeError, match="must return a number"):
        MLPClassifier(max_iter=2, scoring=lambda e, X, y: "x").fit(
            X_tr, y_tr, validation_data=(X_val, y_val))


def test_plot_learning_curve_draws_any_history_keys(tmp_path, digits_split):
    matplotlib = require_module("matplotlib")
    matplotlib.use("Agg")
    from fastmlp.plot import plot_learning_curve

    X_tr, X_val, y_tr, y_val = digits_split
    est = MLPClassifier((10,), max_iter=5, scoring=["accuracy", "balanced_accuracy"],
                        random_state=0).fit(X_tr, y_tr, validation_data=(X_val, y_val))
    ax = plot_learning_curve(est)
    assert [line.get_label() for line in ax.get_lines()] == ["training loss", "validation loss"]
    assert [line.get_label() for line in ax.right_ax.get_lines()] == [
        "validation accuracy", "validation balanced accuracy"]
    ax = plot_learning_curve(est, keys=["learning_rate"])
    assert ax.get_lines() == [] and ax.right_ax.get_lines()[0].get_label() == "learning rate"
    np.testing.assert_array_equal(ax.right_ax.get_lines()[0].get_xdata(), [1, 2, 3, 4, 5])
    with pytest.raises(ValueError, match="no column 'validation_f1'"):
        plot_learning_curve(est, keys=["validation_f1"])
