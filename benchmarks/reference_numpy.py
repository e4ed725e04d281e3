"""Hand-vectorised NumPy references: 3Blue1Brown's network trained with mini-batch SGD.

The same network and math as ``tinygrad_lite``'s ``MLP(784, [16, 16, 10])`` with the quadratic
cost C₀ = Σⱼ (aⱼ − yⱼ)² averaged over the mini-batch and SGD (v ← μv + ∇C, p ← p − lr·v),
written directly with matrices (row-major batches, ``X @ W.T``, back-propagation of
δ = ∂C/∂z layer by layer), twice:

* :class:`TunedNumpyMLP`, the speed reference of ``bench_compiled.py``: the fastest NumPy we
  know how to write by hand for this network. One flat parameter vector, each layer a view of
  it as an (n_out, n_in + 1) block [W | b] (the order of ``MLP.parameters()``); the activations
  of the hidden layers carry a column of ones, so one matmul applies weights and bias forward
  and gives both their gradients backward; every buffer is allocated once per batch size and
  every operation writes with ``out=``; the learning rate is folded into δ of the last layer,
  so without momentum the update is one subtraction. Works in float64 or float32.
* :class:`NumpyMLP`, the plain version one writes first (a new array per operation, a list of
  weights and a list of biases): the previous reference, kept as a second row.

Weights can be copied from an ``MLP`` (``from_mlp``) so that each starts equal to the model.
``python benchmarks/reference_numpy.py`` checks that the two compute the same cost, gradients
and steps (``test_reference_numpy.py`` does the same under pytest).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

__all__ = ["NumpyMLP", "TunedNumpyMLP", "check_same_math"]


def _initial_weights(sizes: Sequence[int], seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(W, b) per layer, uniform in ±1/√nin as ``tinygrad_lite.nn`` (float64)."""
    rng = np.random.default_rng(seed)
    layers = []
    for nin, nout in zip(sizes, sizes[1:]):
        bound = 1.0 / np.sqrt(nin)
        layers.append((rng.uniform(-bound, bound, (nout, nin)), rng.uniform(-bound, bound, nout)))
    return layers


def _mlp_weights(model: Any) -> list[tuple[np.ndarray, np.ndarray]]:
    """(W, b) per layer of a ``tinygrad_lite.nn.MLP`` (sigmoid layers only)."""
    for layer in model.layers:
        if any(n.activation != "sigmoid" for n in layer.neurons):
            raise ValueError("the NumPy references implement sigmoid layers only")
    return [(np.array([[w.data for w in n.w] for n in layer.neurons]),
             np.array([n.b.data for n in layer.neurons])) for layer in model.layers]


class NumpyMLP:
    """The plain NumPy version: a sigmoid MLP with the quadratic cost, mini-batch SGD.

    Args:
        sizes: layer sizes including the input, e.g. ``[784, 16, 16, 10]``.
        seed: seeds the initial weights (uniform in ±1/√nin, as ``tinygrad_lite.nn``).
        lr, momentum: the SGD settings.
        dtype: of the weights (``np.float64`` or ``np.float32``; inputs should match).
    """

    def __init__(self, sizes: Sequence[int], seed: int = 0, lr: float = 3.0,
                 momentum: float = 0.0, dtype: Any = np.float64) -> None:
        self.sizes = list(sizes)
        layers = _initial_weights(sizes, seed)
        self.weights = [W.astype(dtype) for W, _ in layers]
        self.biases = [b.astype(dtype) for _, b in layers]
        self.lr = lr
        self.momentum = momentum
        self.velocity = [np.zeros_like(p) for p in self.weights + self.biases]

    @classmethod
    def from_mlp(cls, model: Any, lr: float = 3.0, momentum: float = 0.0,
                 dtype: Any = np.float64) -> "NumpyMLP":
        """A copy of a ``tinygrad_lite.nn.MLP``'s current weights (sigmoid layers only)."""
        net = cls([model.nin, *model.nouts], lr=lr, momentum=momentum, dtype=dtype)
        for i, (W, b) in enumerate(_mlp_weights(model)):
            net.weights[i], net.biases[i] = W.astype(dtype), b.astype(dtype)
        return net

    def flat_parameters(self) -> np.ndarray:
        """The parameters in ``MLP.parameters()`` order (neuron by neuron, weights then bias)."""
        return np.concatenate([np.hstack([W, b[:, None]]).ravel()
                               for W, b in zip(self.weights, self.biases)])

    def flat_gradient(self, X: np.ndarray, Y: np.ndarray) -> tuple[float, np.ndarray]:
        """(mean cost, ∇C in ``flat_parameters()`` order) for a batch."""
        cost, grads = self.gradients(X, Y)
        n = len(self.weights)
        return cost, np.concatenate([np.hstack([gW, gb[:, None]]).ravel()
                                     for gW, gb in zip(grads[:n], grads[n:])])

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


