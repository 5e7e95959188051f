"""fastmlp: multilayer perceptrons for Python on the CPU.

C kernels (``csrc/``) behind a thin Cython binding (:mod:`fastmlp.kernels`),
a plain-NumPy twin of every kernel (:mod:`fastmlp.reference`) and, on top,
scikit-learn-style estimators.
"""
from fastmlp._version import __version__

from fastmlp._config import _init_from_environment, get_config, set_config, show_config

_init_from_environment()

from fastmlp._convert import from_keras, from_sklearn, to_keras  # noqa: E402
from fastmlp._mlp import MLPClassifier, MLPRegressor  # noqa: E402 (needs the kernels set up)
from fastmlp._perceptron import Perceptron  # noqa: E402
from fastmlp._persist import InconsistentVersionWarning, trusted_types  # noqa: E402
from fastmlp._onnx import export_onnx  # noqa: E402
from fastmlp import _skl2onnx  # noqa: E402

# skl2onnx.to_onnx converts pipelines holding fastmlp's MLPs: registered when
# skl2onnx is (or gets) imported, never importing it here.
_skl2onnx.install()

__all__ = ["__version__", "MLPClassifier", "MLPRegressor", "Perceptron", "from_sklearn",
           "from_keras", "to_keras",
           "get_config", "set_config", "show_config"]
__all__ += ["InconsistentVersionWarning", "export_onnx", "trusted_types"]
