"""The network as one description (fastmlp.network): the flat layout from
the engine's one function, the layer options the estimators' parameters
never reached (batch norm after the activation, Keras's batch norm with its
bias and biased running variance, per-layer penalties at Keras's scale,
dropout of the input, initialisers) against their NumPy twins
(fastmlp.reference) and central differences, and batch norm folded for
prediction."""
import numpy as np
import pytest

from fastmlp import optimizers, reference
from fastmlp.network import Layer, Network


def _params(network, rng, dtype=np.float64):
    coefs = [rng.normal(size=s).astype(dtype) * 0.7 for s in network.coef_shapes]
    intercepts = [rng.normal(size=s[1]).astype(dtype) * 0.3 for s in network.coef_shapes]
    bn = []
    for i in network.bn_layers:
        u = network.layers[i].units
        bn += [rng.uniform(0.5, 1.5, u), rng.normal(size=u) * 0.3, rng.normal(size=u),
               rng.uniform(0.5, 2.0, u)]
    return coefs, intercepts, [b.astype(dtype) for b in bn]


def _data(network, rng, n):
    X = rng.normal(size=(n, network.n_inputs))
    n_out = network.layers[-1].units
    if network.loss == "log_loss":
        Y = np.eye(n_out)[rng.integers(0, n_out, n)]
    elif network.loss == "binary_log_loss":
        Y = rng.integers(0, 2, (n, n_out)).astype(float)
    else:
        Y = rng.normal(size=(n, n_out))
    return X, Y


def _flat_params(network, coefs, intercepts, bn):
    """Views of every parameter in the layout's order (W, b, gammas, betas)."""
    return coefs + intercepts + bn[0::4] + bn[1::4]


def _check_gradient(network, seed=0, n=9, sample_weight=False):
    """loss_grad (C) against reference.network_loss: the loss to 1e-12 and
    the gradient against central differences of the NumPy loss (step 1e-6:
    O(h^2) ~ 1e-12 plus rounding ~ 1e-10 / 1e-6)."""
    rng = np.random.default_rng(seed)
    coefs, intercepts, bn = _params(network, rng)
    X, Y = _data(network, rng, n)
    sw = rng.uniform(0.5, 2.0, n) if sample_weight else None
    engine = network.engine(n, np.float64)
    loss, grad = engine.loss_grad(coefs, intercepts, X, Y, sw, bn=[b.copy() for b in bn])
    assert loss == pytest.approx(reference.network_loss(network, coefs, intercepts, bn, X, Y,
                                                        sw), rel=1e-12)
    numeric = []
    for arr in _flat_params(network, coefs, intercepts, bn):
        for i in range(arr.size):
            old = arr.flat[i]
            arr.flat[i] = old + 1e-6
            up = reference.network_loss(network, coefs, intercepts, bn, X, Y, sw)
            arr.flat[i] = old - 1e-6
            down = reference.network_loss(network, coefs, intercepts, bn, X, Y, sw)
            arr.flat[i] = old
            numeric.append((up - down) / 2e-6)
    assert len(grad) == network.n_params == len(numeric)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)
    return grad


def test_layout_is_the_engines_and_scikit_learns_order():
    net = Network(5, [Layer(4, "relu", batch_norm="before", use_bias=False),
                      Layer(3, "maxout", activation_params={"pieces": 2}, batch_norm="after"),
                      Layer(2, "softmax")], loss="log_loss")
    lay = net.layout
    # W: 5 x 4, 4 x (3 units x 2 pieces), 3 x 2; b: 4, 6, 2; gammas 4, 3; betas 4, 3.
    assert lay["coef"] == [0, 20, 44]
    assert lay["intercept"] == [50, 54, 60]
    assert lay["gamma"] == [62, 66, -1] and lay["beta"] == [69, 73, -1]
    assert lay["n_params"] == 76 == net.engine(3, np.float64).n_params


@pytest.mark.parametrize("activation", ["relu", "tanh", "gelu", "maxout"])
def test_batch_norm_after_the_activation_matches_finite_differences(activation):
    params = {"pieces": 2} if activation == "maxout" else None
    net = Network(3, [Layer(4, activation, activation_params=params, batch_norm="after"),
                      Layer(3, "tanh", batch_norm="after", bn_moving_variance="biased"),
                      Layer(2, "softmax")], loss="log_loss")
    _check_gradient(net, sample_weight=True)


