"""``draw_network``: 3Blue1Brown's picture of a network — neurons as circles in columns.

The layout is computed here (one column per layer, neurons evenly spaced, the 784 inputs of a
28×28 image as a grid of tiny squares) and fixed with ``pos="x,y!"`` (in points, with
``inputscale=72``), so Graphviz only draws it — with the ``nop`` layout when rendered by
:func:`to_svg`, or ``neato`` (the graph's ``engine``) by ``graphviz``'s own methods: the
784-16-16-10 view renders in about a tenth of a second with either backend.
"""

from __future__ import annotations

import math
import numbers
import os
from pathlib import Path
from typing import Any, Optional, Sequence, Union

from tinygrad_lite._checks import image_shape as check_image_shape
from tinygrad_lite._checks import positive_int
from tinygrad_lite.engine import Value, no_grad
from tinygrad_lite.viz._text import dot_text, dot_tooltip, fmt, short
from tinygrad_lite.viz.graph import FONT
from tinygrad_lite.viz.rendering import GraphView, save_graph

__all__ = ["draw_network", "network_svg", "POSITIVE", "NEGATIVE", "COMPACT_INPUTS_ABOVE"]

#: Edge colour of a positive weight (blue) and of a negative one (red); zero is grey.
POSITIVE = "#2563eb"
NEGATIVE = "#dc2626"
ZERO = "#aaaaaa"
#: With more inputs than this, the input column is drawn as a pixel grid.
COMPACT_INPUTS_ABOVE = 32

_NEURON = 0.42  # circle diameter, inches
_STEP = 0.52  # distance between neurons of a column
_GRID_HEIGHT = 3.6  # an image is drawn about this tall (pixels 0.13 to 0.45 inches)
_GAP = 2.6  # distance between columns


def _pos(x: float, y: float) -> str:
    """A fixed position, given in inches, written in points (``inputscale=72``)."""
    return f"{72 * x:.1f},{72 * y:.1f}!"


def _weights(model: Any) -> tuple[list[list[list[float]]], list[list[float]], list[str]]:
    """(weights[l][j][k], biases[l][j], activations[l]) read from an MLP-like model."""
    layers = getattr(model, "layers", None)
    if not isinstance(layers, Sequence) or not layers:
        raise TypeError("draw_network expects an MLP (an object with .layers of .neurons, "
                        f"each with .w and .b), got {type(model).__name__}")
    weights, biases, acts = [], [], []
    model_acts = getattr(model, "activations", None)
    for i, layer in enumerate(layers):
        neurons = getattr(layer, "neurons", None)
        if not isinstance(neurons, Sequence) or not neurons:
            raise TypeError(f"draw_network: layer {i} has no .neurons list")
        try:
            weights.append([[float(w.data) for w in n.w] for n in neurons])
            biases.append([float(n.b.data) for n in neurons])
        except AttributeError:
            raise TypeError(f"draw_network: the neurons of layer {i} need .w (Values) and "
                            ".b (a Value)") from None
        act = getattr(layer, "activation", None)
        if act is None and isinstance(model_acts, Sequence) and i < len(model_acts):
            act = model_acts[i]
        acts.append(act if isinstance(act, str) else "sigmoid")
        fan_in = {len(row) for row in weights[-1]}
        expected = len(weights[-2]) if i else None
        if len(fan_in) != 1 or (expected is not None and fan_in != {expected}):
            raise ValueError(f"draw_network: layer {i} has neurons with {sorted(fan_in)} "
                             f"weights; expected {expected or 'the same number each'}")
    return weights, biases, acts


