"""Neurons, layers and multi-layer perceptrons built from scalar :class:`~tinygrad_lite.engine.Value`\\ s.

One layer computes a^(l) = σ(W a^(l−1) + b): each neuron is ONE fused ``affine`` node
z = Σᵢ wᵢ·aᵢ + b (see :meth:`Value.affine`) followed by its activation. The default
``MLP(784, [16, 16, 10])`` is exactly 3Blue1Brown's digit network: sigmoid on every layer,
13,002 parameters::

    from tinygrad_lite.nn import MLP

    net = MLP(784, [16, 16, 10], seed=0)
    outputs = net(image)          # image: 784 numbers (a list or a 1-D NumPy array)
    # outputs: 10 Values, the activations of the last layer
"""

from __future__ import annotations

import math
import random
from typing import Any, Callable, Sequence, Union

from tinygrad_lite._checks import positive_int
from tinygrad_lite._checks import rng as make_rng
from tinygrad_lite.engine import LeafRows, Value, zero_grad

__all__ = ["ACTIVATIONS", "MAX_PARAMETERS", "Neuron", "Layer", "MLP", "Seed", "weight_label",
           "bias_label"]

#: The largest network :class:`MLP` builds: every parameter is a Python object (~150 bytes
#: with its float), so 10 million of them take about 1.5 GB before any training.
MAX_PARAMETERS = 10_000_000

#: Valid activation names: the :class:`Value` method of the same name ("linear" = identity).
ACTIVATIONS: tuple[str, ...] = ("sigmoid", "relu", "tanh", "linear")

#: What ``seed=`` accepts: ``None`` (fresh randomness), an int, or a :class:`random.Random`.
Seed = Union[None, int, random.Random]

_Input = Union[Sequence[Union[float, Value]], Any]  # a sequence or a 1-D NumPy array


def _identity(z: Value) -> Value:
    return z


_ACTIVATION_FUNCTIONS: dict[str, Callable[[Value], Value]] = {
    "sigmoid": Value.sigmoid,
    "relu": Value.relu,
    "tanh": Value.tanh,
    "linear": _identity,
}


_SUPERSCRIPT = str.maketrans("0123456789()", "⁰¹²³⁴⁵⁶⁷⁸⁹⁽⁾")
_SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def _indexed(letter: str, layer: int | None, indices: Sequence[int | None]) -> str:
    upper = f"({layer})".translate(_SUPERSCRIPT) if layer is not None else ""
    lower = ",".join(str(i).translate(_SUBSCRIPT) for i in indices if i is not None)
    return f"{letter}{upper}{lower}"


def weight_label(layer: int | None, j: int | None, k: int) -> str:
    """The name of weight w^(l)_{j,k} as the videos and Nielsen write it: ``w⁽²⁾₃,₅``.

    Layer ``l`` counts from 1 (the first hidden layer; the input is layer 0), neuron ``j``
    and input ``k`` from 0: the weight from neuron k of layer l − 1 to neuron j of layer l. A
    part that is not known is left out: ``weight_label(None, 3, 5) == "w₃,₅"`` (a
    :class:`Layer` on its own), ``weight_label(None, None, 5) == "w₅"`` (a lone
    :class:`Neuron`).
    """
    return _indexed("w", layer, (j, k))


def bias_label(layer: int | None, j: int | None) -> str:
    """The name of bias b^(l)_j: ``b⁽²⁾₃``; ``b₃`` without a layer, ``b`` for a lone neuron."""
    return _indexed("b", layer, (j,))


def _check_activation(name: Any) -> str:
    if not isinstance(name, str):
        raise TypeError(f"activation must be a str (one of {', '.join(ACTIVATIONS)}), "
                        f"got {type(name).__name__}")
    if name not in _ACTIVATION_FUNCTIONS:
        raise ValueError(f"unknown activation {name!r}; valid: {', '.join(ACTIVATIONS)}")
    return name