def test_keras_batch_norm_keeps_the_bias_and_its_gradient_is_zero():
    """Dense (with bias) then BatchNormalization: the bias moves z and its
    batch mean alike, so its gradient is zero to rounding."""
    net = Network(3, [Layer(5, "relu", batch_norm="before", bn_momentum=0.01,
                            bn_epsilon=1e-3, bn_moving_variance="biased"),
                      Layer(1, "identity")])
    grad = _check_gradient(net)
    b0 = net.layout["intercept"][0]
    np.testing.assert_allclose(grad[b0:b0 + 5], 0.0, atol=1e-12)


def test_running_statistics_keras_and_pytorch_conventions():
    rng = np.random.default_rng(1)
    for variance in ("biased", "unbiased"):
        net = Network(3, [Layer(4, "relu", batch_norm="after", bn_momentum=0.01,
                                bn_epsilon=1e-3, bn_moving_variance=variance),
                          Layer(1, "identity")])
        coefs, intercepts, bn = _params(net, rng)
        X, Y = _data(net, rng, 6)
        before = [b.copy() for b in bn]
        net.engine(6, np.float64).loss_grad(coefs, intercepts, X, Y, None, bn=bn)
        a = reference.activation(X @ coefs[0] + intercepts[0], "relu")
        _, _, _, mean, var = reference.batch_norm_forward(
            a, *before, momentum=0.01, epsilon=1e-3, unbiased=variance == "unbiased")
        np.testing.assert_allclose(bn[2], mean, rtol=1e-12)
        np.testing.assert_allclose(bn[3], var, rtol=1e-12)
        # Keras: moving = 0.99 * moving + 0.01 * var(biased)
        if variance == "biased":
            np.testing.assert_allclose(bn[3], 0.99 * before[3] + 0.01 * a.var(0), rtol=1e-12)


@pytest.mark.parametrize("penalties", [
    dict(kernel_l2=0.01), dict(kernel_l1=0.02), dict(bias_l2=0.03, bias_l1=0.01),
    dict(kernel_l1=0.01, kernel_l2=0.02, bias_l2=0.05)])
def test_per_layer_penalties_match_finite_differences(penalties):
    """Keras's scale: l2 * sum(W^2) added to the mean loss (gradient 2 l2 W,
    not divided by sum(w)), on one layer, beside scikit-learn's alpha."""
    net = Network(4, [Layer(5, "tanh", **penalties), Layer(3, "relu"),
                      Layer(2, "softmax", kernel_l2=0.02)], loss="log_loss", alpha=0.1)
    _check_gradient(net, sample_weight=True)
    # Weights away from 0 for the L1 terms' derivative: _params draws them so.


def test_per_layer_penalty_scale_is_keras():
    net = Network(2, [Layer(1, "identity", kernel_l2=0.5, bias_initializer="zeros")])
    coefs, intercepts = [np.array([[2.0], [0.0]])], [np.array([0.0])]
    X, Y = np.zeros((4, 2)), np.zeros((4, 1))
    loss, grad = net.engine(4, np.float64).loss_grad(coefs, intercepts, X, Y,
                                                     np.full(4, 3.0))
    assert loss == pytest.approx(0.5 * 4.0)  # l2 * sum(W^2), whatever sum(w)
    np.testing.assert_allclose(grad[:2], [2 * 0.5 * 2.0, 0.0])


@pytest.mark.parametrize("rates", [(0.3, 0.0), (0.25, 0.4)])
def test_input_dropout_step_matches_numpy(rates):
    """One SGD step with dropout on the input (the first layer's dropout)
    and on the hidden layer's output, against NumPy with the engine's masks."""
    rng = np.random.default_rng(2)
    n, lr, seed = 6, 0.1, 777
    net = Network(3, [Layer(5, "tanh", dropout=rates[0]),
                      Layer(2, "identity", dropout=rates[1])])
    coefs, intercepts, _ = _params(net, rng)
    X, Y = _data(net, rng, n)
    W0, b0, W1, b1 = coefs[0].copy(), intercepts[0].copy(), coefs[1].copy(), intercepts[1].copy()
    opt = optimizers.SGD(net.n_params, learning_rate_init=lr, momentum=0.0, nesterov=False)
    net.engine(n, np.float64).epoch(coefs, intercepts, X, Y, None, None, n, opt, seed)

    u = reference.dropout_uniforms(seed, n * 3 + (n * 5 if rates[1] else 0))
    x0, m0 = reference.dropout_forward(X, rates[0], u[:n * 3])
    a1 = np.tanh(x0 @ W0 + b0)
    x1, m1 = (reference.dropout_forward(a1, rates[1], u[n * 3:]) if rates[1]
              else (a1, np.ones_like(a1)))
    d2 = x1 @ W1 + b1 - Y  # scikit-learn's squared-error delta
    d1 = reference.activation_grad(x0 @ W0 + b0, "tanh",
                                   reference.dropout_backward(d2 @ W1.T, m1))
    want = [W0 - lr * x0.T @ d1 / n, W1 - lr * x1.T @ d2 / n]
    want_b = [b0 - lr * d1.sum(0) / n, b1 - lr * d2.sum(0) / n]
    for got, w in zip(coefs + intercepts, want + want_b):
        np.testing.assert_allclose(got, w, rtol=1e-12, atol=1e-12)
    assert 0 < (m0 > 0).mean() < 1


