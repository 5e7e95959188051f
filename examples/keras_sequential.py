"""
Keras's Sequential API on fastmlp
=================================

A Keras script, with one line changed: ``from fastmlp import keras``
instead of ``import keras``. The model, ``compile``, ``fit`` with
validation data and early stopping, the ``History`` it returns,
``evaluate``, ``predict`` and ``summary()`` are Keras's, and each training
epoch runs in fastmlp's C engine, with no deep-learning framework
installed. Then the trained model becomes a scikit-learn estimator with the
same weights. The data: scikit-learn's digits, 8 x 8 images.

Run: ``python keras_sequential.py``
"""
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from fastmlp import keras  # was: import keras

digits = load_digits()
X = (digits.images / 16).astype("float32")  # (1797, 8, 8), in [0, 1]
X_train, X_test, y_train, y_test = train_test_split(X, digits.target, test_size=0.25,
                                                    random_state=0, stratify=digits.target)
keras.utils.set_random_seed(0)

# %%
# Define and compile
# ------------------
# Keras's layers and names; ``Flatten`` turns each 8 x 8 image into a row.
model = keras.Sequential([
    keras.Input(shape=(8, 8)),
    keras.layers.Flatten(),
    keras.layers.Dense(128, activation="relu"),
    keras.layers.Dropout(0.2),
    keras.layers.Dense(64),
    keras.layers.BatchNormalization(),
    keras.layers.Activation("relu"),
    keras.layers.Dense(10, activation="softmax"),
])
model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
              loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.summary()

# %%
# Train
# -----
# ``fit`` runs exactly ``epochs`` epochs unless a callback stops it; here
# early stopping on the loss of validation data held out from the training
# rows, keeping the best weights.
X_fit, X_val, y_fit, y_val = train_test_split(X_train, y_train, test_size=0.2, random_state=0,
                                              stratify=y_train)
history = model.fit(
    X_fit, y_fit, epochs=60, batch_size=32, validation_data=(X_val, y_val), verbose=2,
    callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss", patience=5,
                                             restore_best_weights=True)])
print("epochs run:", len(history.epoch), "keys:", sorted(history.history))

# %%
# Evaluate and predict
# --------------------
# ``evaluate`` returns ``[loss, accuracy]`` at Keras's scale; ``predict``
# the softmax probabilities, one column per output unit (the column index
# is the label).
loss, accuracy = model.evaluate(X_test, y_test, verbose=0)
print(f"test loss {loss:.4f}, test accuracy {accuracy:.4f}")
y_proba = model.predict(X_test[:3], verbose=0)
print(y_proba.round(2), "labels:", y_test[:3])

# %%
# The History
# -----------
# ``history.history`` holds one value per epoch for the training loss and
# accuracy (running means over the epoch's batches, dropout on) and their
# validation counterparts, plotted as one would with Keras.
fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.5))
epochs = np.arange(1, len(history.epoch) + 1)
ax_loss.plot(epochs, history.history["loss"], label="loss")
ax_loss.plot(epochs, history.history["val_loss"], label="val_loss")
ax_loss.set_xlabel("epoch")
ax_loss.set_title("loss")
ax_loss.legend()
ax_acc.plot(epochs, history.history["accuracy"], label="accuracy")
ax_acc.plot(epochs, history.history["val_accuracy"], label="val_accuracy")
ax_acc.set_xlabel("epoch")
ax_acc.set_title("accuracy")
ax_acc.legend()
fig.tight_layout()
plt.show()

# %%
# Into scikit-learn
# -----------------
# The trained model as a fitted :class:`fastmlp.MLPClassifier`: the same
# weights (batch normalisation and dropout as its parameters), so its
# ``predict_proba`` is the model's ``predict``, and scikit-learn's tools
# apply. The estimator takes flat rows.
clf = model.to_sklearn()
print(clf)
same = np.allclose(clf.predict_proba(X_test.reshape(len(X_test), -1)),
                   model.predict(X_test, verbose=0), atol=1e-5)
print("same probabilities:", same, "- accuracy:",
      clf.score(X_test.reshape(len(X_test), -1), y_test))
