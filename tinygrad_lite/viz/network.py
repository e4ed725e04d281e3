"""``draw_network``: 3Blue1Brown's picture of a network — neurons as circles in columns.

Three steps, each a few small functions:

* **collect** (:class:`_Numbers`): weights, biases and activations read from the model, and
  for an input ``x`` every neuron's z and a, computed by the engine's own ops;
* **choose** (:func:`_strongest`): which edges to draw — each neuron's strongest inputs by
  their contribution |w·a| for this input;
* **emit**: nodes at positions computed here (one column per layer, the 784 inputs of a
  28×28 image as a grid of tiny squares, weight tiles beside the first layer, a legend below),
  fixed with ``pos="x,y!"`` (points, ``inputscale=72``), so Graphviz only draws them: with the
  ``nop`` layout through :func:`to_svg`, or ``neato`` (the graph's ``engine``) by
  ``graphviz``'s own methods.

Node ids, stable for tools that read the SVG: ``in{i}`` input i; ``n{l}_{j}`` neuron j of layer
l (0 = first hidden layer); ``out{j}`` the output's digit label; ``bundle`` the point on the
image's border where the first layer's edges start; ``tile{j}`` the frame of neuron j's weight
tile and ``t{j}_{c}`` its cells; ``legend_*`` the legend.
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence, Union

from tinygrad_lite._checks import image_shape as check_image_shape
from tinygrad_lite._checks import input_vector, positive_int
from tinygrad_lite.engine import Value, no_grad
from tinygrad_lite.nn import bias_label, weight_label
from tinygrad_lite.serialize import load_model
from tinygrad_lite.viz._text import dot_text, dot_tooltip, fmt, short, sub, sup
from tinygrad_lite.viz.rendering import GraphView, save_graph
from tinygrad_lite.viz.style import FONT, NEGATIVE, POSITIVE, RING, ZERO, blend, grey

__all__ = ["draw_network", "network_svg", "POSITIVE", "NEGATIVE", "COMPACT_INPUTS_ABOVE",
           "DEFAULT_TOP_K", "TILE_CELLS"]

#: With more inputs than this, the input column is drawn as a pixel grid.
COMPACT_INPUTS_ABOVE = 32
#: The default ``top_k``: edges drawn into each neuron between layers.
DEFAULT_TOP_K = 3
#: A weight tile has at most this many cells per side (a 28×28 image: 14×14, 2×2 pixels each).
TILE_CELLS = 14

_NEURON = 0.42  # circle diameter, inches
_STEP = 0.52  # distance between neurons of a column
_GRID_HEIGHT = 3.6  # an image is drawn about this tall (pixels 0.13 to 0.45 inches)
_GAP = 2.6  # distance between columns
_TILE = 0.44  # side of a weight tile


def _pos(x: float, y: float) -> str:
    """A fixed position, given in inches, written in points (``inputscale=72``)."""
    return f"{72 * x:.1f},{72 * y:.1f}!"


# --------------------------------------------------------------------------- collect
@dataclass
class _Numbers:
    """What the picture shows, read from the model (layers l = 0, 1, ... after the input)."""

    weights: list[list[list[float]]]  # weights[l][j][k]
    biases: list[list[float]]
    labels: list[list[list[str]]]  # the weights' names, w⁽ˡ⁾ⱼ,ₖ
    acts: list[str]
    x: Optional[list[float]]
    zs: Optional[list[list[float]]]
    activations: Optional[list[list[float]]]

    @property
    def sizes(self) -> list[int]:
        return [len(self.weights[0][0])] + [len(W) for W in self.weights]

    def layer_input(self, l: int) -> Optional[list[float]]:
        """The activations layer l reads (the input x for l = 0), or None without x."""
        if self.x is None:
            return None
        return self.x if l == 0 else self.activations[l - 1]


def _layer_numbers(layer: Any, i: int) -> tuple[list[list[float]], list[float], list[list[str]]]:
    neurons = getattr(layer, "neurons", None)
    if not isinstance(neurons, Sequence) or not neurons:
        raise TypeError(f"draw_network: layer {i} has no .neurons list")
    try:
        W = [[float(w.data) for w in n.w] for n in neurons]
        B = [float(n.b.data) for n in neurons]
        names = [[w.label or weight_label(i + 1, j, k) for k, w in enumerate(n.w)]
                 for j, n in enumerate(neurons)]
    except AttributeError:
        raise TypeError(f"draw_network: the neurons of layer {i} need .w (Values) and "
                        ".b (a Value)") from None
    return W, B, names


def _read_model(model: Any) -> tuple[list, list, list, list[str]]:
    """(weights[l][j][k], biases[l][j], labels[l][j][k], activations[l]) of an MLP-like model."""
    layers = getattr(model, "layers", None)
    if not isinstance(layers, Sequence) or not layers:
        raise TypeError("draw_network expects an MLP (an object with .layers of .neurons, "
                        f"each with .w and .b), got {type(model).__name__}")
    weights, biases, labels, acts = [], [], [], []
    model_acts = getattr(model, "activations", None)
    for i, layer in enumerate(layers):
        W, B, names = _layer_numbers(layer, i)
        act = getattr(layer, "activation", None)
        if act is None and isinstance(model_acts, Sequence) and i < len(model_acts):
            act = model_acts[i]
        fan_in = {len(row) for row in W}
        expected = len(weights[-1]) if weights else None
        if len(fan_in) != 1 or (expected is not None and fan_in != {expected}):
            raise ValueError(f"draw_network: layer {i} has neurons with {sorted(fan_in)} "
                             f"weights; expected {expected or 'the same number each'}")
        weights.append(W)
        biases.append(B)
        labels.append(names)
        acts.append(act if isinstance(act, str) else "sigmoid")
    return weights, biases, labels, acts


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


def _collect(model: Any, x: Any) -> _Numbers:
    weights, biases, labels, acts = _read_model(model)
    if x is None:
        return _Numbers(weights, biases, labels, acts, None, None, None)
    xs = input_vector(x, len(weights[0][0]), "draw_network")
    zs, activations = _forward(model.layers, acts, xs)
    return _Numbers(weights, biases, labels, acts, xs, zs, activations)


# --------------------------------------------------------------------------- choose
def _contributions(row: list[float], inputs: Optional[list[float]]) -> list[float]:
    """w·a of each input for this x (the weights themselves without an input)."""
    return list(row) if inputs is None else [w * a for w, a in zip(row, inputs)]


def _strongest(values: list[float], k: Optional[int]) -> list[int]:
    """Indices of the k largest |value| (all of them when k is None), in index order."""
    if k is None or k >= len(values):
        return list(range(len(values)))
    return sorted(sorted(range(len(values)), key=lambda i: -abs(values[i]))[:k])


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
    return {"fillcolor": grey(s), "fontcolor": "white" if s > 0.55 else "black"}


def _answer(numbers_: _Numbers) -> Optional[int]:
    """The ringed output: the largest of several, or a single one past its threshold."""
    if numbers_.activations is None:
        return None
    out = numbers_.activations[-1]
    if len(out) > 1:
        return max(range(len(out)), key=out.__getitem__)
    return 0 if out[0] > _threshold(numbers_.acts[-1]) else None


def _threshold(act: str) -> float:
    return 0.5 if act == "sigmoid" else 0.0


def _edge_colour(c: float) -> str:
    return POSITIVE if c > 0 else NEGATIVE if c < 0 else ZERO


# --------------------------------------------------------------------------- layout
@dataclass
class _Layout:
    """Where things go, in inches; y = 0 is the middle of every column."""

    compact: bool  # inputs as a pixel grid
    rows: int
    cols: int
    step: float  # distance between pixels
    tiles: bool
    columns: list[float]  # x of each layer's circles
    height: float  # the tallest column

    @property
    def image_right(self) -> float:
        return (self.cols - 1) * self.step + 0.46 * self.step if self.compact else _NEURON / 2

    def pixel(self, i: int) -> tuple[float, float]:
        return (i % self.cols) * self.step, ((self.rows - 1) / 2 - i // self.cols) * self.step

    def neuron(self, l: int, j: int, n: int) -> tuple[float, float]:
        return self.columns[l], ((n - 1) / 2 - j) * _STEP


def _layout(sizes: list[int], compact: bool, image_shape: Any, tiles: bool) -> _Layout:
    nin = sizes[0]
    if compact:
        rows, cols = check_image_shape(image_shape, nin, "draw_network", square_only=False)
        step = min(0.45, max(0.13, _GRID_HEIGHT / rows))
        left = (cols - 1) * step + 0.46 * step - _NEURON / 2
        height = rows * step
    else:
        rows, cols, step, left, height = nin, 1, _STEP, 0.0, nin * _STEP
    first = left + _GAP + (_TILE + 0.1 if tiles else 0.0)
    columns = [first + _GAP * l for l in range(len(sizes) - 1)]
    height = max([height] + [n * _STEP for n in sizes[1:]])
    return _Layout(compact, rows, cols, step, tiles, columns, height)


# --------------------------------------------------------------------------- emit: inputs
def _emit_pixels(g: GraphView, numbers_: _Numbers, layout: _Layout) -> None:
    pixel = round(0.92 * layout.step, 3)
    with g.subgraph(name="inputs") as c:
        # shared attributes once, not 784 times: half the build time
        c.attr("node", label="", shape="square", width=str(pixel), height=str(pixel),
               style="filled", color="#d0d0d0", penwidth="0.4")
        for i in range(numbers_.sizes[0]):
            value = numbers_.x[i] if numbers_.x is not None else None
            tip = f"input x{sub(str(i))} (row {i // layout.cols}, column {i % layout.cols})"
            tip += f" = {fmt(value)}" if value is not None else ""
            fill = grey(value) if value is not None else "white"
            # Straight into the body, as the tile cells: our own text, nothing to quote.
            c.body.append(f'\t\tin{i} [fillcolor="{fill}" pos="{_pos(*layout.pixel(i))}" '
                          f'tooltip="{dot_tooltip(tip)}"]\n')
    right = layout.image_right
    bottom = -layout.rows * layout.step / 2
    g.node("bundle", "", shape="point", width="0.09", color="#555555", pos=_pos(right + 0.14, 0),
           tooltip=dot_tooltip(f"all {numbers_.sizes[0]} pixels feed every neuron of layer 1"))
    g.node("input_caption", dot_text(f"input x: {layout.rows}×{layout.cols} = "
                                     f"{numbers_.sizes[0]} pixels"),
           shape="plaintext", fixedsize="false", fontsize="10", pos=_pos(right / 2, bottom - 0.2))


def _emit_input_circles(g: GraphView, numbers_: _Numbers, layout: _Layout, precision: int) -> None:
    nin = numbers_.sizes[0]
    with g.subgraph(name="inputs") as c:
        for i in range(nin):
            value = numbers_.x[i] if numbers_.x is not None else None
            name = f"x{sub(str(i))}"
            tip = f"input {name}" + (f" = {fmt(value)}" if value is not None else "")
            text = short(value, precision) if value is not None else name
            shade = _fill(min(1.0, max(0.0, value))) if value is not None else {}
            c.node(f"in{i}", dot_text(text), shape="circle", width=str(_NEURON), style="filled",
                   pos=_pos(0.0, ((nin - 1) / 2 - i) * _STEP), tooltip=dot_tooltip(tip),
                   **{"fillcolor": "white", **shade})


# --------------------------------------------------------------------------- emit: neurons
def _role(numbers_: _Numbers, l: int) -> str:
    return "output" if l == len(numbers_.weights) - 1 else f"hidden layer {l + 1}"


def _neuron_tooltip(numbers_: _Numbers, l: int, j: int) -> str:
    b_name = bias_label(l + 1, j)
    head = f"{_role(numbers_, l)}, neuron {j}"
    if numbers_.activations is None:
        return (f"{head}: {b_name} = {fmt(numbers_.biases[l][j])}, "
                f"{len(numbers_.weights[l][j])} weights")
    a_prev = "x" if l == 0 else f"a{sup(f'({l})')}"
    lines = [f"{head}: a = {numbers_.acts[l]}(z) = {fmt(numbers_.activations[l][j])}",
             f"z = Σₖ w{sup(f'({l + 1})')}{sub(str(j))},ₖ·{a_prev}ₖ + {b_name} = "
             f"{fmt(numbers_.zs[l][j])}, {b_name} = {fmt(numbers_.biases[l][j])}"]
    row = numbers_.weights[l][j]
    contrib = _contributions(row, numbers_.layer_input(l))
    top = sorted(range(len(row)), key=lambda k: -abs(contrib[k]))[:8]
    lines.append("strongest inputs, w·a: " + ", ".join(
        f"{numbers_.labels[l][j][k]}·{a_prev}{sub(str(k))} = {fmt(contrib[k], 3)}" for k in top))
    return "\n".join(lines)


def _emit_layer(g: GraphView, numbers_: _Numbers, layout: _Layout, l: int, precision: int) -> None:
    n = len(numbers_.weights[l])
    shades = (_shade(numbers_.activations[l], numbers_.acts[l])
              if numbers_.activations is not None else None)
    answer = _answer(numbers_) if l == len(numbers_.weights) - 1 else None
    with g.subgraph(name=f"layer{l + 1}") as c:
        for j in range(n):
            x, y = layout.neuron(l, j, n)
            attrs = {"shape": "circle", "width": str(_NEURON), "style": "filled",
                     "fillcolor": "white", "pos": _pos(x, y)}
            text = ""
            if shades is not None:
                attrs.update(_fill(shades[j]))
                text = short(numbers_.activations[l][j], precision)
            if j == answer:
                attrs.update(color=RING, penwidth="3")
            tip = dot_tooltip(_neuron_tooltip(numbers_, l, j))
            c.node(f"n{l}_{j}", dot_text(text), tooltip=tip, **attrs)
            if l == len(numbers_.weights) - 1:
                c.node(f"out{j}", dot_text(str(j)), shape="plaintext", fontsize="12",
                       width="0.3", pos=_pos(x + 0.5, y))


def _emit_edges(g: GraphView, numbers_: _Numbers, l: int, top_k: Optional[int]) -> None:
    """Each neuron's ``top_k`` strongest incoming edges by |w·a|: blue pushes z up, red down."""
    inputs = numbers_.layer_input(l)
    chosen = []
    for j, row in enumerate(numbers_.weights[l]):
        contrib = _contributions(row, inputs)
        chosen += [(j, k, contrib[k]) for k in _strongest(contrib, top_k)]
    top = max((abs(c) for _, _, c in chosen), default=0.0) or 1.0
    a_prev = "x" if l == 0 else f"a{sup(f'({l})')}"
    for j, k, c in chosen:
        w = numbers_.weights[l][j][k]
        src = f"in{k}" if l == 0 else f"n{l - 1}_{k}"
        tip = f"{numbers_.labels[l][j][k]} = {fmt(w)}"
        if inputs is not None:
            tip += f"; w·{a_prev}{sub(str(k))} = {fmt(w)} × {fmt(inputs[k])} = {fmt(c)}"
        g.edge(src, f"n{l}_{j}", color=_edge_colour(c), penwidth=f"{0.3 + 2.7 * abs(c) / top:.2f}",
               tooltip=dot_tooltip(tip))


