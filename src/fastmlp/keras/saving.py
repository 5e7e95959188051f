"""Keras 3's ``.keras`` files for Sequential MLPs (``keras.saving``).

A ``.keras`` file is a zip archive of ``metadata.json`` (the Keras version,
the date), ``config.json`` (the model's class and ``get_config``, its
build and compile configurations) and ``model.weights.h5``, an HDF5 file
holding each layer's weights at ``layers/<layer name>/vars/<i>`` in
Keras's order. fastmlp.keras reads the files Keras writes for the models
it has (Sequential stacks of :data:`fastmlp.keras.layers.SUPPORTED`) and
writes files of the same layout. Optimizer state is neither written nor
read (a loaded model is recompiled from its compile configuration).

Reading and writing the weights needs h5py (``pip install fastmlp[keras]``).
"""
import datetime
import io
import json
import os
import zipfile

import numpy as np

__all__ = ["save_model", "load_model", "model_to_arrays", "model_from_arrays"]

_CONFIG, _METADATA, _WEIGHTS = "config.json", "metadata.json", "model.weights.h5"
# The Keras version the files say they are written by (the layout of 3.x).
KERAS_VERSION = "3.15.1"


def _h5py():
    try:
        import h5py
    except ImportError as exc:
        raise ImportError("reading and writing .keras files needs h5py: pip install h5py "
                          "(or fastmlp[keras])") from exc
    return h5py


def model_to_arrays(model):
    """The content of a ``.keras`` file: the config dict and the weights.

    Parameters
    ----------
    model : Sequential

    Returns
    -------
    config : dict
        ``{"module", "class_name", "config", "registered_name",
        "build_config", "compile_config"}`` as Keras writes ``config.json``.
    weights : dict
        Layer name -> list of ndarray (Keras's order).
    """
    config = {"module": "keras", "class_name": "Sequential", "config": model.get_config(),
              "registered_name": None}
    if model.input_shape is not None:
        config["build_config"] = {"input_shape": list(model.input_shape)}
    if model.compiled:
        config["compile_config"] = {
            "optimizer": {"module": "keras.optimizers",
                          "class_name": type(model.optimizer).__name__,
                          "config": model.optimizer.get_config(), "registered_name": None},
            "loss": model.loss.name, "loss_weights": None,
            "metrics": [m for m in model._metric_ids if isinstance(m, str)] or None,
            "weighted_metrics": None, "run_eagerly": False, "steps_per_execution": 1,
            "jit_compile": True}
    weights = {layer.name: layer.get_weights() for layer in model.layers}
    return config, weights


def model_from_arrays(config, weights, compile=True):
    """A model from a ``.keras`` file's config and weights.

    Parameters
    ----------
    config : dict
        As :func:`model_to_arrays` returns it (or Keras's ``config.json``).
    weights : dict
        Layer name -> list of arrays.
    compile : bool, default=True
        Compile from ``compile_config`` when there is one.

    Returns
    -------
    Sequential
    """
    from fastmlp.keras.models import Sequential

    if config.get("class_name") != "Sequential":
        raise NotImplementedError(f"fastmlp.keras loads Sequential models; this file holds a "
                                  f"{config.get('class_name')!r}")
    model = Sequential.from_config(config["config"])
    if not model.built and config.get("build_config"):
        model.build(tuple(config["build_config"]["input_shape"]))
    for layer in model.layers:
        if layer.built and layer._weight_specs():
            layer.set_weights(weights.get(layer.name, []))
    compile_config = config.get("compile_config")
    if compile and compile_config:
        loss = compile_config.get("loss")
        if isinstance(loss, dict):
            loss = loss.get("config", {}).get("name") or loss.get("class_name")
        model.compile(optimizer=compile_config["optimizer"], loss=loss,
                      metrics=compile_config.get("metrics"))
    return model


def save_model(model, filepath, overwrite=True):
    """Write a ``.keras`` file (``model.save(filepath)``).

    Parameters
    ----------
    model : Sequential
    filepath : str or path
        Ending in ``.keras``.
    overwrite : bool, default=True
    """
    filepath = os.fspath(filepath)
    if not filepath.endswith(".keras"):
        raise ValueError(f"The filename must end in `.keras`. Received: filepath={filepath}")
    if os.path.exists(filepath) and not overwrite:
        raise FileExistsError(filepath)
    h5py = _h5py()
    config, weights = model_to_arrays(model)
    metadata = {"keras_version": KERAS_VERSION,
                "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")}
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        layers = f.create_group("layers")
        for name, arrays in weights.items():
            group = layers.create_group(name).create_group("vars")
            group.attrs["name"] = name
            for i, a in enumerate(arrays):
                group.create_dataset(str(i), data=a)
        f.create_group("vars").attrs["name"] = model.name
    with zipfile.ZipFile(filepath, "w") as z:
        z.writestr(_METADATA, json.dumps(metadata))
        z.writestr(_CONFIG, json.dumps(config))
        z.writestr(_WEIGHTS, buf.getvalue())


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Read a ``.keras`` file written by Keras 3 or by :func:`save_model`.

    Parameters
    ----------
    filepath : str or path
    custom_objects : None
        Not supported.
    compile : bool, default=True
    safe_mode : bool, default=True
        Accepted (no code is ever deserialised).

    Returns
    -------
    Sequential
    """
    if custom_objects:
        raise NotImplementedError("fastmlp.keras has no custom objects")
    h5py = _h5py()
    with zipfile.ZipFile(os.fspath(filepath)) as z:
        config = json.loads(z.read(_CONFIG))
        data = z.read(_WEIGHTS)
    weights = {}
    with h5py.File(io.BytesIO(data), "r") as f:
        if "layers" in f:
            for name, group in f["layers"].items():
                vars_ = group.get("vars")
                if vars_ is not None:
                    weights[name] = [np.asarray(vars_[str(i)]) for i in range(len(vars_))]
    return model_from_arrays(config, weights, compile=compile)
