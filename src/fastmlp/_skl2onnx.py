"""fastmlp's MLPs in skl2onnx: ``skl2onnx.to_onnx(pipeline, X[:1])`` for a
Pipeline that ends in (or holds) a fastmlp MLPClassifier or MLPRegressor.

Design
------
skl2onnx finds a converter by the model's class, in tables that
``skl2onnx.update_registered_converter`` fills. :func:`register` puts
fastmlp's two MLPs there: a shape calculator (output types and shapes) and
a converter that adds the graph of :func:`fastmlp.export_onnx` (the same
function, ``_onnx._mlp_outputs``: every activation, batch norm folded as
predict folds it) to skl2onnx's graph, with names from skl2onnx's scope.

The input's dtype is what skl2onnx gives (float32 for ``X[:1]`` of float32,
float64 for float64), which need not be the model's dtype: as ``predict``,
the graph casts the input to the model's dtype, computes there, and returns
the probabilities (or regression values) in the input's dtype, skl2onnx's
convention (float32 when they feed skl2onnx's ZipMap, which takes no
other type). Labels follow skl2onnx's convention too: int64 for numeric and
boolean classes, strings for str; the default ``zipmap`` option turns the
probabilities into a list of dicts, as for scikit-learn's classifiers
(``options={id(mlp): {"zipmap": False}}`` keeps the matrix).

No import cost: ``import fastmlp`` calls :func:`install`, which registers at
once if skl2onnx is already imported, and otherwise adds a finder to
``sys.meta_path`` that registers right after skl2onnx is first imported
(and then removes itself); when skl2onnx is not installed it does nothing.
"""
import importlib.abc
import importlib.util
import sys
import warnings

import numpy as np

__all__ = ["install", "register"]

# Every operator of the graph has had its current semantics since opset 13
# (Squeeze's axes as an input, Softmax over one axis).
_MIN_OPSET = 13
_registered = False


def register():
    """Register fastmlp's MLPClassifier and MLPRegressor with skl2onnx.

    Called automatically (see the module docstring); calling it again does
    nothing.

    Raises
    ------
    ImportError
        If skl2onnx is not installed.
    """
    global _registered
    if _registered:
        return
    from skl2onnx import update_registered_converter

    from fastmlp._mlp import MLPClassifier, MLPRegressor

    update_registered_converter(
        MLPClassifier, "FastmlpMLPClassifier", _shape_calculator, _convert,
        options={"zipmap": [True, False, "columns"], "output_class_labels": [False, True],
                 "nocl": [False, True]})
    update_registered_converter(MLPRegressor, "FastmlpMLPRegressor", _shape_calculator,
                                _convert)
    _registered = True


def _register_quietly():
    """register(), with a warning instead of an exception (from inside the
    import of skl2onnx, which must not fail because of fastmlp)."""
    try:
        register()
    except Exception as exc:  # pragma: no cover - an incompatible skl2onnx
        warnings.warn(f"fastmlp could not register its MLPs with skl2onnx: {exc!r}; "
                      "skl2onnx.to_onnx will not convert them", RuntimeWarning, stacklevel=2)


def install():
    """Register with skl2onnx now if it is imported, else when it is."""
    if "skl2onnx" in sys.modules:
        _register_quietly()
        return
    if any(isinstance(f, _RegisterAfterImport) for f in sys.meta_path):
        return
    try:
        if importlib.util.find_spec("skl2onnx") is None:
            return
    except (ImportError, ValueError):
        return
    sys.meta_path.insert(0, _RegisterAfterImport())


class _RegisterAfterImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself: for skl2onnx it takes the spec the other
    finders give and wraps its loader so that register() runs once the
    package's __init__ has run."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "skl2onnx":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        spec.loader = _RegisteringLoader(spec.loader)
        return spec


class _RegisteringLoader(importlib.abc.Loader):
    """A loader that runs another and then register()."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        _register_quietly()

    def __getattr__(self, name):  # resources, get_filename, ...: the real loader's
        return getattr(self._loader, name)


# -- shape calculator and converter ------------------------------------------------


def _float_type(variable):
    """np.float32 or np.float64 for a skl2onnx tensor variable's type."""
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    if isinstance(variable.type, DoubleTensorType):
        return np.float64
    if isinstance(variable.type, FloatTensorType):
        return np.float32
    raise TypeError(f"fastmlp's MLPs take float32 or float64 input in skl2onnx, got "
                    f"{type(variable.type).__name__} (cast the data first)")


