"""Export fitted fastmlp estimators to ONNX: :func:`export_onnx`.

Design
------
The graph recomputes what the estimator's ``predict`` / ``predict_proba`` /
``decision_function`` compute, in the estimator's dtype (float32 or
float64), from its fitted attributes: ``coefs_`` and ``intercepts_`` (with
batch normalisation, the folded weights that ``predict`` uses, from the
running statistics ``bn_*_``), ``classes_``, ``out_activation_``; for the
Perceptron ``coef_``, ``intercept_`` and ``classes_``.

Each layer is ``MatMul`` + ``Add`` and its activation; maxout is a
``Reshape`` to [N, units, pieces] and a ``ReduceMax`` over the pieces.
Activations follow
the C formulas of ``csrc/ops/activation_math_tmpl.h`` operation for operation,
in the model's dtype, with the same constants rounded to that dtype (leaky
relu's slope, elu's alpha, selu's alpha and scale, 1/sqrt(2)). ONNX's own
operators are used only where they are as accurate as the C code: ``Exp``,
``Log``, ``Tanh``, ``Relu``, ``Softmax``. Where they are not, the function
is composed from primitives:

- logistic is ``1 / (1 + exp(-z))`` with C's ``exp(z)`` below -88 (float32)
  / -709 (float64): onnxruntime's ``Sigmoid`` is off by up to 100% in the
  far tail (it returns 1.2e-7 for logistic(-17.5) = 2.4e-8 in float32, 0
  for logistic(-45) in float64);
- ``expm1`` (elu, selu) and ``log1p`` (softplus) have no ONNX operator:
  they use Kahan's formulas (``(u - 1) * x / log(u)`` with ``u = exp(x)``,
  ``log(u) * x / (u - 1)`` with ``u = 1 + x``), which keep their accuracy near
  0 where ``exp(x) - 1`` and ``log(1 + x)`` lose it all, evaluated in
  float64 and rounded to the model's dtype;
- gelu is ``0.5 * z * erfc(-z / sqrt 2)`` as in C, not ``1 + erf``, which
  cancels for z << 0; ONNX has no ``Erfc`` and onnxruntime no float64
  ``Erf``, so erfc is composed in float64 (:func:`_erfc_f64`): the Taylor
  series of erf for |x| < 1 and the continued fraction of erfc beyond,
  within 12 float64 ulps of the exact value (measured against mpmath).

Outputs: a classifier's ``label`` (``predict``: class labels of
``classes_``'s dtype, strings included, or the int64 indicator matrix of a
multilabel model) and ``probabilities`` (``predict_proba``); a regressor's
``variable`` (``predict``: shape [N] for one output, [N, n_outputs]
otherwise); a Perceptron's ``label`` and ``scores`` (``decision_function``).
The input ``X`` has shape [N, n_features_in_] with N dynamic. The opset is
17 (ONNX >= 1.12) and the IR version 8, which onnxruntime >= 1.12 loads.
"""
import collections
import os

import numpy as np
from sklearn.utils.validation import check_is_fitted

from fastmlp import reference
from fastmlp._version import __version__

# ONNX opset and IR version of the exported graphs (opset 17 came with IR 8).
_OPSET = 17
_IR_VERSION = 8

# The C logistic's switch to exp(z) for z < -cut (FM_LOGISTIC_CUT_* in
# csrc/ops/activation_math.h).
_LOGISTIC_CUT = {np.dtype(np.float32): 88.0, np.dtype(np.float64): 709.0}

# erfc in float64 (_erfc_f64): the erf series below _ERFC_SERIES_CUTOFF, the
# continued fraction of erfc above, with these numbers of terms. Measured
# against mpmath on [-6, 26.5] (where erfc is a normal float64): at most
# 12 ulps, from the cancellation of 1 - erf(x) just below the cutoff.
_ERFC_SERIES_CUTOFF = 1.0
_ERFC_SERIES_TERMS = 20
_ERFC_FRACTION_TERMS = 100

_INSTALL_HINT = 'pip install "fastmlp[onnx]"'


