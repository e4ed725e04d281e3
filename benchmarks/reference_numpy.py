"""Hand-vectorised NumPy reference: 3Blue1Brown's network trained with mini-batch SGD.

The same network and math as ``tinygrad_lite``'s ``MLP(784, [16, 16, 10])`` with the quadratic
cost C₀ = Σⱼ (aⱼ − yⱼ)² averaged over the mini-batch and SGD (v ← μv + ∇C, p ← p − lr·v),
written directly with matrices the way one would by hand (row-major batches, ``X @ W.T``,
back-propagation of δ = ∂C/∂z layer by layer). It is the speed reference of
``bench_compiled.py`` and a second, independent check of the compiled program's numbers.

Weights can be copied from an ``MLP`` (:meth:`NumpyMLP.from_mlp`) so that both start equal.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

__all__ = ["NumpyMLP"]


class NumpyMLP:
    """A sigmoid MLP with the quadratic cost, trained by mini-batch SGD with momentum.

    Args:
        sizes: layer sizes including the input, e.g. ``[784, 16, 16, 10]``.
        seed: seeds the initial weights (uniform in ±1/√nin, as ``tinygrad_lite.nn``).
        lr, momentum: the SGD settings.
    """

    def __init__(self, sizes: Sequence[int], seed: int = 0, lr: float = 3.0,
                 momentum: float = 0.0) -> None:
        rng = np.random.default_rng(seed)
        self.sizes = list(sizes)
        self.weights = []
        self.biases = []
        for nin, nout in zip(sizes, sizes[1:]):
            bound = 1.0 / np.sqrt(nin)
            self.weights.append(rng.uniform(-bound, bound, (nout, nin)))
            self.biases.append(rng.uniform(-bound, bound, nout))
        self.lr = lr
        self.momentum = momentum
        self.velocity = [np.zeros_like(p) for p in self.weights + self.biases]

    @classmethod
    def from_mlp(cls, model: Any, lr: float = 3.0, momentum: float = 0.0) -> "NumpyMLP":
        """A copy of a ``tinygrad_lite.nn.MLP``'s current weights (sigmoid layers only)."""
        net = cls([model.nin, *model.nouts], lr=lr, momentum=momentum)
        for i, layer in enumerate(model.layers):
            net.weights[i] = np.array([[w.data for w in n.w] for n in layer.neurons])
            net.biases[i] = np.array([n.b.data for n in layer.neurons])
        return net

    def flat_parameters(self) -> np.ndarray:
        """The parameters in ``MLP.parameters()`` order (neuron by neuron, weights then bias)."""
        return np.concatenate([np.hstack([W, b[:, None]]).ravel()
                               for W, b in zip(self.weights, self.biases)])

    def forward(self, X: np.ndarray) -> list[np.ndarray]:
        """The activations of every layer for a batch ``X`` (b, nin), input first."""
        acts = [X]
        for W, b in zip(self.weights, self.biases):
            z = acts[-1] @ W.T + b
            acts.append(1.0 / (1.0 + np.exp(-z)))
        return acts

    def gradients(self, X: np.ndarray, Y: np.ndarray) -> tuple[float, list[np.ndarray]]:
        """(mean cost, [∂C/∂W per layer] + [∂C/∂b per layer]) for a batch."""
        acts = self.forward(X)
        out = acts[-1]
        diff = out - Y
        n = len(X)
        cost = float(np.einsum("ij,ij->", diff, diff)) / n
        delta = (2.0 / n) * diff * out * (1.0 - out)  # ∂C/∂z of the last layer
        gw: list[np.ndarray] = [np.empty(0)] * len(self.weights)
        gb: list[np.ndarray] = [np.empty(0)] * len(self.weights)
        for layer in range(len(self.weights) - 1, -1, -1):
            gw[layer] = delta.T @ acts[layer]
            gb[layer] = delta.sum(axis=0)
            if layer:
                a = acts[layer]
                delta = (delta @ self.weights[layer]) * a * (1.0 - a)
        return cost, gw + gb

    def train_batch(self, X: np.ndarray, Y: np.ndarray) -> float:
        """One SGD step on a mini-batch (``Y`` one-hot, shape (b, 10)); returns its mean cost."""
        cost, grads = self.gradients(X, Y)
        params = self.weights + self.biases
        if self.momentum:
            for p, v, g in zip(params, self.velocity, grads):
                v *= self.momentum
                v += g
                p -= self.lr * v
        else:
            for p, g in zip(params, grads):
                p -= self.lr * g
        return cost