def _sigmoid(z: np.ndarray, a: np.ndarray) -> None:
    """a = σ(z) = 1 / (1 + e^(−z)), in place (z is overwritten); e^(−z) = inf gives 0."""
    np.negative(z, out=z)
    np.exp(z, out=z)
    np.add(z, 1.0, out=z)
    np.divide(1.0, z, out=a)


# A compiled kernel: (X, Y, c) -> mean cost, writing c·b/2 · ∇C into the flat gradient.
Kernel = Callable[[np.ndarray, np.ndarray, float], float]


class TunedNumpyMLP:
    """The tuned NumPy version: the same network, math and API as :class:`NumpyMLP`.

    Args:
        sizes: layer sizes including the input, e.g. ``[784, 16, 16, 10]``.
        seed: seeds the initial weights (the same weights as ``NumpyMLP(sizes, seed)``).
        lr, momentum: the SGD settings.
        dtype: ``np.float64`` or ``np.float32``; inputs and targets must have it too.

    Attributes:
        theta: the flat parameters in ``MLP.parameters()`` order; ``blocks[l]`` is layer l's
            [W | b] view of it. ``grad``: the flat gradient buffer (same layout).
    """

    def __init__(self, sizes: Sequence[int], seed: int = 0, lr: float = 3.0,
                 momentum: float = 0.0, dtype: Any = np.float64) -> None:
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float64, np.float32):
            raise ValueError(f"dtype must be float64 or float32, got {self.dtype}")
        if len(sizes) < 2 or any(int(s) < 1 for s in sizes):
            raise ValueError(f"sizes must be ≥ 2 positive layer sizes, got {list(sizes)}")
        self.sizes = [int(s) for s in sizes]
        self.lr = lr
        self.momentum = momentum
        shapes = [(nout, nin + 1) for nin, nout in zip(self.sizes, self.sizes[1:])]
        total = sum(r * c for r, c in shapes)
        self.theta = np.empty(total, self.dtype)
        self.grad = np.zeros(total, self.dtype)
        self.velocity = np.zeros(total, self.dtype)
        self._tmp = np.empty(total, self.dtype)
        self.blocks = self._views(self.theta, shapes)
        self._grad_blocks = self._views(self.grad, shapes)
        self._kernels: dict[int, Kernel] = {}
        self._set_layers(_initial_weights(self.sizes, seed))

    @staticmethod
    def _views(flat: np.ndarray, shapes: list[tuple[int, int]]) -> list[np.ndarray]:
        views, start = [], 0
        for rows, cols in shapes:
            views.append(flat[start:start + rows * cols].reshape(rows, cols))
            start += rows * cols
        return views

    def _set_layers(self, layers: list[tuple[np.ndarray, np.ndarray]]) -> None:
        for block, (W, b) in zip(self.blocks, layers):
            block[:, :-1] = W
            block[:, -1] = b

    @classmethod
    def from_mlp(cls, model: Any, lr: float = 3.0, momentum: float = 0.0,
                 dtype: Any = np.float64) -> "TunedNumpyMLP":
        """A copy of a ``tinygrad_lite.nn.MLP``'s current weights (sigmoid layers only)."""
        net = cls([model.nin, *model.nouts], lr=lr, momentum=momentum, dtype=dtype)
        net._set_layers(_mlp_weights(model))
        return net

    def flat_parameters(self) -> np.ndarray:
        """A copy of the parameters in ``MLP.parameters()`` order."""
        return self.theta.copy()

    def _kernel(self, b: int) -> Kernel:
        """The forward + backward pass for batches of ``b``, with its buffers bound once."""
        dt = self.dtype
        hidden = self.sizes[1:-1]
        # A[l]: the activations of hidden layer l and a column of ones (the bias input).
        A = [np.ones((b, n + 1), dt) for n in hidden]
        acts = [a[:, :-1] for a in A]
        Z = [np.empty((b, n), dt) for n in self.sizes[1:]]
        D = [np.empty((b, n), dt) for n in self.sizes[1:]]
        T = [np.empty((b, n), dt) for n in self.sizes[1:]]
        out = np.empty((b, self.sizes[-1]), dt)
        blocks, gblocks = self.blocks, self._grad_blocks
        W1, b1 = blocks[0][:, :-1], blocks[0][:, -1]
        gW1, gb1 = gblocks[0][:, :-1], gblocks[0][:, -1]
        # Per layer l ≥ 1, forward: (input with ones, [W | b]ᵀ, z, sigmoid output); backward:
        # (δ, δᵀ, its [∂W | ∂b] block, input with ones, W, δ below, activation below, scratch).
        # Transposed views are made here once: .T costs about as much as a small ufunc call.
        W1T, D0T = W1.T, D[0].T
        upper = [(A[l - 1], blocks[l].T, Z[l], acts[l] if l < len(acts) else out)
                 for l in range(1, len(blocks))]
        back = [(D[l], D[l].T, gblocks[l], A[l - 1], blocks[l][:, :-1], D[l - 1], acts[l - 1],
                 T[l - 1]) for l in range(len(blocks) - 1, 0, -1)]
        matmul, add, mul, sub = np.matmul, np.add, np.multiply, np.subtract
        vdot, reduce, sigmoid = np.vdot, np.add.reduce, _sigmoid
        first_out = acts[0] if acts else out

        def kernel(X: np.ndarray, Y: np.ndarray, c: float) -> float:
            z = Z[0]
            matmul(X, W1T, out=z)
            add(z, b1, out=z)
            sigmoid(z, first_out)
            for a_in, block_t, z, a in upper:
                matmul(a_in, block_t, out=z)
                sigmoid(z, a)
            d, t = D[-1], T[-1]
            sub(out, Y, out=d)
            cost = float(vdot(d, d)) / b
            mul(out, -c, out=t)  # t = c(1 − a), then c·a(1 − a)
            add(t, c, out=t)
            mul(t, out, out=t)
            mul(d, t, out=d)
            for d, d_t, g, a_in, W, d_prev, a, t in back:
                matmul(d_t, a_in, out=g)  # weights and bias together (the ones column)
                matmul(d, W, out=d_prev)
                sub(1.0, a, out=t)
                mul(t, a, out=t)
                mul(d_prev, t, out=d_prev)
            matmul(D0T, X, out=gW1)
            reduce(D[0], axis=0, out=gb1)
            return cost

        return kernel

    def _run(self, X: np.ndarray, Y: np.ndarray, scale: float) -> float:
        """Mean cost; writes ``scale`` · ∇C into ``self.grad``."""
        if X.dtype != self.dtype or Y.dtype != self.dtype:
            raise TypeError(f"X and Y must be {self.dtype} arrays, got {X.dtype} and {Y.dtype}")
        b = X.shape[0]
        kernel = self._kernels.get(b)
        if kernel is None:
            kernel = self._kernels[b] = self._kernel(b)
        return kernel(X, Y, 2.0 * scale / b)

    def flat_gradient(self, X: np.ndarray, Y: np.ndarray) -> tuple[float, np.ndarray]:
        """(mean cost, a copy of ∇C in ``flat_parameters()`` order) for a batch, no step."""
        cost = self._run(X, Y, 1.0)
        return cost, self.grad.copy()

    def train_batch(self, X: np.ndarray, Y: np.ndarray) -> float:
        """One SGD step on a mini-batch (``Y`` one-hot, shape (b, n_out)); its mean cost."""
        if not self.momentum:
            cost = self._run(X, Y, self.lr)  # grad holds lr·∇C
            np.subtract(self.theta, self.grad, out=self.theta)
            return cost
        cost = self._run(X, Y, 1.0)
        v = self.velocity
        np.multiply(v, self.momentum, out=v)
        np.add(v, self.grad, out=v)
        np.multiply(v, self.lr, out=self._tmp)
        np.subtract(self.theta, self._tmp, out=self.theta)
        return cost