def _import_onnx():
    """The onnx module, or an ImportError saying how to install it."""
    try:
        import onnx
        from onnx import numpy_helper  # noqa: F401 (a submodule of onnx)
    except ImportError as exc:
        raise ImportError(f"export_onnx needs the optional dependency onnx, which is not "
                          f"installed: {_INSTALL_HINT} (onnx to write the model, onnxruntime "
                          f"to run it)") from exc
    return onnx


def export_onnx(estimator, path):
    """Write a fitted fastmlp estimator as an ONNX model.

    The graph computes the estimator's predictions from its fitted weights,
    in its dtype (float32 or float64), for a batch of any size: every hidden
    activation, per-layer activation lists, batch normalisation (folded into
    the weights as ``predict`` does), every output activation. See Notes for
    the inputs and outputs. Needs the optional dependency ``onnx``
    (``pip install "fastmlp[onnx]"``, which also installs onnxruntime to run
    the model).

    Parameters
    ----------
    estimator : fastmlp.MLPClassifier, fastmlp.MLPRegressor or fastmlp.Perceptron
        A fitted estimator. A scikit-learn MLP can be exported after
        :func:`fastmlp.from_sklearn`.
    path : str or os.PathLike
        The file to write (overwritten if it exists). Nothing is written if
        the export fails before the file is opened.

    Returns
    -------
    model : onnx.ModelProto
        The model that was written, checked by ``onnx.checker``.

    Raises
    ------
    TypeError
        If `estimator` is not a fastmlp MLPClassifier, MLPRegressor or
        Perceptron, or its classes cannot be stored in an ONNX tensor.
    sklearn.exceptions.NotFittedError
        If `estimator` is not fitted.
    ImportError
        If onnx is not installed.
    OSError
        If `path` cannot be written.

    Notes
    -----
    Input: ``X``, of shape ``[N, n_features_in_]`` and the estimator's dtype
    (``coefs_[0].dtype``, or ``coef_.dtype`` for the Perceptron); dense.

    Outputs, the estimator's methods on ``X``:

    - MLPClassifier: ``label`` (``predict``: shape [N] of the classes'
      dtype, or [N, n_outputs] int64 for a multilabel model) and
      ``probabilities`` (``predict_proba``, [N, n_classes]);
    - MLPRegressor: ``variable`` (``predict``: [N] for one output, else
      [N, n_outputs]);
    - Perceptron: ``label`` (``predict``) and ``scores``
      (``decision_function``: [N] for two classes, else [N, n_classes]).

    The input is a plain tensor: feature names (``feature_names_in_``) are
    not checked, and sparse input must be made dense first. Opset 17, IR
    version 8.

    The results agree with the estimator's to a few units in the last place
    of its dtype per layer (sums in another order, library functions with
    other roundings; ``tests/test_onnx.py`` states the tolerances). Labels
    are computed from the probabilities as ``predict`` computes them, so
    they are the same wherever no two classes are within that rounding of a
    tie.

    gelu has no exact ONNX form (``1 + Erf`` cancels for z << 0, and
    onnxruntime has no float64 ``Erf``): its erfc is composed in float64 of
    about 400 element-wise nodes per gelu layer, which makes such a graph
    slow (2000 rows, hidden layers of 100 and 50 units, float32: 38 ms in
    onnxruntime against 1 ms with relu; the estimator's predict_proba: 17 ms).

    Examples
    --------
    >>> import onnxruntime as ort
    >>> from sklearn.datasets import load_iris
    >>> from fastmlp import MLPClassifier, export_onnx
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier(hidden_layer_sizes=(16,), max_iter=500, random_state=0).fit(X, y)
    >>> model = export_onnx(clf, "iris.onnx")
    >>> session = ort.InferenceSession("iris.onnx")
    >>> label, proba = session.run(["label", "probabilities"], {"X": X})  # X is float64, as clf
    >>> bool((label == clf.predict(X)).all())
    True
    """
    from fastmlp._mlp import MLPClassifier, MLPRegressor
    from fastmlp._perceptron import Perceptron

    if not isinstance(estimator, (MLPClassifier, MLPRegressor, Perceptron)):
        name = f"{type(estimator).__module__}.{type(estimator).__qualname__}"
        hint = ""
        if type(estimator).__module__.startswith("sklearn.neural_network"):
            hint = "; convert a scikit-learn MLP with fastmlp.from_sklearn() first"
        raise TypeError("export_onnx exports a fitted fastmlp MLPClassifier, MLPRegressor or "
                        f"Perceptron, got {name}{hint}")
    check_is_fitted(estimator)
    onnx = _import_onnx()
    if isinstance(estimator, Perceptron):
        model = _perceptron_model(onnx, estimator)
    else:
        model = _mlp_model(onnx, estimator)
    onnx.checker.check_model(model, full_check=True)
    data = model.SerializeToString()
    with open(os.fspath(path), "wb") as f:
        f.write(data)
    return model


