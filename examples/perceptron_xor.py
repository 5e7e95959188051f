"""XOR: the problem a single layer of threshold units cannot solve.

Rosenblatt's perceptron draws one straight line through the input plane;
XOR's positive points (0, 1) and (1, 0) sit on opposite corners, so no line
separates them from (0, 0) and (1, 1), and at most 3 of the 4 points come
out right however long it trains. One hidden layer of two units bends the
boundary: a 2-2-1 MLP gets all four.

Run: python examples/perceptron_xor.py
"""
import numpy as np

from fastmlp import MLPClassifier, Perceptron


def main():
    """Train both models on XOR and print what each predicts.

    Returns
    -------
    results : dict
        Accuracy on the four points for "perceptron" and "mlp".
    """
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0, 1, 1, 0])

    perceptron = Perceptron(max_iter=1000, tol=None, random_state=0).fit(X, y)
    mlp = MLPClassifier(hidden_layer_sizes=(2,), activation="tanh", solver="lbfgs",
                        max_iter=500, random_state=1).fit(X, y)

    print("x1 x2 | XOR | perceptron | 2-2-1 MLP")
    for (a, b), target, p, m in zip(X, y, perceptron.predict(X), mlp.predict(X)):
        print(f" {a:.0f}  {b:.0f} |  {target}  |     {p}      |     {m}")
    results = {"perceptron": perceptron.score(X, y), "mlp": mlp.score(X, y)}
    print(f"\naccuracy: perceptron {results['perceptron']:.2f} (a line can get at most 0.75), "
          f"2-2-1 MLP {results['mlp']:.2f}")
    return results


if __name__ == "__main__":
    main()
