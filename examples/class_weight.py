"""
Class weights for imbalanced classes
====================================

On a two-class problem where one class has 5% of the samples, a classifier
can score 95% accuracy by predicting the majority class, and a plain MLP
leans that way: it misses many of the rare class. ``class_weight``
(scikit-learn's MLP does not have it) weights each sample's loss by its
class: ``'balanced'`` uses ``n_samples / (n_classes * count)``, so both
classes weigh the same in total; a dict sets the weights by hand.

Run: ``python class_weight.py``
"""
import warnings

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import balanced_accuracy_score, recall_score
from sklearn.model_selection import train_test_split

from fastmlp import MLPClassifier

warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, y = make_classification(n_samples=3000, n_features=2, n_redundant=0, n_clusters_per_class=1,
                           weights=[0.95], class_sep=0.8, random_state=3)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.5, random_state=0,
                                                    stratify=y)
print("share of the rare class:", y.mean().round(3))

# %%
# Without and with class weights
# ------------------------------
WEIGHTS = {"none": None, "balanced": "balanced", "{0: 1, 1: 5}": {0: 1, 1: 5}}
models, recall = {}, {}
for name, class_weight in WEIGHTS.items():
    est = MLPClassifier(hidden_layer_sizes=(16,), class_weight=class_weight,
                        learning_rate_init=0.01, max_iter=100, random_state=0)
    models[name] = est.fit(X_train, y_train)
    pred = est.predict(X_test)
    recall[name] = recall_score(y_test, pred)
    print(f"class_weight={name:>13}: accuracy {est.score(X_test, y_test):.3f}, "
          f"balanced accuracy {balanced_accuracy_score(y_test, pred):.3f}, "
          f"recall of the rare class {recall[name]:.3f}")

# %%
# The decision boundaries
# -----------------------
# Weighting the rare class moves the boundary into the majority class: more
# of the rare class is found, at the price of some false alarms.
xx, yy = np.meshgrid(np.linspace(X[:, 0].min(), X[:, 0].max(), 200),
                     np.linspace(X[:, 1].min(), X[:, 1].max(), 200))
grid = np.c_[xx.ravel(), yy.ravel()]
fig, ax = plt.subplots(figsize=(6.5, 5))
ax.scatter(X_test[:, 0], X_test[:, 1], c=y_test, cmap="coolwarm", s=6, alpha=0.6)
handles = []
for (name, est), color in zip(models.items(), ["k", "C2", "C4"]):
    proba = est.predict_proba(grid)[:, 1].reshape(xx.shape)
    ax.contour(xx, yy, proba, levels=[0.5], colors=color)
    handles.append(Line2D([], [], color=color,
                          label=f"{name}: rare-class recall {recall[name]:.2f}"))
ax.legend(handles=handles, loc="upper left", fontsize="small")
ax.set_title("decision boundary (p = 0.5) per class_weight")
fig.tight_layout()
plt.show()