# -- graph building -------------------------------------------------------------


class _Graph:
    """Nodes and initializers of one ONNX graph, with unique names and
    deduplicated constants. `unique_name` (hint -> name), when given, makes
    the names instead (skl2onnx's scope, whose graph holds other models'
    nodes too)."""

    def __init__(self, onnx, dtype, unique_name=None):
        self.onnx = onnx
        self.dtype = np.dtype(dtype)
        self.nodes = []
        self.initializers = []
        self._counts = collections.Counter()
        self._constants = {}
        self._unique_name = unique_name

    def fresh(self, hint):
        """A name not used before in this graph."""
        if self._unique_name is not None:
            return self._unique_name(hint)
        self._counts[hint] += 1
        return f"{hint}_{self._counts[hint]}"

    def const(self, value, dtype=None, hint="const"):
        """The name of an initializer holding `value` as `dtype` (default:
        the model's dtype); equal scalars share one initializer."""
        array = np.asarray(value, dtype=self.dtype if dtype is None else dtype)
        key = None
        if array.ndim == 0 and array.dtype != object:
            key = (array.dtype.str, array.tobytes())
            if key in self._constants:
                return self._constants[key]
        name = self.fresh(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        if key is not None:
            self._constants[key] = name
        return name

    def op(self, op_type, *inputs, hint=None, **attributes):
        """Add a node with one output; returns the output's name."""
        output = self.fresh(hint or op_type.lower())
        self.nodes.append(self.onnx.helper.make_node(op_type, list(inputs), [output],
                                                     **attributes))
        return output

    def rename(self, tensor, name):
        """Make `tensor` available as the graph output `name`."""
        self.nodes.append(self.onnx.helper.make_node("Identity", [tensor], [name]))
        return name

    def to(self, tensor, dtype):
        """`tensor` cast to the NumPy `dtype`."""
        return self.op("Cast", tensor, to=_tensor_type(self.onnx, dtype))


# ONNX element type names of the NumPy dtypes a model holds.
_TENSOR_TYPES = {"float32": "FLOAT", "float64": "DOUBLE", "bool": "BOOL", "int8": "INT8",
                 "int16": "INT16", "int32": "INT32", "int64": "INT64", "uint8": "UINT8",
                 "uint16": "UINT16", "uint32": "UINT32", "uint64": "UINT64"}


def _tensor_type(onnx, dtype):
    """The ONNX element type of NumPy `dtype` (STRING for object arrays of str)."""
    dtype = np.dtype(dtype)
    if dtype.kind == "O":
        return onnx.TensorProto.STRING
    return getattr(onnx.TensorProto, _TENSOR_TYPES[dtype.name])


def _model(onnx, graph, name, inputs, outputs, estimator):
    """The ModelProto of `graph` with fastmlp's metadata."""
    proto = onnx.helper.make_graph(graph.nodes, name, inputs, outputs,
                                   initializer=graph.initializers)
    model = onnx.helper.make_model(proto, opset_imports=[onnx.helper.make_opsetid("", _OPSET)],
                                   ir_version=_IR_VERSION, producer_name="fastmlp",
                                   producer_version=__version__,
                                   doc_string=f"fastmlp {type(estimator).__name__}")
    onnx.helper.set_model_props(model, {"estimator": type(estimator).__name__,
                                        "fastmlp_version": __version__})
    return model


def _input(onnx, dtype, n_features):
    return onnx.helper.make_tensor_value_info("X", _tensor_type(onnx, dtype), ["N", n_features])


def _classes_constant(graph, classes):
    """`classes` as an initializer ONNX can hold (strings as STRING)."""
    classes = np.asarray(classes)
    if classes.dtype.kind == "U":
        classes = classes.astype(object)
    elif classes.dtype == object:
        if not all(isinstance(c, str) for c in classes):
            raise TypeError("export_onnx can store class labels that are numbers, booleans "
                            "or strings; classes_ is an object array of "
                            f"{sorted({type(c).__name__ for c in classes})}")
    elif classes.dtype.name not in _TENSOR_TYPES:
        raise TypeError(f"export_onnx cannot store class labels of dtype {classes.dtype} in "
                        "ONNX (numbers, booleans and str are supported)")
    return graph.const(classes, dtype=classes.dtype, hint="classes"), classes.dtype


# -- activations ----------------------------------------------------------------


def _activation(graph, name, z):
    """act(z) for a hidden or output activation `name`, in the model's dtype,
    as csrc/ops/activation_math_tmpl.h computes it."""
    kind, param = reference._parse_activation(name, {})
    c = graph.const
    if kind == "identity":
        return z
    if kind == "relu":
        return graph.op("Relu", z)
    if kind == "tanh":
        return graph.op("Tanh", z)
    if kind == "logistic":
        return _logistic(graph, z)
    if kind == "leaky_relu":
        # C: (z > 0 ? z : 0) + slope * (z > 0 ? 0 : z), that is z where z > 0
        # and slope * z elsewhere (exactly, but for the sign of a zero).
        return graph.op("Where", graph.op("Greater", z, c(0.0)), z,
                        graph.op("Mul", c(param), z))
    if kind in ("elu", "selu"):
        # C: z > 0 ? z : alpha * expm1(z); selu scales the result.
        alpha = param if kind == "elu" else reference._SELU_ALPHA
        negative = graph.op("Mul", c(alpha), _in_float64(graph, z, _expm1_f64,
                                                         clamp_positive=True))
        out = graph.op("Where", graph.op("Greater", z, c(0.0)), z, negative)
        return out if kind == "elu" else graph.op("Mul", c(reference._SELU_SCALE), out)
    if kind == "gelu":
        # C: 0.5 * z * erfc(-z / sqrt 2), the argument computed in the model's dtype.
        x = graph.op("Mul", graph.op("Neg", z), c(reference._SQRT1_2))
        return graph.op("Mul", graph.op("Mul", c(0.5), z), _in_float64(graph, x, _erfc_f64))
    if kind == "softplus":
        # C: max(z, 0) + log1p(exp(-|z|)).
        e = graph.op("Exp", graph.op("Neg", graph.op("Abs", z)))
        return graph.op("Add", graph.op("Max", z, c(0.0)), _in_float64(graph, e, _log1p_f64))
    raise ValueError(f"export_onnx has no translation of the activation {name!r}")


def _maxout(graph, z, units):
    """Maxout of z [N, units * k] to [N, units]: unit j's pieces are the k
    consecutive columns j*k .. j*k + k - 1 (fastmlp's layout), so a Reshape
    to [N, units, k] (0 keeps N) and a ReduceMax over the last axis. The max
    is exact: no rounding to match."""
    shape = graph.const([0, units, -1], dtype=np.int64, hint="maxout_shape")
    return graph.op("ReduceMax", graph.op("Reshape", z, shape), axes=[2], keepdims=0)


def _logistic(graph, z):
    """C's logistic: exp(z) below -cut, else 1 / (1 + exp(-z))."""
    c = graph.const
    main = graph.op("Div", c(1.0), graph.op("Add", c(1.0), graph.op("Exp", graph.op("Neg", z))))
    tail = graph.op("Exp", z)
    return graph.op("Where", graph.op("Less", z, c(-_LOGISTIC_CUT[graph.dtype])), tail, main)


def _in_float64(graph, x, function, clamp_positive=False):
    """function(x) computed in float64 and rounded to the model's dtype (no
    casts for a float64 model). With clamp_positive, x is min(x, 0) first
    (for a branch that only serves x <= 0: no overflow in the other)."""
    if clamp_positive:
        x = graph.op("Min", x, graph.const(0.0))
    wide = graph.dtype != np.float64
    if wide:
        x = graph.to(x, np.float64)
    y = function(graph, x)
    return graph.to(y, graph.dtype) if wide else y


def _f64(graph, value):
    return graph.const(value, dtype=np.float64)


def _expm1_f64(graph, x):
    """exp(x) - 1 for float64 x, by Kahan's formula: with u = exp(x),
    x if u == 1, -1 if u - 1 == -1, else (u - 1) * x / log(u); the rounding
    errors of u - 1 and log(u) cancel, leaving a few ulps."""
    u = graph.op("Exp", x)
    um1 = graph.op("Sub", u, _f64(graph, 1.0))
    general = graph.op("Div", graph.op("Mul", um1, x), graph.op("Log", u))
    far = graph.op("Where", graph.op("Equal", um1, _f64(graph, -1.0)), um1, general)
    return graph.op("Where", graph.op("Equal", u, _f64(graph, 1.0)), x, far)


def _log1p_f64(graph, x):
    """log(1 + x) for float64 x >= 0, by Kahan's formula: with u = 1 + x,
    x if u == 1, else log(u) * x / (u - 1)."""
    u = graph.op("Add", _f64(graph, 1.0), x)
    general = graph.op("Div", graph.op("Mul", graph.op("Log", u), x),
                       graph.op("Sub", u, _f64(graph, 1.0)))
    return graph.op("Where", graph.op("Equal", u, _f64(graph, 1.0)), x, general)


def _erfc_f64(graph, x):
    """erfc(x) for float64 x, from primitives.

    |x| < 1: erfc = 1 - erf, with the Taylor series
        erf(x) = 2/sqrt(pi) x exp(-x^2) sum_n (2 x^2)^n / (1 3 5 ... (2n+1)),
    summed by Horner's rule, t = 1 + x^2 t / (n + 3/2) from the last term.
    |x| >= 1: Laplace's continued fraction, in its even form
        erfc(|x|) = |x| exp(-x^2) / (sqrt(pi) F),
        F = x^2 + 1/2 - a_1 / (x^2 + 5/2 - a_2 / (x^2 + 9/2 - ...)),
        a_k = k (2k - 1) / 2,
    evaluated from the tail; erfc(x) = 2 - erfc(|x|) for x <= -1.
    exp(-x^2) is exp(-h^2) exp(-(x - h)(x + h)) with h = x rounded to
    float32, whose square is exact: the rounding of x^2 would otherwise
    cost up to 2 x^2 ulps.
    """
    op, k = graph.op, lambda v: _f64(graph, v)
    x2 = op("Mul", x, x)
    h = graph.to(graph.to(x, np.float32), np.float64)
    exp_neg_x2 = op("Mul", op("Exp", op("Neg", op("Mul", h, h))),
                    op("Exp", op("Neg", op("Mul", op("Sub", x, h), op("Add", x, h)))))
    # Series (meant for |x| < 1).
    t = k(1.0)
    for n in range(_ERFC_SERIES_TERMS - 1, -1, -1):
        t = op("Add", k(1.0), op("Div", op("Mul", x2, t), k(n + 1.5)))
    erf = op("Mul", op("Mul", k(2.0 / np.sqrt(np.pi)), x), op("Mul", exp_neg_x2, t))
    near = op("Sub", k(1.0), erf)
    # Continued fraction (meant for |x| >= 1).
    n_terms = _ERFC_FRACTION_TERMS
    f = op("Add", x2, k(0.5 + 2 * n_terms))
    for j in range(n_terms, 0, -1):
        f = op("Sub", op("Add", x2, k(0.5 + 2 * (j - 1))), op("Div", k(j * (2 * j - 1) / 2), f))
    ax = op("Abs", x)
    tail = op("Div", op("Mul", ax, exp_neg_x2), op("Mul", k(np.sqrt(np.pi)), f))
    far = op("Where", op("Greater", x, k(0.0)), tail, op("Sub", k(2.0), tail))
    return op("Where", op("Less", ax, k(_ERFC_SERIES_CUTOFF)), near, far)


# -- models ---------------------------------------------------------------------


def _mlp_model(onnx, est):
    """The graph of a fitted MLPClassifier or MLPRegressor."""
    dtype = est.coefs_[0].dtype
    graph = _Graph(onnx, dtype)
    outputs = []
    for name, (tensor, elem_type, shape) in _mlp_outputs(graph, est, "X").items():
        graph.rename(tensor, name)
        outputs.append(onnx.helper.make_tensor_value_info(name, elem_type, shape))
    inputs = [_input(onnx, dtype, est.n_features_in_)]
    return _model(onnx, graph, f"fastmlp_{type(est).__name__}", inputs, outputs, est)


def _mlp_outputs(graph, est, x, int64_labels=False, squeeze=True, classes=None):
    """Add the network of a fitted MLPClassifier or MLPRegressor to `graph`,
    reading the tensor `x` (the model's dtype, [N, n_features_in_]).

    Returns {output name: (tensor, ONNX element type, shape)}: a classifier's
    "label" and "probabilities", a regressor's "variable" ([N] for one output
    when `squeeze`, else [N, n_outputs]). With `int64_labels`, numeric and
    boolean class labels are int64 (skl2onnx's convention, which its ZipMap
    needs; floats must then be integers). `classes` replaces ``classes_`` as
    the labels (skl2onnx's ``nocl`` option: the class indices).
    """
    from fastmlp._mlp import MLPClassifier

    onnx = graph.onnx
    # The weights predict() uses (batch norm folded into them).
    coefs, intercepts = est._prediction_params(graph.dtype)
    hidden = est._hidden_activations(len(coefs) - 1)
    # bfloat16 products (compute_dtype): predict rounds both operands of
    # every product to bfloat16 (nearest even) and sums in float32. The graph
    # does the same, so that it computes predict's numbers and not a float32
    # neighbour (off by up to 0.03 on probabilities with batch norm's larger
    # logits, issue 18): the weights stored rounded, the activations cast to
    # BFLOAT16 and back (onnxruntime rounds to nearest even too).
    bf16 = getattr(est, "compute_dtype", None) == "bfloat16"
    elem = _tensor_type(onnx, graph.dtype)
    h = x
    for i, (w, b) in enumerate(zip(coefs, intercepts)):
        if bf16:
            from fastmlp.reference import _round_bfloat16

            w = _round_bfloat16(np.asarray(w, np.float32)).astype(graph.dtype)
            h = graph.op("Cast", graph.op("Cast", h, to=onnx.TensorProto.BFLOAT16,
                                          hint=f"bf16_{i}"), to=elem, hint=f"rounded_{i}")
        z = graph.op("Add", graph.op("MatMul", h, graph.const(w, hint=f"coef_{i}")),
                     graph.const(b, hint=f"intercept_{i}"), hint=f"z_{i}")
        if i < len(hidden) and hidden[i] == "maxout":
            h = _maxout(graph, z, coefs[i + 1].shape[0])
        else:
            h = _activation(graph, hidden[i], z) if i < len(hidden) else z
    n_out = est.n_outputs_
    t = _tensor_type(onnx, graph.dtype)
    if isinstance(est, MLPClassifier):
        return _classifier_outputs(graph, est, h, n_out, t, int64_labels,
                                   est.classes_ if classes is None else classes)
    if est.out_activation_ == "exp":
        # Poisson's log link; C takes the exp in double.
        y = _in_float64(graph, h, lambda g, v: g.op("Exp", v))
    else:
        y = _activation(graph, est.out_activation_, h)
    shape = ["N", n_out]
    if n_out == 1 and squeeze:
        y = graph.op("Squeeze", y, graph.const([1], dtype=np.int64, hint="axes"))
        shape = ["N"]
    return {"variable": (y, t, shape)}


def _classifier_outputs(graph, est, z, n_out, t, int64_labels, classes):
    """label and probabilities of an MLPClassifier from its output logits z,
    as predict (LabelBinarizer.inverse_transform) and predict_proba make them."""
    onnx, c = graph.onnx, graph.const
    classes = np.asarray(classes)
    if int64_labels and classes.dtype.kind in "biuf":
        if classes.dtype.kind == "f" and not np.array_equal(classes, np.round(classes)):
            raise TypeError("skl2onnx stores numeric class labels as int64; classes_ holds "
                            f"non-integers {classes.tolist()}")
        classes = classes.astype(np.int64)
    if est.out_activation_ == "softmax":
        proba = graph.op("Softmax", z, axis=1)
        index = graph.op("ArgMax", proba, axis=1, keepdims=0)  # the first of ties, as NumPy
    elif n_out == 1:
        # Binary: p of classes_[1]; the label is classes_[1] where p > 0.5.
        p = _logistic(graph, z)
        proba = graph.op("Concat", graph.op("Sub", c(1.0), p), p, axis=1)
        index = graph.op("Squeeze", graph.to(graph.op("Greater", p, c(0.5)), np.int64),
                         c([1], dtype=np.int64, hint="axes"))
        if len(classes) == 1:
            # Trained on one class (scikit-learn's constant model): predict
            # gives that class whatever p is.
            index = graph.op("Mul", index, c(0, dtype=np.int64))
    else:
        # Multilabel: an indicator matrix, 1 where p > 0.5.
        proba = _logistic(graph, z)
        label = graph.to(graph.op("Greater", proba, c(0.5)), np.int64)
        return {"label": (label, onnx.TensorProto.INT64, ["N", n_out]),
                "probabilities": (proba, t, ["N", n_out])}
    table, cdtype = _classes_constant(graph, classes)
    label = graph.op("Gather", table, index, axis=0)
    n_columns = 2 if est.out_activation_ != "softmax" else n_out
    return {"label": (label, _tensor_type(onnx, cdtype), ["N"]),
            "probabilities": (proba, t, ["N", n_columns])}


def _perceptron_model(onnx, est):
    """The graph of a fitted Perceptron: scores X @ coef_.T + intercept_ and
    the label predict() gives."""
    dtype = est.coef_.dtype
    graph = _Graph(onnx, dtype)
    c = graph.const
    scores = graph.op("Add", graph.op("MatMul", "X", c(np.ascontiguousarray(est.coef_.T),
                                                       hint="coef")),
                      c(est.intercept_, hint="intercept"))
    classes, cdtype = _classes_constant(graph, est.classes_)
    n_units = est.coef_.shape[0]
    t = _tensor_type(onnx, dtype)
    if n_units == 1:
        # The unit fires (classes_[1]) where its score is >= 0.
        scores = graph.op("Squeeze", scores, c([1], dtype=np.int64, hint="axes"))
        index = graph.to(graph.op("GreaterOrEqual", scores, c(0.0)), np.int64)
        score_shape = ["N"]
    else:
        index = graph.op("ArgMax", scores, axis=1, keepdims=0)
        score_shape = ["N", n_units]
    graph.rename(graph.op("Gather", classes, index, axis=0), "label")
    graph.rename(scores, "scores")
    inputs = [_input(onnx, dtype, est.n_features_in_)]
    outputs = [onnx.helper.make_tensor_value_info("label", _tensor_type(onnx, cdtype), ["N"]),
               onnx.helper.make_tensor_value_info("scores", t, score_shape)]
    return _model(onnx, graph, "fastmlp_Perceptron", inputs, outputs, est)
