"""
A Keras workflow, written with fastmlp
======================================

The usual Keras script for a small image classifier, and the same steps
with fastmlp: define, train with validation data, early stopping and
checkpoints, evaluate, predict, save and load. Keras's code is shown as
comments (Keras is not needed); fastmlp's runs, on scikit-learn's digits
(8 x 8 images, 64 pixels).

Run: ``python keras_workflow.py``
"""
import os
import pickle
import shutil
import tempfile

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split

from fastmlp import MLPClassifier
from fastmlp.callbacks import EarlyStopping, ModelCheckpoint
from fastmlp.plot import plot_learning_curve

X, y = load_digits(return_X_y=True)
X, X_test, y, y_test = train_test_split((X / 16).astype(np.float32), y, test_size=0.25,
                                        random_state=0, stratify=y)

# %%
# Define the model
# ----------------
# In Keras, layers and the optimizer::
#
#     model = keras.Sequential([
#         keras.Input(shape=(64,)),
#         keras.layers.Dense(128, activation="relu"),
#         keras.layers.Dropout(0.2),
#         keras.layers.Dense(10, activation="softmax"),
#     ])
#     model.compile(optimizer=keras.optimizers.Adam(1e-3),
#                   loss="sparse_categorical_crossentropy", metrics=["accuracy"])
#
# In fastmlp, one estimator: the output layer (softmax over the classes
# found in ``y``) and the loss (cross-entropy) follow from the task, and the
# training options are parameters. ``alpha=0`` leaves out scikit-learn's
# default L2 penalty, which Keras does not add.
checkpoints = tempfile.mkdtemp()  # removed at the end
model = MLPClassifier(
    hidden_layer_sizes=(128,), activation="relu", dropout=0.2,
    solver="adam", learning_rate_init=1e-3, alpha=0.0,
    batch_size=32, max_iter=100, random_state=0,
    callbacks=[EarlyStopping(monitor="validation_loss", patience=3, restore_best_weights=True),
               ModelCheckpoint(os.path.join(checkpoints, "model-{epoch:02d}.pkl"), every=5)],
)

# %%
# Train
# -----
# Keras::
#
#     history = model.fit(X, y, epochs=100, batch_size=32, validation_split=0.1,
#                         callbacks=[keras.callbacks.EarlyStopping(patience=3,
#                                                                  restore_best_weights=True),
#                                    keras.callbacks.ModelCheckpoint("model-{epoch:02d}.keras")])
#
# fastmlp takes the validation set explicitly; the history is on the model.
X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.1, random_state=0,
                                                  stratify=y)
model.fit(X_train, y_train, validation_data=(X_val, y_val))
print(f"stopped after {model.n_iter_} epochs; best validation loss "
      f"{min(model.validation_loss_curve_):.4f}")
print("history: loss", np.round(model.loss_curve_[:5], 4), "...")
print("checkpoints:", sorted(os.listdir(checkpoints)))

# %%
# Evaluate and predict
# --------------------
# Keras: ``model.evaluate(X_test, y_test)``, ``model.predict(X_test)`` (the
# probabilities), then ``argmax`` for the labels. fastmlp: ``score``,
# ``predict_proba`` and ``predict``, which gives the labels themselves.
proba = model.predict_proba(X_test)
print(f"test loss {log_loss(y_test, proba):.4f}, test accuracy {model.score(X_test, y_test):.4f}")
print("classes:", model.classes_, "first predictions:", model.predict(X_test[:8]))

# %%
# Look inside
# -----------
# Keras's ``model.summary()`` lists the layers; fastmlp's estimators have
# the same method (it prints the table and returns it as a string). The
# weight matrices themselves are ``coefs_`` and ``intercepts_``.
model.summary()
print("weights:", [w.shape for w in model.coefs_])

# %%
# The history
# -----------
# Keras's ``history.history`` is the estimator's ``history_``: one entry
# per epoch for the training loss, the learning rate, the time and the
# validation loss and score. :func:`~fastmlp.plot.plot_learning_curve`
# draws it, as one would plot ``history.history`` in Keras.
print("history keys:", sorted(model.history_))
ax = plot_learning_curve(model)
ax.set_title("training and validation loss; validation accuracy (right)")
ax.figure.tight_layout()
plt.show()

# %%
# Save and load
# -------------
# ``model.save`` / ``keras.models.load_model`` become pickle (or joblib),
# and training can go on after loading.
path = os.path.join(checkpoints, "model.pkl")
with open(path, "wb") as f:
    pickle.dump(model, f)
with open(path, "rb") as f:
    loaded = pickle.load(f)
same = np.array_equal(loaded.predict_proba(X_test), proba)
print("loaded model predicts the same:", same)
shutil.rmtree(checkpoints)  # the checkpoints and the saved model were for show