def _as_list(x: _Input, nin: int, who: str) -> list:
    """``x`` as a list of length ``nin`` (a NumPy array via ``tolist()``, which is fast)."""
    if type(x) is not list:
        shape = getattr(x, "shape", None)
        if shape is not None and hasattr(x, "tolist"):
            if len(shape) != 1:
                raise ValueError(f"{who}: input must be 1-D, got an array of shape {tuple(shape)}")
            x = x.tolist()
        elif isinstance(x, (str, bytes)) or not isinstance(x, Sequence):
            raise TypeError(f"{who}: input must be a sequence of numbers or Values, "
                            f"got {type(x).__name__}")
        else:
            x = list(x)
    if len(x) != nin:
        raise ValueError(f"{who}: expected an input of length {nin}, got length {len(x)}")
    return x


def _parameter_count(sizes: Sequence[int]) -> int:
    """Weights and biases of the layers ``sizes[0] → sizes[1] → ...``: Σ (nin + 1) · nout."""
    return sum((a + 1) * b for a, b in zip(sizes, sizes[1:]))


def _check_size(sizes: list[int]) -> None:
    """ValueError naming the sizes if the network would have more than MAX_PARAMETERS."""
    count = _parameter_count(sizes)
    if count > MAX_PARAMETERS:
        arch = " → ".join(f"{n:,}" for n in sizes)
        raise ValueError(f"MLP {arch} would have {count:,} parameters, more than the "
                         f"{MAX_PARAMETERS:,} this library builds; use smaller layers")


class Neuron:
    """One neuron: ``activation(Σᵢ wᵢ·xᵢ + b)``, computed as one ``affine`` node.

    Weights and bias are drawn from a normal distribution with mean 0 and standard deviation
    1/√nin, so the weighted sum z of ``nin`` inputs in [0, 1] has a standard deviation of at
    most ~1 and a sigmoid starts in its steep middle part instead of saturated at 0 or 1
    (with N(0, 1) weights, z of a 784-pixel image would spread over ±15).

    Args:
        nin: number of inputs (a positive int).
        activation: one of :data:`ACTIVATIONS`.
        seed: ``None``, an int or a :class:`random.Random` to draw the initial weights from.
        layer, index: where the neuron sits (layer l from 1, neuron j from 0), for the
            labels only; :class:`Layer` and :class:`MLP` pass them.

    Attributes:
        w: the ``nin`` weights, leaf Values labelled by :func:`weight_label`: ``w⁽ˡ⁾ⱼ,ₖ``
            (``w⁽²⁾₃,₅``) in an MLP, ``wⱼ,ₖ`` in a lone Layer, ``w₀``, ``w₁``... alone.
        b: the bias, labelled by :func:`bias_label`: ``b⁽²⁾₃``, ``b₃`` or ``b``.
        activation: the activation name.
        nin: the number of inputs.
    """

    __slots__ = ("w", "b", "activation", "nin", "_act")

    def __init__(self, nin: int, activation: str = "sigmoid", *, seed: Seed = None,
                 layer: int | None = None, index: int | None = None) -> None:
        self.nin = positive_int(nin, "nin")
        self.activation = _check_activation(activation)
        self._act = _ACTIVATION_FUNCTIONS[activation]
        if layer is not None:
            layer = positive_int(layer, "layer")
        if index is not None:
            index = positive_int(index, "index", minimum=0)
        rng = make_rng(seed)
        std = 1.0 / math.sqrt(self.nin)
        self.w = [Value(rng.gauss(0.0, std), weight_label(layer, index, k))
                  for k in range(self.nin)]
        self.b = Value(rng.gauss(0.0, std), bias_label(layer, index))

    def __call__(self, x: _Input) -> Value:
        """The neuron's activation for input ``x`` (``nin`` numbers or Values)."""
        if type(x) is not list or len(x) != self.nin:
            x = _as_list(x, self.nin, "Neuron")
        return self._act(Value.affine(self.w, x, self.b))

    def parameters(self) -> list[Value]:
        """The weights then the bias: ``self.w + [self.b]``."""
        return self.w + [self.b]

    def __repr__(self) -> str:
        return f"Neuron({self.nin} inputs, {self.activation})"