def _nocl(scope, est):
    """skl2onnx's option nocl: class indices instead of the labels."""
    return bool(scope.get_options(est, dict(nocl=False))["nocl"])


def _output_dtype(scope, est, in_dtype):
    """The dtype of the probabilities or values: the input's, but float32
    for a classifier whose probabilities go to skl2onnx's ZipMap (the
    default zipmap option), which takes float32 only (skl2onnx's own
    classifiers fail to load there with float64 input)."""
    from fastmlp._mlp import MLPClassifier

    if isinstance(est, MLPClassifier) and scope.get_options(est, dict(zipmap=True))["zipmap"]:
        return np.dtype(np.float32)
    return np.dtype(in_dtype)


def _shape_calculator(operator):
    """Output types and shapes: label (int64 or string) and probabilities for
    a classifier, variable for a regressor, in the input's float type."""
    from skl2onnx.common.data_types import (
        DoubleTensorType,
        FloatTensorType,
        Int64TensorType,
        StringTensorType,
    )

    from fastmlp._mlp import MLPClassifier

    est = operator.raw_operator
    x = operator.inputs[0]
    out_dtype = _output_dtype(operator.scope_inst, est, _float_type(x))
    tensor = DoubleTensorType if out_dtype == np.float64 else FloatTensorType
    n = x.get_first_dimension()
    if not isinstance(est, MLPClassifier):
        operator.outputs[0].type = tensor([n, est.n_outputs_])
        return
    multilabel = est.out_activation_ != "softmax" and est.n_outputs_ > 1
    n_columns = est.n_outputs_ if (multilabel or est.out_activation_ == "softmax") else 2
    if multilabel:
        label = Int64TensorType([n, est.n_outputs_])
    elif _nocl(operator.scope_inst, est) or np.asarray(est.classes_).dtype.kind in "biuf":
        label = Int64TensorType([n])
    else:
        label = StringTensorType([n])
    operator.outputs[0].type = label
    operator.outputs[1].type = tensor([n, n_columns])


def _convert(scope, operator, container):
    """Add the MLP's graph (fastmlp._onnx._mlp_outputs) to skl2onnx's."""
    from onnx import helper

    from fastmlp._mlp import MLPClassifier
    from fastmlp._onnx import _Graph, _import_onnx, _mlp_outputs

    if container.target_opset is not None and container.target_opset < _MIN_OPSET:
        raise RuntimeError(f"fastmlp's MLP graph needs opset >= {_MIN_OPSET}, "
                           f"target_opset is {container.target_opset}")
    onnx = _import_onnx()
    est = operator.raw_operator
    model_dtype = est.coefs_[0].dtype
    in_dtype = np.dtype(_float_type(operator.inputs[0]))
    graph = _Graph(onnx, model_dtype, unique_name=scope.get_unique_variable_name)
    x = operator.inputs[0].full_name
    if in_dtype != model_dtype:
        x = graph.to(x, model_dtype)
    classes = None
    if isinstance(est, MLPClassifier) and _nocl(scope, est):
        classes = np.arange(len(est.classes_))
    outputs = _mlp_outputs(graph, est, x, int64_labels=True, squeeze=False, classes=classes)
    names = ["label", "probabilities"] if isinstance(est, MLPClassifier) else ["variable"]
    out_dtype = _output_dtype(scope, est, in_dtype)
    for name, variable in zip(names, operator.outputs):
        tensor, elem_type, _ = outputs[name]
        if name != "label" and out_dtype != model_dtype:
            tensor = graph.to(tensor, out_dtype)
        graph.nodes.append(helper.make_node("Identity", [tensor], [variable.full_name]))
    for init in graph.initializers:
        if init.data_type == onnx.TensorProto.STRING:
            container.add_initializer(init.name, init.data_type, list(init.dims),
                                      list(init.string_data))
        else:
            container.add_initializer(init.name, init.data_type, list(init.dims), init)
    for node in graph.nodes:
        attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        container.add_node(node.op_type, list(node.input), list(node.output),
                           name=scope.get_unique_operator_name(f"Fastmlp{node.op_type}"),
                           op_version=_MIN_OPSET, **attributes)