def _emit_bundle(g: GraphView, numbers_: _Numbers, layout: _Layout, input_top_k: int) -> None:
    """One edge per first-layer neuron from the image's border: Σₖ w·x over every pixel.

    The edges start beside the image, so none passes under other pixels; each neuron's
    strongest pixels are named in its tooltip (``input_top_k`` of them).
    """
    x = numbers_.x
    totals = [math.fsum(_contributions(row, x)) if x is not None else 0.0
              for row in numbers_.weights[0]]
    top = max(map(abs, totals), default=0.0) or 1.0
    for j, row in enumerate(numbers_.weights[0]):
        head = f"tile{j}" if layout.tiles else f"n0_{j}"
        if x is None:
            g.edge("bundle", head, color=ZERO, penwidth="0.6",
                   tooltip=dot_tooltip(f"all {len(row)} pixels feed neuron {j}"))
            continue
        contrib = _contributions(row, x)
        best = sorted(range(len(row)), key=lambda k: -abs(contrib[k]))[:input_top_k]
        tip = [f"Σₖ w{sup('(1)')}{sub(str(j))},ₖ·xₖ = {fmt(totals[j])} over all {len(row)} pixels",
               "strongest pixels: " + ", ".join(
                   f"{numbers_.labels[0][j][k]}·x{sub(str(k))} = {fmt(contrib[k], 3)}"
                   for k in best)]
        g.edge("bundle", head, color=_edge_colour(totals[j]),
               penwidth=f"{0.3 + 2.7 * abs(totals[j]) / top:.2f}",
               tooltip=dot_tooltip("\n".join(tip)))