def _add_parameters(neurons: Sequence[Neuron], params: list[Value]) -> list[Value]:
    """``params`` with each neuron's weights then bias appended: ``n.parameters()`` without a
    list per neuron, which makes a large network's ``parameters()`` ~3× faster."""
    for n in neurons:
        params += n.w
        params.append(n.b)
    return params


class Layer:
    """``nout`` neurons reading the same ``nin`` inputs: a^(l) = σ(W a^(l−1) + b).

    Each neuron's output is ``activation(z)`` with z the ``affine`` node that
    ``Value.affine(neuron.w, x, neuron.b)`` makes, all built by one
    :meth:`Value.affine_layer` call that reads the shared input once per layer.

    Args:
        nin: inputs per neuron; nout: number of neurons (positive ints).
        activation: one of :data:`ACTIVATIONS`.
        seed: ``None``, an int or a :class:`random.Random` (shared by the neurons, in order).
        layer: the layer's number l (from 1) in its network, for the parameter labels
            (``w⁽ˡ⁾ⱼ,ₖ``, ``b⁽ˡ⁾ⱼ``); :class:`MLP` passes it. Without it: ``wⱼ,ₖ``, ``bⱼ``.
    """

    __slots__ = ("neurons", "nin", "nout", "activation", "_act", "_leaf_rows")

    def __init__(self, nin: int, nout: int, activation: str = "sigmoid", *,
                 seed: Seed = None, layer: int | None = None) -> None:
        self.nin = positive_int(nin, "nin")
        self.nout = positive_int(nout, "nout")
        self.activation = _check_activation(activation)
        self._act = _ACTIVATION_FUNCTIONS[activation]
        rng = make_rng(seed)
        self.neurons = [Neuron(self.nin, activation, seed=rng, layer=layer, index=j)
                        for j in range(self.nout)]
        self._leaf_rows: LeafRows | None = None

    def __call__(self, x: _Input) -> list[Value]:
        """The ``nout`` activations for input ``x`` (``nin`` numbers or Values).

        Raises:
            ValueError: wrong length (the message gives both), not 1-D, or a nan/inf input.
            TypeError: an entry that is neither a number nor a Value.
        """
        if type(x) is not list or len(x) != self.nin:
            x = _as_list(x, self.nin, "Layer")
        return self._forward(x)

    def _forward(self, xs: list) -> list[Value]:
        neurons = self.neurons
        rows = [n.w for n in neurons]
        # Weights known to be leaves spare backward() a test of each; a changed weight list
        # (say, one weight replaced by an expression) is checked again.
        known = self._leaf_rows
        if known is None or not known.holds(rows):
            known = self._leaf_rows = LeafRows.of(rows)
        zs = Value.affine_layer(known or rows, xs, [n.b for n in neurons])
        act = self._act
        return [act(z) for z in zs]

    def parameters(self) -> list[Value]:
        """Every neuron's parameters, neuron by neuron (weights then bias)."""
        return _add_parameters(self.neurons, [])

    def __repr__(self) -> str:
        return f"Layer({self.nin} → {self.nout}, {self.activation})"