def test_input_dropout_refuses_sparse_input():
    import scipy.sparse as sp

    net = Network(3, [Layer(2, "identity", dropout=0.2)])
    opt = optimizers.SGD(net.n_params, momentum=0.0)
    coefs, intercepts, _ = net.init_params(0)
    with pytest.raises(ValueError, match="dense"):
        net.engine(4, np.float64).epoch(coefs, intercepts, sp.csr_matrix(np.ones((4, 3))),
                                        np.ones((4, 2)), None, None, 4, opt, 1)


def test_initializers_draw_in_scikit_learns_order():
    net = Network(4, [Layer(3, kernel_initializer="glorot_uniform_logistic"),
                      Layer(5, kernel_initializer="he_normal", bias_initializer="zeros"),
                      Layer(2, "identity", kernel_initializer="he_uniform",
                            bias_initializer="zeros", use_bias=False),
                      Layer(2, "identity", kernel_initializer="zeros",
                            bias_initializer="glorot_uniform")])
    coefs, intercepts, bn = net.init_params(7)
    rs = np.random.RandomState(7)
    b = np.sqrt(2.0 / 7)
    np.testing.assert_array_equal(coefs[0], rs.uniform(-b, b, (4, 3)))
    np.testing.assert_array_equal(intercepts[0], rs.uniform(-b, b, 3))
    np.testing.assert_array_equal(coefs[1], rs.normal(0.0, np.sqrt(2.0 / 3), (3, 5)))
    np.testing.assert_array_equal(intercepts[1], 0.0)
    np.testing.assert_array_equal(coefs[2], rs.uniform(-np.sqrt(6 / 5), np.sqrt(6 / 5), (5, 2)))
    np.testing.assert_array_equal(intercepts[2], 0.0)
    np.testing.assert_array_equal(coefs[3], 0.0)
    b = np.sqrt(6.0 / 4)
    np.testing.assert_array_equal(intercepts[3], rs.uniform(-b, b, 2))
    assert bn == []


def test_estimator_network_draws_what_scikit_learn_draws():
    from sklearn.neural_network import MLPClassifier as SkMLP

    from fastmlp import MLPClassifier

    X = np.random.default_rng(0).normal(size=(30, 6))
    y = np.arange(30) % 3
    for activation in ("logistic", "relu"):
        ours = MLPClassifier((5, 4), activation=activation, max_iter=1, random_state=3)
        theirs = SkMLP((5, 4), activation=activation, max_iter=1, random_state=3)
        with pytest.warns(Warning):
            ours.fit(X, y)
            theirs.fit(X, y)
        net = ours.network_
        coefs, intercepts, _ = net.init_params(3)
        rs = np.random.RandomState(3)
        for fan_in, fan_out, c, b in zip([6, 5, 4], [5, 4, 3], coefs, intercepts):
            bound = np.sqrt((2.0 if activation == "logistic" else 6.0) / (fan_in + fan_out))
            np.testing.assert_array_equal(c, rs.uniform(-bound, bound, (fan_in, fan_out)))
            np.testing.assert_array_equal(b, rs.uniform(-bound, bound, fan_out))