def _input_vector(x: Any, nin: int) -> list[float]:
    if hasattr(x, "tolist") and hasattr(x, "shape"):
        if len(x.shape) != 1:
            raise ValueError(f"draw_network: x must be 1-D, got an array of shape {x.shape}")
        x = x.tolist()
    if isinstance(x, (str, bytes)) or not isinstance(x, Sequence):
        raise TypeError(f"draw_network: x must be a sequence of {nin} numbers, "
                        f"got {type(x).__name__}")
    if len(x) != nin:
        raise ValueError(f"draw_network: the model has {nin} inputs but x has {len(x)}")
    out = []
    for i, v in enumerate(x):
        v = v.data if isinstance(v, Value) else v
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise TypeError(f"draw_network: x[{i}] must be a number, got {type(v).__name__}")
        if not math.isfinite(v):
            raise ValueError(f"draw_network: x[{i}] is {v}; inputs must be finite")
        out.append(float(v))
    return out


def _forward(layers: Sequence[Any], acts: list[str],
             x: list[float]) -> tuple[list[list[float]], list[list[float]]]:
    """(z, a) of every layer, computed by the engine's own ops under ``no_grad``: each layer's
    ``Value.affine_layer`` and then its activation, as the model's forward pass does."""
    zs, activations = [], []
    with no_grad():
        for layer, act in zip(layers, acts):
            neurons = layer.neurons
            z = Value.affine_layer([n.w for n in neurons], x, [n.b for n in neurons])
            a = z if act == "linear" else [getattr(v, act)() for v in z]
            zs.append([v.data for v in z])
            x = [v.data for v in a]
            activations.append(x)
    return zs, activations


def _shade(values: list[float], act: str) -> list[float]:
    """Activations mapped to [0, 1] for shading (see :func:`draw_network`)."""
    if act == "sigmoid":
        return [min(1.0, max(0.0, v)) for v in values]
    if act == "tanh":
        return [(v + 1.0) / 2.0 for v in values]
    top = max((abs(v) for v in values), default=0.0) or 1.0
    if act == "relu":
        return [max(0.0, v) / top for v in values]
    return [(v / top + 1.0) / 2.0 for v in values]


def _fill(s: float) -> dict[str, str]:
    level = round(255 * (1.0 - s))
    colour = f"#{level:02x}{level:02x}{level:02x}"
    return {"fillcolor": colour, "fontcolor": "white" if s > 0.55 else "black"}


def _kept(row: list[float], k: Optional[int]) -> list[int]:
    """Indices of the k largest |w| in ``row`` (all of them when k is None), in order."""
    if k is None or k >= len(row):
        return list(range(len(row)))
    strongest = sorted(range(len(row)), key=lambda i: -abs(row[i]))[:k]
    return sorted(strongest)