def _pooled(row: list[float], rows: int, cols: int) -> tuple[int, int, list[float]]:
    """The weights of one neuron as an image, averaged over f×f blocks to ≤ TILE_CELLS a side."""
    f = math.ceil(max(rows, cols) / TILE_CELLS)
    pr, pc = math.ceil(rows / f), math.ceil(cols / f)
    sums, counts = [0.0] * (pr * pc), [0] * (pr * pc)
    for i, w in enumerate(row):
        cell = (i // cols) // f * pc + (i % cols) // f
        sums[cell] += w
        counts[cell] += 1
    return pr, pc, [s / c if c else 0.0 for s, c in zip(sums, counts)]


@functools.lru_cache(maxsize=None)
def _tile_colour(positive: bool, level: int) -> str:
    """The cell colour of a weight, its size in 32 levels (a few dozen colours in all)."""
    return blend(POSITIVE if positive else NEGATIVE, level / 32)


def _emit_tiles(g: GraphView, numbers_: _Numbers, layout: _Layout) -> None:
    """Beside each first-layer neuron, its weights in the input's shape: what it "looks for"."""
    n = len(numbers_.weights[0])
    for j, row in enumerate(numbers_.weights[0]):
        pr, pc, cells = _pooled(row, layout.rows, layout.cols)
        size = _TILE / max(pr, pc)
        cx, cy = layout.neuron(0, j, n)
        cx -= _NEURON / 2 + 0.06 + _TILE / 2
        g.node(f"tile{j}", "", shape="box", width=f"{pc * size:.3f}", height=f"{pr * size:.3f}",
               style="filled", fillcolor="white", color="#999999", penwidth="0.5",
               pos=_pos(cx, cy), tooltip=dot_tooltip(
                   f"what neuron {j} looks for: its {len(row)} weights w{sup('(1)')}"
                   f"{sub(str(j))},ₖ in the image's shape (blue > 0, red < 0)"))
        top = max(map(abs, cells), default=0.0) or 1.0
        with g.subgraph(name=f"tile{j}_cells") as c:
            c.attr("node", label="", shape="box", width=f"{size:.3f}", height=f"{size:.3f}",
                   style="filled", penwidth="0")
            for p, v in enumerate(cells):
                if abs(v) < 0.1 * top:
                    continue  # near white: the frame's white shows through
                x0 = cx + (p % pc - (pc - 1) / 2) * size
                y0 = cy + ((pr - 1) / 2 - p // pc) * size
                # Written straight into the body (ids, colours and positions need no quoting):
                # graphviz's node() would quote 2,500 attribute lists, most of the build time.
                colour = _tile_colour(v > 0, round(32 * abs(v) / top))
                c.body.append(f'\t\tt{j}_{p} [fillcolor="{colour}" pos="{_pos(x0, y0)}"]\n')


# --------------------------------------------------------------------------- emit: legend
def _text_node(g: GraphView, node: str, text: str, x: float, y: float) -> None:
    """Left-aligned text starting at x (its width estimated from the 10-point font)."""
    width = 0.06 * len(text)
    g.node(node, dot_text(text), shape="plaintext", fixedsize="false", fontsize="10",
           width=f"{width:.2f}", height="0.2", pos=_pos(x + width / 2, y))


def _ring_meaning(numbers_: _Numbers) -> str:
    if numbers_.sizes[-1] > 1:
        return "orange ring: the network's answer, its most active output"
    return (f"orange ring: the output is above {fmt(_threshold(numbers_.acts[-1]))}, "
            "the network says yes (1); no ring: no (0)")


def _emit_legend(g: GraphView, numbers_: _Numbers, layout: _Layout) -> None:
    """Three rows under the picture: shading, edges, and the ring."""
    x0, y = 0.0, -layout.height / 2 - 0.55
    for i, s in enumerate((0.0, 0.25, 0.5, 0.75, 1.0)):
        g.node(f"legend_shade{i}", "", shape="circle", width="0.22", style="filled",
               fillcolor=grey(s), pos=_pos(x0 + 0.28 * i, y))
    _text_node(g, "legend_shade_text", "activation: white = 0 → black = 1 (the number is "
               "written inside)", x0 + 1.5, y)
    y -= 0.4
    for i, (colour, width) in enumerate(((POSITIVE, "2.5"), (NEGATIVE, "1.0"))):
        left, right = f"legend_edge{i}a", f"legend_edge{i}b"
        for node, dx in ((left, 0.0), (right, 0.45)):
            g.node(node, "", shape="point", width="0.01", color="white",
                   pos=_pos(x0 + 0.62 * i + dx, y))
        g.edge(left, right, color=colour, penwidth=width)
    _text_node(g, "legend_edge_text", "edge: blue w·a > 0 pushes z up, red w·a < 0 pulls it "
               "down, grey w·a = 0; thicker = larger |w·a| (input a times weight w)", x0 + 1.5, y)
    y -= 0.4
    g.node("legend_ring", "", shape="circle", width="0.22", style="filled", fillcolor="white",
           color=RING, penwidth="3", pos=_pos(x0 + 0.11, y))
    _text_node(g, "legend_ring_text", _ring_meaning(numbers_), x0 + 1.5, y)


def _caption(numbers_: _Numbers, layout: _Layout, top_k: Optional[int]) -> str:
    arch = " → ".join(map(str, numbers_.sizes))
    acts = numbers_.acts
    lines = [f"MLP {arch} ({acts[0] if len(set(acts)) == 1 else '/'.join(acts)})"]
    by = "|w·a| for this input" if numbers_.x is not None else "|w| (no input given)"
    if layout.compact:
        first = ("image → layer 1: one edge per neuron for Σ w·x over all "
                 f"{numbers_.sizes[0]} pixels")
        lines.append(first + ("; beside each neuron, its weights as an image (blue > 0, "
                              "red < 0)" if layout.tiles else ""))
    fan_in = max(numbers_.sizes[1:-1] if layout.compact else numbers_.sizes[:-1], default=0)
    if top_k is not None and top_k < fan_in:
        rule = (f"the {top_k} strongest inputs of each neuron by {by}; hover a neuron for "
                "the others (top_k=None draws all)")
    else:
        rule = f"every edge, width by {by}"
    lines.append(("between layers: " if layout.compact else "edges: ") + rule)
    return "\n".join(lines)


# --------------------------------------------------------------------------- draw_network
def _check_options(top_k: Any, input_top_k: Any, precision: Any) -> tuple[Optional[int], int, int]:
    if top_k is not None:
        top_k = positive_int(top_k, "top_k")
    input_top_k = positive_int(input_top_k, "input_top_k")
    precision = positive_int(precision, "precision")
    if precision > 3:
        raise ValueError(f"precision must be at most 3 (decimals that fit in a circle), "
                         f"got {precision}")
    return top_k, input_top_k, precision


def draw_network(
    model: Any,
    x: Optional[Sequence[float]] = None,
    *,
    top_k: Optional[int] = DEFAULT_TOP_K,
    input_top_k: int = 8,
    compact_inputs: Optional[bool] = None,
    image_shape: Optional[Sequence[int]] = None,
    precision: int = 2,
    weight_tiles: Optional[bool] = None,
    legend: bool = True,
) -> GraphView:
    """The network as 3Blue1Brown draws it: a column of circles per layer, weights as edges.

    * Neurons are circles, one column per layer (inputs on the left). Given an input ``x``,
      each is shaded by its activation, white (0) to black (1), with the value written
      inside, rounded to fit the circle: two decimals (``0.73``, ``1.00``; ``0.00`` for a
      tiny activation, ``0`` for exactly zero), three digits from 10 on (``12.3``, ``1.5k``).
      tanh activations are mapped from [−1, 1]; relu and linear ones are scaled by the
      largest in their layer. An orange ring marks the answer: the most active output, or
      with a single output, one above 0.5 (sigmoid; 0 for other activations).
    * Edges are contributions w·a (the weight times the activation it reads; the weight
      itself without ``x``): blue pushes z up, red pulls it down, thicker for a larger |w·a|
      (relative to the layer's largest). Only each neuron's ``top_k`` strongest are drawn
      (all with ``top_k=None``); its tooltip lists the strongest eight, and the caption
      states the rule.
    * More than 32 inputs (``compact_inputs``) are drawn as the image they are: a grid of
      tiny squares, 28×28 for 784 inputs (``image_shape`` for other shapes). No edge runs
      over the image: one edge per first-layer neuron starts at its right border (the
      ``bundle`` point) and carries Σₖ wⱼ,ₖ·xₖ over every pixel; the neuron's ``input_top_k``
      strongest pixels are named in its tooltip. With ``weight_tiles`` (default: for an
      image), each first-layer neuron shows its weights as a small tile in the image's shape,
      blue positive, red negative: the pattern it "looks for" (episode 1).
    * ``legend`` adds three rows underneath: the shading, the edge colours and widths, the ring.
    * Hovering a neuron shows its activation (4 significant digits), z, bias and strongest
      inputs; an input, its value; an edge, its weight (named ``w⁽ˡ⁾ⱼ,ₖ``) and w·a.

    Args:
        model: an :class:`~tinygrad_lite.nn.MLP` (anything with ``.layers`` of ``.neurons``
            with ``.w``/``.b`` Values).
        x: an input (``model.nin`` numbers or Values, a list or 1-D array) to show the
            activations for; without it the circles are white.
        top_k: incoming edges drawn per neuron (:data:`DEFAULT_TOP_K`), None for all.
        input_top_k: strongest pixels named in a first-layer neuron's tooltip (image inputs).
        compact_inputs: force (True) or forbid (False) the pixel grid; default: more than 32
            inputs.
        image_shape: (rows, columns) of the pixel grid; default square (or nearly).
        precision: decimals of the numbers in the circles, 1 to 3 (more would not fit).
        weight_tiles: draw the first layer's weight tiles (only with a pixel grid).
        legend: draw the legend rows.

    Returns:
        a :class:`GraphView` with fixed positions (``layout_engine`` ``"nop"``, ``engine``
        ``"neato"``). Node ids (see the module's docstring): ``in{i}``, ``n{l}_{j}`` (l = 0 is
        the first hidden layer), ``out{j}``, ``bundle``, ``tile{j}``, ``legend_*``.

    Raises:
        TypeError: ``model`` is not MLP-like; ``x`` is not a sequence of numbers.
        ValueError: ``x`` has the wrong length or a non-finite entry; bad ``top_k`` etc.
    """
    top_k, input_top_k, precision = _check_options(top_k, input_top_k, precision)
    numbers_ = _collect(model, x)
    nin = numbers_.sizes[0]
    compact = nin > COMPACT_INPUTS_ABOVE if compact_inputs is None else bool(compact_inputs)
    tiles = compact and (weight_tiles is None or bool(weight_tiles))
    layout = _layout(numbers_.sizes, compact, image_shape, tiles)
    g = GraphView(name="network", engine="neato",
                  graph_attr={"splines": "false", "overlap": "true", "inputscale": "72",
                              "outputorder": "edgesfirst", "fontname": FONT, "fontsize": "12",
                              "label": dot_text(_caption(numbers_, layout, top_k)),
                              "labelloc": "b"},
                  node_attr={"fontname": FONT, "fontsize": "8", "fixedsize": "true"},
                  edge_attr={"arrowhead": "none"})
    if compact:
        _emit_pixels(g, numbers_, layout)
    else:
        _emit_input_circles(g, numbers_, layout, precision)
    for l in range(len(numbers_.weights)):
        _emit_layer(g, numbers_, layout, l, precision)
    if tiles:
        _emit_tiles(g, numbers_, layout)
    if compact:
        _emit_bundle(g, numbers_, layout, input_top_k)
    for l in range(1 if compact else 0, len(numbers_.weights)):
        _emit_edges(g, numbers_, l, top_k)
    if legend:
        _emit_legend(g, numbers_, layout)
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
    written. ``top_k`` None keeps :func:`draw_network`'s default (:data:`DEFAULT_TOP_K`).
    See :func:`save_graph` for the formats and errors.
    """
    model = model_or_path
    if isinstance(model_or_path, (str, os.PathLike)):
        model = load_model(model_or_path)
    view = draw_network(model, x, top_k=DEFAULT_TOP_K if top_k is None else top_k)
    return save_graph(view, path, backend)
