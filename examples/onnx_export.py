"""
Exporting to ONNX
=================

:func:`fastmlp.export_onnx` writes a fitted estimator as an ONNX graph, which
onnxruntime (and any other ONNX runtime, in other languages too) runs
without fastmlp or scikit-learn installed. Every hidden activation, batch
normalisation and output is exported; the graph computes in the model's
float type and takes any batch size.

Needs ``onnx`` and ``onnxruntime`` (``pip install onnx onnxruntime``, or
fastmlp's ``onnx`` extra).

Run: ``python onnx_export.py``
"""
import os
import tempfile
import warnings

import matplotlib.pyplot as plt
import numpy as np
import onnx
import onnxruntime as ort
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

import fastmlp

# A fixed epoch budget on purpose: no warning that training could go on.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split((X / 16).astype(np.float32), y,
                                                    test_size=0.3, random_state=0, stratify=y)

# %%
# Train and export
# ----------------
# A network with options scikit-learn's exporters do not know: gelu units
# and batch normalisation (folded into the weights, as for ``predict``).
clf = fastmlp.MLPClassifier(hidden_layer_sizes=(64, 32), activation="gelu", batch_norm=True,
                            max_iter=60, random_state=0).fit(X_train, y_train)
folder = tempfile.mkdtemp()
path = os.path.join(folder, "digits.onnx")
fastmlp.export_onnx(clf, path)
model = onnx.load(path)
print(f"{path}: {os.path.getsize(path)} bytes, opset {model.opset_import[0].version}")
print("inputs:", [i.name for i in model.graph.input])
print("outputs:", [o.name for o in model.graph.output])
print("operators:", sorted({node.op_type for node in model.graph.node}))

# %%
# Run with onnxruntime
# --------------------
# The session needs only the file. The outputs are the labels and the
# class probabilities; they agree with the estimator's to float32 rounding.
session = ort.InferenceSession(path)
label, proba = session.run(None, {"X": X_test})
print("same labels as predict:", np.array_equal(label, clf.predict(X_test)))
difference = np.abs(proba - clf.predict_proba(X_test)).max()
print(f"largest difference in probabilities: {difference:.1e}")
os.remove(path)
os.rmdir(folder)

# %%
# Some test images and what the exported model says
# -------------------------------------------------
fig, axes = plt.subplots(2, 6, figsize=(9, 3.5))
for ax, image, predicted, p in zip(axes.ravel(), X_test, label, proba):
    ax.imshow(image.reshape(8, 8), cmap="gray_r")
    ax.set_title(f"{predicted} ({p.max():.0%})", fontsize="small")
    ax.set_axis_off()
fig.suptitle("ONNX model's predictions on test digits (label, probability)")
fig.tight_layout()
plt.show()