def draw_network(
    model: Any,
    x: Optional[Sequence[float]] = None,
    *,
    top_k: Optional[int] = None,
    input_top_k: int = 8,
    compact_inputs: Optional[bool] = None,
    image_shape: Optional[Sequence[int]] = None,
    precision: int = 2,
) -> GraphView:
    """The network as 3Blue1Brown draws it: a column of circles per layer, weights as edges.

    * Neurons are circles, one column per layer (inputs on the left). Given an input ``x``,
      each is shaded by its activation, white (0) to black (1), with the value written
      inside, rounded to fit the circle: two decimals (``0.73``, ``1.00``; ``0.00`` for a
      tiny activation, ``0`` for exactly zero), three digits from 10 on (``12.3``, ``1.5k``);
      inputs are shaded by their value (clipped to [0, 1]). tanh activations are mapped
      from [−1, 1]; relu and linear ones are scaled by the largest in their layer. The most
      active output neuron (the prediction) gets an orange ring.
    * Edges go from each input/neuron to the neurons it feeds: blue for a positive weight,
      red for a negative one, thicker for a larger ``|w|`` (relative to the layer's largest).
    * More than 32 inputs (``compact_inputs``) are drawn as an image: a grid of tiny squares,
      28×28 for 784 inputs (``image_shape`` for other shapes). Their first-layer edges are
      then limited to each neuron's ``input_top_k`` strongest weights (unless ``top_k`` is
      given), so the 784-16-16-10 view stays legible and renders in well under a second.
    * Hovering a neuron shows its activation (4 significant digits, e.g. ``0.00015``), weighted
      sum and bias; hovering an input, its value; hovering an edge, its weight.

    Args:
        model: an :class:`~tinygrad_lite.nn.MLP` (anything with ``.layers`` of ``.neurons``
            with ``.w``/``.b`` Values).
        x: an input (``model.nin`` numbers or Values, a list or 1-D array) to show the
            activations for; without it the circles are white.
        top_k: draw only the ``top_k`` strongest incoming edges of every neuron.
        input_top_k: the same for the first layer when the inputs are a pixel grid and
            ``top_k`` is None.
        compact_inputs: force (True) or forbid (False) the pixel grid; default: more than 32
            inputs.
        image_shape: (rows, columns) of the pixel grid; default square (or nearly).
        precision: decimals of the numbers in the circles, 1 to 3 (more would not fit).

    Returns:
        a :class:`GraphView` with fixed positions (``layout_engine`` ``"nop"``, ``engine``
        ``"neato"``); render it with :func:`to_svg` / :func:`save_graph` as usual. Node ids:
        ``in{i}`` for inputs, ``n{l}_{j}`` for neuron j of layer l (0 = first hidden layer),
        ``out{j}`` for the output index labels.

    Raises:
        TypeError: ``model`` is not MLP-like; ``x`` is not a sequence of numbers.
        ValueError: ``x`` has the wrong length or a non-finite entry; bad ``top_k`` etc.
    """
    weights, biases, acts = _weights(model)
    nin = len(weights[0][0])
    if top_k is not None:
        top_k = positive_int(top_k, "top_k")
    input_top_k = positive_int(input_top_k, "input_top_k")
    precision = positive_int(precision, "precision")
    if precision > 3:
        raise ValueError(f"precision must be at most 3 (decimals that fit in a circle), "
                         f"got {precision}")
    compact = nin > COMPACT_INPUTS_ABOVE if compact_inputs is None else bool(compact_inputs)
    xs = None if x is None else _input_vector(x, nin)
    zs, activations = _forward(model.layers, acts, xs) if xs is not None else (None, None)

    sizes = [nin] + [len(W) for W in weights]
    arch = " → ".join(map(str, sizes))
    act_text = acts[0] if len(set(acts)) == 1 else "/".join(acts)
    caption = (f"MLP {arch} ({act_text}). Edges: blue w > 0, red w < 0, width ∝ |w|"
               + (f"; the {top_k} strongest per neuron" if top_k else "")
               + (f"; first layer: the {input_top_k} strongest per neuron"
                  if compact and top_k is None else ""))
    g = GraphView(name="network", engine="neato",
                  graph_attr={"splines": "false", "overlap": "true", "inputscale": "72",
                              "outputorder": "edgesfirst", "fontname": FONT, "fontsize": "12",
                              "label": dot_text(caption), "labelloc": "b"},
                  node_attr={"fontname": FONT, "fontsize": "8", "fixedsize": "true"},
                  edge_attr={"arrowhead": "none"})

    # ---- input column
    if compact:
        rows, cols = check_image_shape(image_shape, nin, "draw_network", square_only=False)
        step = min(0.45, max(0.13, _GRID_HEIGHT / rows))
        pixel = round(0.92 * step, 3)
        input_right = (cols - 1) * step + pixel / 2
    else:
        rows, cols = nin, 1
        input_right = _NEURON / 2
    with g.subgraph(name="inputs") as c:
        if compact:  # shared attributes once, not 784 times: half the build time
            c.attr("node", label="", shape="square", width=str(pixel), height=str(pixel),
                   style="filled", color="#d0d0d0", penwidth="0.4")
        for i in range(nin):
            value = xs[i] if xs is not None else None
            shade = _fill(min(1.0, max(0.0, value))) if value is not None else {}
            tip = f"input {i}" + (f" (row {i // cols}, column {i % cols})" if compact else "")
            tip += f" = {fmt(value)}" if value is not None else ""
            if compact:
                px, py = (i % cols) * step, ((rows - 1) / 2 - i // cols) * step
                c.node(f"in{i}", fillcolor=shade.get("fillcolor", "white"), pos=_pos(px, py),
                       tooltip=dot_tooltip(tip))
            else:
                py = ((nin - 1) / 2 - i) * _STEP
                text = short(value, precision) if value is not None else f"x{i}"
                attrs = {"fillcolor": "white", **shade}
                c.node(f"in{i}", dot_text(text), shape="circle", width=str(_NEURON),
                       style="filled", pos=_pos(0.0, py), tooltip=dot_tooltip(tip), **attrs)

    # ---- layers
    last = len(weights) - 1
    for l, (W, B) in enumerate(zip(weights, biases)):
        px = input_right + _GAP * (l + 1) - (_NEURON / 2 if compact else 0.0)
        n = len(W)
        shades = _shade(activations[l], acts[l]) if activations is not None else None
        winner = (max(range(n), key=activations[l].__getitem__)
                  if activations is not None and l == last else None)
        limit = top_k if top_k is not None else (input_top_k if compact and l == 0 else None)
        top = max((abs(w) for row in W for w in row), default=0.0) or 1.0
        with g.subgraph(name=f"layer{l + 1}") as c:
            for j in range(n):
                py = ((n - 1) / 2 - j) * _STEP
                attrs = {"shape": "circle", "width": str(_NEURON), "style": "filled",
                         "fillcolor": "white", "pos": _pos(px, py)}
                role = "output" if l == last else f"hidden layer {l + 1}"
                tip = f"{role}, neuron {j}: b = {fmt(B[j])}, {len(W[j])} weights"
                text = ""
                if activations is not None:
                    attrs.update(_fill(shades[j]))
                    a, z = activations[l][j], zs[l][j]
                    text = short(a, precision)
                    tip = (f"{role}, neuron {j}: a = {acts[l]}(z) = {fmt(a)}\n"
                           f"z = Σ w·a + b = {fmt(z)}, b = {fmt(B[j])}")
                if j == winner:
                    attrs.update(color="#e8590c", penwidth="3")
                c.node(f"n{l}_{j}", dot_text(text), tooltip=dot_tooltip(tip), **attrs)
                for k in _kept(W[j], limit):
                    w = W[j][k]
                    colour = POSITIVE if w > 0 else NEGATIVE if w < 0 else ZERO
                    src = f"in{k}" if l == 0 else f"n{l - 1}_{k}"
                    g.edge(src, f"n{l}_{j}", color=colour,
                           penwidth=f"{0.2 + 2.3 * abs(w) / top:.2f}",
                           tooltip=dot_tooltip(f"w = {fmt(w)} ({src} → n{l}_{j})"))
            if l == last:
                for j in range(n):
                    py = ((n - 1) / 2 - j) * _STEP
                    c.node(f"out{j}", dot_text(str(j)), shape="plaintext", fontsize="12",
                           width="0.3", pos=_pos(px + 0.5, py))
    g.layout_engine = "nop"
    return g


def network_svg(
    model_or_path: Any,
    path: Union[str, "os.PathLike[str]"],
    x: Optional[Sequence[float]] = None,
    *,
    top_k: Optional[int] = None,
    backend: str = "auto",
) -> Path:
    """Draw :func:`draw_network` for a model (or a saved model's JSON file) and save it.

    This is what ``tinygrad-lite graph network MODEL.json -o net.svg`` runs; returns the path
    written. See :func:`save_graph` for the formats and errors.
    """
    model = model_or_path
    if isinstance(model_or_path, (str, os.PathLike)):
        from tinygrad_lite.serialize import load_model

        model = load_model(model_or_path)
    return save_graph(draw_network(model, x, top_k=top_k), path, backend)
