"""
The perceptron and XOR
======================

XOR: the problem a single layer of threshold units cannot solve.

Rosenblatt's perceptron draws one straight line through the input plane;
XOR's positive points (0, 1) and (1, 0) sit on opposite corners, so no line
separates them from (0, 0) and (1, 1), and at most 3 of the 4 points come
out right however long it trains. One hidden layer of two units bends the
boundary: a 2-2-1 MLP gets all four.

Run: ``python perceptron_xor.py``
"""
import matplotlib.pyplot as plt
import numpy as np

from fastmlp import MLPClassifier, Perceptron

X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
y = np.array([0, 1, 1, 0])

# %%
# Train both
# ----------
# The perceptron passes over the four points a thousand times; the MLP has
# two tanh units and is fitted with L-BFGS, which suits a tiny problem.
perceptron = Perceptron(max_iter=1000, tol=None, random_state=0).fit(X, y)
mlp = MLPClassifier(hidden_layer_sizes=(2,), activation="tanh", solver="lbfgs",
                    max_iter=500, random_state=1).fit(X, y)

print("x1 x2 | XOR | perceptron | 2-2-1 MLP")
for (a, b), target, p, m in zip(X, y, perceptron.predict(X), mlp.predict(X)):
    print(f" {a:.0f}  {b:.0f} |  {target}  |     {p}      |     {m}")
results = {"perceptron": perceptron.score(X, y), "mlp": mlp.score(X, y)}
print(f"\naccuracy: perceptron {results['perceptron']:.2f} (a line can get at most 0.75), "
      f"2-2-1 MLP {results['mlp']:.2f}")

# %%
# What each one draws
# -------------------
# The perceptron's decision boundary is a line; the MLP's bends around the
# corners.
grid = np.linspace(-0.5, 1.5, 201)
xx, yy = np.meshgrid(grid, grid)
points = np.c_[xx.ravel(), yy.ravel()]
fig, axes = plt.subplots(1, 2, figsize=(8, 4), sharey=True)
for ax, (name, model) in zip(axes, [("perceptron", perceptron), ("2-2-1 MLP", mlp)]):
    ax.contourf(xx, yy, model.predict(points).reshape(xx.shape), levels=[-0.5, 0.5, 1.5],
                colors=["#dde", "#edd"])
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="coolwarm", s=120, edgecolors="k")
    ax.set_title(f"{name}: accuracy {model.score(X, y):.2f}")
    ax.set_xlabel("x1")
axes[0].set_ylabel("x2")
fig.tight_layout()
plt.show()