@pytest.mark.parametrize("placement", ["before", "after"])
def test_batch_norm_folded_for_prediction(placement):
    """The predictor (running statistics folded into W and b) computes the
    network with batch norm in inference mode, written out in NumPy."""
    rng = np.random.default_rng(4)
    net = Network(4, [Layer(6, "elu", activation_params={"alpha": 0.5}, batch_norm=placement),
                      Layer(5, "relu", batch_norm=placement, use_bias=placement == "after"),
                      Layer(3, "softmax")], loss="log_loss")
    coefs, intercepts, bn = _params(net, rng)
    for i, layer in enumerate(net.layers):
        if not layer.use_bias:  # kept at zero: initialised so, never stepped
            intercepts[i][...] = 0.0
    X = rng.normal(size=(20, 4))

    def norm(v, k):
        gamma, beta, mean, var = bn[4 * k:4 * k + 4]
        return gamma * (v - mean) / np.sqrt(var + 1e-5) + beta

    a = X
    for k, (layer, act, params) in enumerate(zip(net.layers[:2], ["elu", "relu"],
                                                 [{"alpha": 0.5}, {}])):
        z = a @ coefs[k] + (intercepts[k] if layer.use_bias else 0.0)
        if placement == "before":
            a = reference.activation(norm(z, k), act, **params)
        else:
            a = norm(reference.activation(z, act, **params), k)
    want = reference.activation(a @ coefs[2] + intercepts[2], "softmax")
    folded = net.fold(coefs, intercepts, bn, np.float64)
    got = net.predictor(*folded).predict(X)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_descriptions_the_engine_refuses_are_errors():
    with pytest.raises(ValueError, match="output layer"):
        Network(3, [Layer(2, "identity", batch_norm="before")]).engine(2, np.float64)
    with pytest.raises(ValueError, match="maxout"):
        Network(3, [Layer(2, "maxout", batch_norm="before"),
                    Layer(1, "identity")]).engine(2, np.float64)
    with pytest.raises(ValueError, match="softmax"):
        Network(3, [Layer(2, "relu")], loss="log_loss").engine(2, np.float64)
    with pytest.raises(ValueError, match="dropout"):
        Network(3, [Layer(2, "relu", dropout=1.0)]).engine(2, np.float64)


# --- the estimators' per-layer parameters ---------------------------------------

def _digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X[:400] / 16.0, y[:400]


def _numpy_inference(est, X):
    """predict_proba written out from the fitted attributes and network_:
    each layer's stages, batch norm by its running statistics."""
    net = est.network_
    a, k = X, 0
    for i, layer in enumerate(net.layers):
        z = a @ est.coefs_[i] + (est.intercepts_[i] if layer.use_bias else 0.0)
        if layer.batch_norm == "before":
            z = (est.bn_gammas_[k] * (z - est.bn_running_means_[k])
                 / np.sqrt(est.bn_running_vars_[k] + 1e-5) + est.bn_betas_[k])
        params = layer.activation_params or {}
        a = (reference.activation(z, layer.activation, **params)
             if layer.activation != "maxout"
             else z.reshape(len(z), layer.units, layer.pieces).max(-1))
        if layer.batch_norm == "after":
            a = (est.bn_gammas_[k] * (a - est.bn_running_means_[k])
                 / np.sqrt(est.bn_running_vars_[k] + 1e-5) + est.bn_betas_[k])
        k += bool(layer.batch_norm)
    return a


def test_estimator_batch_norm_per_layer_and_after_the_activation():
    from fastmlp import MLPClassifier

    X, y = _digits()
    clf = MLPClassifier((24, 16, 12), activation=["relu", "maxout", "tanh"],
                        batch_norm=["after", "after", False], max_iter=30,
                        learning_rate_init=0.01,
                        random_state=0).fit(X, y)
    assert [layer.batch_norm for layer in clf.network_.layers] == ["after", "after", None, None]
    assert len(clf.bn_gammas_) == 2 and clf.bn_gammas_[1].shape == (16,)
    np.testing.assert_allclose(clf.predict_proba(X), _numpy_inference(clf, X), rtol=1e-9,
                               atol=1e-12)
    assert clf.score(X, y) > 0.9
    # transform gives the layer's output, batch norm included.
    h = clf.transform(X, layer=0)
    a = reference.activation(X @ clf.coefs_[0] + clf.intercepts_[0], "relu")
    want = (clf.bn_gammas_[0] * (a - clf.bn_running_means_[0])
            / np.sqrt(clf.bn_running_vars_[0] + 1e-5) + clf.bn_betas_[0])
    np.testing.assert_allclose(h, want, rtol=1e-9, atol=1e-12)
    with pytest.raises(ValueError, match="batch_norm has 2 entries"):
        MLPClassifier((4, 4, 4), batch_norm=[True, "after"]).fit(X, y)
    with pytest.raises(ValueError, match="maxout"):
        MLPClassifier((4,), activation="maxout", batch_norm=["before"]).fit(X, y)