def check_same_math(sizes: Sequence[int] = (784, 16, 16, 10), batch: int = 10,
                    steps: int = 3, momentum: float = 0.0, seed: int = 0) -> float:
    """Train a :class:`NumpyMLP` and a :class:`TunedNumpyMLP` side by side from equal weights.

    Compares cost, flat gradient and parameters at every step and returns the largest
    relative difference; raises ``AssertionError`` if it exceeds 1e-12 (float64).
    """
    rng = np.random.default_rng(seed)
    plain = NumpyMLP(sizes, seed=seed, lr=3.0, momentum=momentum)
    tuned = TunedNumpyMLP(sizes, seed=seed, lr=3.0, momentum=momentum)
    worst = 0.0

    def rel(a: Any, b: Any) -> float:
        a, b = np.asarray(a), np.asarray(b)
        return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))

    for _ in range(steps):
        X = rng.uniform(0.0, 1.0, (batch, sizes[0]))
        Y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], batch)]
        cost_p, grad_p = plain.flat_gradient(X, Y)
        cost_t, grad_t = tuned.flat_gradient(X, Y)
        worst = max(worst, rel(cost_t, cost_p), rel(grad_t, grad_p))
        step_p, step_t = plain.train_batch(X, Y), tuned.train_batch(X, Y)
        worst = max(worst, rel(step_t, step_p), rel(tuned.theta, plain.flat_parameters()))
    if not worst <= 1e-12:
        raise AssertionError(f"tuned and plain NumPy differ by {worst:.3g} (relative)")
    return worst


if __name__ == "__main__":
    for m in (0.0, 0.9):
        for b in (1, 10, 100):
            print(f"momentum {m}, batch {b}: largest relative difference "
                  f"{check_same_math(batch=b, momentum=m):.2e}")