class MLP:
    """A multi-layer perceptron: layers of sigmoid (or relu/tanh/linear) neurons.

    >>> net = MLP(784, [16, 16, 10], seed=0)
    >>> net
    MLP(784 → 16 → 16 → 10, sigmoid, 13,002 parameters)

    Args:
        nin: number of inputs (784 for 28×28 images, 64 for 8×8).
        nouts: the size of each layer, the last one being the output layer.
        activation: one name for every layer, or a sequence of names, one per layer.
        output_activation: if given, overrides the last layer's activation (e.g. ``"linear"``
            to output logits for :func:`~tinygrad_lite.losses.cross_entropy_cost`).
        seed: ``None`` (fresh randomness), an int or a :class:`random.Random`; the same seed
            gives the same initial weights.

    Attributes:
        layers: the :class:`Layer`\\ s; nin: inputs; nouts: layer sizes;
        activations: one activation name per layer. Parameters are labelled as in the
        videos: ``w⁽ˡ⁾ⱼ,ₖ`` (layer l from 1, neuron j, input k from 0) and ``b⁽ˡ⁾ⱼ``.

    Raises:
        TypeError / ValueError: a size that is not a positive int, an empty ``nouts``, an
            unknown activation name, or a per-layer list of the wrong length.
    """

    __slots__ = ("layers", "nin", "nouts", "activations")

    def __init__(self, nin: int, nouts: Sequence[int], activation: str | Sequence[str] = "sigmoid",
                 *, output_activation: str | None = None, seed: Seed = None) -> None:
        self.nin = positive_int(nin, "nin")
        if isinstance(nouts, (str, bytes)) or not isinstance(nouts, Sequence):
            raise TypeError(f"nouts must be a list of layer sizes, got {type(nouts).__name__}")
        if len(nouts) == 0:
            raise ValueError("nouts must list at least one layer size, got an empty list")
        self.nouts = [positive_int(n, f"nouts[{i}]") for i, n in enumerate(nouts)]
        _check_size([self.nin] + self.nouts)
        if isinstance(activation, str):
            activations = [activation] * len(self.nouts)
        elif isinstance(activation, Sequence):
            activations = list(activation)
            if len(activations) != len(self.nouts):
                raise ValueError(f"got {len(activations)} activations for {len(self.nouts)} "
                                 "layers; give one name, or one per layer")
        else:
            raise TypeError(f"activation must be a str or a list of str, "
                            f"got {type(activation).__name__}")
        if output_activation is not None:
            activations[-1] = output_activation
        self.activations = [_check_activation(a) for a in activations]
        rng = make_rng(seed)
        sizes = [self.nin] + self.nouts
        self.layers = [Layer(sizes[i], sizes[i + 1], self.activations[i], seed=rng, layer=i + 1)
                       for i in range(len(self.nouts))]

    def __call__(self, x: _Input) -> list[Value]:
        """The output layer's activations for input ``x``.

        Args:
            x: ``nin`` numbers or Values: a list, tuple or 1-D NumPy array.

        Raises:
            ValueError: ``x`` has the wrong length (the message gives both), is not 1-D, or
                holds nan/inf.
            TypeError: ``x`` is not a sequence, or an entry is not a number or Value.
        """
        if type(x) is not list or len(x) != self.nin:
            x = _as_list(x, self.nin, "MLP")
        for layer in self.layers:
            x = layer._forward(x)
        return x

    def parameters(self) -> list[Value]:
        """All parameters: layer by layer, neuron by neuron, weights then bias."""
        params: list[Value] = []
        for layer in self.layers:
            _add_parameters(layer.neurons, params)
        return params

    def num_parameters(self) -> int:
        """How many parameters the network has (13,002 for ``MLP(784, [16, 16, 10])``)."""
        return _parameter_count([self.nin] + self.nouts)

    def zero_grad(self) -> None:
        """Set every parameter's ``.grad`` to 0."""
        zero_grad(self.parameters())

    def __repr__(self) -> str:
        arch = " → ".join(str(n) for n in [self.nin] + self.nouts)
        if len(set(self.activations)) == 1:
            acts = self.activations[0]
        elif len(set(self.activations[:-1])) == 1:
            acts = f"{self.activations[0]}, output {self.activations[-1]}"
        else:
            acts = "/".join(self.activations)
        return f"MLP({arch}, {acts}, {self.num_parameters():,} parameters)"