def test_estimator_activation_params():
    from fastmlp import MLPRegressor

    X, y = _digits()
    reg = MLPRegressor(hidden_layer_sizes=(10, 6), activation=["leaky_relu", "elu"],
                       activation_params=[{"negative_slope": 0.3}, {"alpha": 0.5}],
                       max_iter=5, random_state=0)
    with pytest.warns(Warning):
        reg.fit(X, y.astype(float))
    assert reg.network_.layers[0].activation_params == {"negative_slope": 0.3}
    np.testing.assert_allclose(reg.predict(X), _numpy_inference(reg, X).ravel(), rtol=1e-9)
    same = MLPRegressor(hidden_layer_sizes=(10, 6), activation="leaky_relu",
                        activation_params={"negative_slope": 0.3}, max_iter=5, random_state=0)
    with pytest.warns(Warning):
        same.fit(X, y.astype(float))
    assert [layer.activation_params for layer in same.network_.layers[:2]] == [
        {"negative_slope": 0.3}] * 2
    with pytest.raises(TypeError, match="unexpected parameter"):
        MLPRegressor(hidden_layer_sizes=(4,), activation="relu",
                     activation_params={"alpha": 1.0}).fit(X, y)


def test_estimator_input_dropout():
    import scipy.sparse as sp

    from fastmlp import MLPClassifier

    X, y = _digits()
    params = dict(hidden_layer_sizes=(20,), max_iter=3, random_state=0)
    with pytest.warns(Warning):
        plain = MLPClassifier(**params).fit(X, y)
        a = MLPClassifier(input_dropout=0.2, **params).fit(X, y)
        b = MLPClassifier(input_dropout=0.2, **params).fit(X, y)
    assert a.network_.layers[0].dropout == 0.2
    np.testing.assert_array_equal(a.coefs_[0], b.coefs_[0])  # the same masks
    assert not np.array_equal(a.coefs_[0], plain.coefs_[0])
    np.testing.assert_array_equal(a.predict_proba(X), a.predict_proba(X))  # none at predict
    with pytest.raises(ValueError, match="stochastic solver"):
        MLPClassifier(input_dropout=0.2, solver="lbfgs").fit(X, y)
    with pytest.raises(ValueError, match="dense X"):
        MLPClassifier(input_dropout=0.2, max_iter=1).fit(sp.csr_matrix(X), y)


@pytest.mark.parametrize("loss,n_out", [("log_loss", 3), ("binary_log_loss", 2),
                                        ("squared_error", 1)])
def test_epochs_count_the_training_accuracy(loss, n_out):
    """Counted on each minibatch's forward pass before its step (Keras's
    training accuracy): with one minibatch, the initial weights' predictions."""
    rng = np.random.default_rng(5)
    out = {"log_loss": "softmax", "binary_log_loss": "logistic"}.get(loss, "identity")
    net = Network(4, [Layer(6, "tanh"), Layer(n_out, out)], loss=loss)
    coefs, intercepts, _ = net.init_params(1)
    X, Y = _data(net, rng, 30)
    sw = rng.uniform(0.5, 2.0, 30)
    p = reference.activation(np.tanh(X @ coefs[0] + intercepts[0]) @ coefs[1] + intercepts[1],
                             out)
    if loss == "log_loss":
        right = (p.argmax(1) == Y.argmax(1)).astype(float)
    elif loss == "binary_log_loss":
        right = ((p > 0.5) == (Y > 0.5)).mean(1)
    engine = net.engine(30, np.float64)
    assert engine.accuracy(True) == (0.0, 0.0)
    opt = optimizers.SGD(net.n_params, momentum=0.0)
    engine.epoch(coefs, intercepts, X, Y, sw, None, 30, opt)
    got_right, got_weight = engine.accuracy(False)
    if loss == "squared_error":
        assert (got_right, got_weight) == (0.0, 0.0)
    else:
        assert got_weight == pytest.approx(sw.sum(), rel=1e-12)
        assert got_right == pytest.approx((sw * right).sum(), rel=1e-12)
    engine.epoch(coefs, intercepts, X, Y, sw, None, 30, opt)
    assert engine.accuracy() == (0.0, 0.0)  # off
