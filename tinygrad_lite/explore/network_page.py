"""The network page: one example going forward layer by layer and its wishes coming back.

The engine runs the example (``model`` layer by layer on Values, the cost, ``backward()``),
and the page embeds its activations, ∂C/∂a of every neuron and ∂C/∂w of every weight, so the
numbers shown before any nudge are the engine's own. The picture is drawn here, in the layout
of 3Blue1Brown's videos and of :func:`~tinygrad_lite.viz.draw_network` (the same node ids
``in{i}`` and ``n{l}_{j}``): the input as the image it is, neurons as circles shaded by
activation, and per neuron only its :data:`DEFAULT_TOP_K` strongest incoming edges by
``|w·a|`` — the inputs that actually move it on this example.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Optional, Sequence

from tinygrad_lite._checks import image_shape as check_image_shape
from tinygrad_lite._checks import input_vector, positive_int, positive_number
from tinygrad_lite.engine import Value
from tinygrad_lite.explore.page import ExplorePage, build_page, pack_floats, svg_escape
from tinygrad_lite.losses import get_cost

__all__ = ["explore_network", "network_state", "network_svg_markup", "strongest_inputs",
           "DEFAULT_TOP_K", "DEFAULT_LR"]

#: Edges drawn per neuron: its strongest incoming ones by |w·a| on the example shown.
DEFAULT_TOP_K = 6
#: The learning rate the nudge button starts with (adjustable on the page).
DEFAULT_LR = 1.0

_COST_NAMES = {"quadratic": "quadratic", "cross-entropy": "cross-entropy"}
POSITIVE, NEGATIVE = "#2563eb", "#dc2626"


def _layers(model: Any) -> list[Any]:
    layers = getattr(model, "layers", None)
    if not isinstance(layers, Sequence) or not layers or not hasattr(model, "parameters"):
        raise TypeError("explore(model, x, y) expects an MLP (with .layers and .parameters()), "
                        f"got {type(model).__name__}")
    return list(layers)


def _target(y: Any, n_out: int) -> tuple[list[float], int]:
    """(the target vector, the label it stands for): y is a label or n_out numbers."""
    if isinstance(y, numbers.Integral) and not isinstance(y, bool):
        if not 0 <= int(y) < n_out:
            raise ValueError(f"explore: label y={y} is out of range; the model has {n_out} "
                             f"outputs (0..{n_out - 1})")
        return [1.0 if j == int(y) else 0.0 for j in range(n_out)], int(y)
    values = list(y.tolist() if hasattr(y, "tolist") else y) if isinstance(y, Sequence) or \
        hasattr(y, "tolist") else None
    if values is None or len(values) != n_out:
        raise TypeError(f"explore: y must be a label (an int) or {n_out} numbers, got {y!r:.60}")
    values = [float(v) for v in values]
    return values, max(range(n_out), key=values.__getitem__)


def network_state(model: Any, x: Sequence[float], y: Any,
                  cost: str = "quadratic") -> dict[str, Any]:
    """The engine's forward and backward pass of one example, as plain lists.

    Returns ``{"a": [activations of each layer], "z": [...], "cost": C, "dCda": [∂C/∂a of
    each layer], "dCdw": [per layer, rows of ∂C/∂w], "dCdb": [...], "y": target, "label"}``.
    The model's own ``.grad``\\ s are left as they were.
    """
    layers = _layers(model)
    n_out = len(layers[-1].neurons)
    target, label = _target(y, n_out)
    params = model.parameters()
    saved = [p.grad for p in params]
    acts_v: list[list[Value]] = []
    try:
        for p in params:
            p.grad = 0.0
        current: list[Any] = list(x)
        for layer in layers:
            current = layer(current)
            acts_v.append(current)
        c = get_cost(cost)(current, target)
        c.backward()
        state = {
            "a": [[a.data for a in row] for row in acts_v],
            "z": [[(a.parents[0].data if a.op in ("sigmoid", "relu", "tanh") else a.data)
                   for a in row] for row in acts_v],
            "cost": c.data, "y": target, "label": label,
            "dCda": [[a.grad for a in row] for row in acts_v],
            "dCdw": [[[w.grad for w in n.w] for n in layer.neurons] for layer in layers],
            "dCdb": [[n.b.grad for n in layer.neurons] for layer in layers],
        }
    finally:
        for p, g in zip(params, saved):
            p.grad = g
    return state


def strongest_inputs(row: Sequence[float], inputs: Sequence[float], k: int) -> list[int]:
    """The indices of the ``k`` largest ``|w·a|`` in ``row`` (ties: lower index first)."""
    order = sorted(range(len(row)), key=lambda i: (-abs(row[i] * inputs[i]), i))
    return order[:k]


def _grey(v: float) -> str:
    t = round(255 * (1.0 - min(1.0, max(0.0, v))))
    return f"#{t:02x}{t:02x}{t:02x}"


def _shade(a: float, act: str) -> float:
    return (a + 1) / 2 if act == "tanh" else min(1.0, max(0.0, a))


class _Layout:
    """Where everything of the network picture goes: the image's pixels, then the columns."""

    STEP, RADIUS, COLUMN = 30.0, 12.0, 190.0

    def __init__(self, shape: tuple[int, int], sizes: list[int]) -> None:
        self.rows, self.cols = shape
        self.cell = min(30.0, 280.0 / max(shape))
        self.height = max(self.rows * self.cell, max(sizes[1:]) * self.STEP) + 60
        self.width = self.cols * self.cell + 40 + self.COLUMN * (len(sizes) - 1) + 60
        self.image_top = 20.0 + (self.height - 60 - self.rows * self.cell) / 2
        self.pos: dict[str, tuple[float, float]] = {}
        for i in range(sizes[0]):
            self.pos[f"in{i}"] = (10 + (i % self.cols + 0.5) * self.cell,
                                  self.image_top + (i // self.cols + 0.5) * self.cell)
        for l, n in enumerate(sizes[1:]):
            cx = self.cols * self.cell + 40 + self.COLUMN * (l + 1) - 60
            for j in range(n):
                self.pos[f"n{l}_{j}"] = (cx, 20.0 + (self.height - 60) / 2
                                         + (j - (n - 1) / 2) * self.STEP)

    def edges(self, weights: list[list[list[float]]], x: Sequence[float],
              activations: list[list[float]], top_k: int) -> list[str]:
        """Per neuron its ``top_k`` strongest inputs by |w·a|: blue w > 0, red w < 0."""
        lines, prev = [], list(x)
        for l, W in enumerate(weights):
            picks = [(j, k) for j in range(len(W)) for k in strongest_inputs(W[j], prev, top_k)]
            strength = [abs(W[j][k] * prev[k]) for j, k in picks]
            biggest = max(strength, default=0.0) or 1.0
            for (j, k), s in zip(picks, strength):
                (x1, y1) = self.pos[f"in{k}" if l == 0 else f"n{l - 1}_{k}"]
                (x2, y2) = self.pos[f"n{l}_{j}"]
                w = W[j][k]
                colour = POSITIVE if w > 0 else NEGATIVE if w < 0 else "#aaaaaa"
                lines.append(f'<line id="e{l}_{j}_{k}" x1="{x1:.1f}" y1="{y1:.1f}" '
                             f'x2="{x2:.1f}" y2="{y2:.1f}" stroke="{colour}" '
                             f'stroke-width="{0.3 + 2.7 * s / biggest:.2f}" '
                             'stroke-opacity="0.75"/>')
            prev = activations[l]
        return lines

    def pixels(self, x: Sequence[float]) -> list[str]:
        """The input as an image: one square per pixel, ``in{i}``, with its value on hover."""
        c = self.cell
        out = [f'<rect x="9" y="{self.image_top - 1:.1f}" width="{self.cols * c + 2:.1f}" '
               f'height="{self.rows * c + 2:.1f}" fill="none" stroke="#999999"/>']
        for i, v in enumerate(x):
            px, py = self.pos[f"in{i}"]
            out.append(f'<rect id="in{i}" class="px" data-x="{px:.1f}" data-y="{py:.1f}" '
                       f'x="{px - c / 2:.2f}" y="{py - c / 2:.2f}" width="{c:.2f}" '
                       f'height="{c:.2f}" fill="{_grey(v)}"><title>input {i} (row '
                       f'{i // self.cols}, column {i % self.cols}) = {v:.4g}</title></rect>')
        return out

    def neuron(self, l: int, j: int, role: str, act: str, a: Optional[float],
               grad: Optional[float]) -> str:
        """Neuron ``n{l}_{j}``: a circle shaded by its activation, ∂C/∂a beside it."""
        px, py = self.pos[f"n{l}_{j}"]
        shade = _shade(a, act) if a is not None else 0.0
        tip = f"{role}, neuron {j}" + (f": a = {a:.4g}" if a is not None else "")
        ink = "#ffffff" if shade > 0.55 else "#000000"
        return (f'<g id="n{l}_{j}" class="neuron" data-x="{px:.1f}" data-y="{py:.1f}">'
                f'<title>{svg_escape(tip)} (click for its weights)</title>'
                f'<circle cx="{px:.1f}" cy="{py:.1f}" r="{self.RADIUS}" fill="{_grey(shade)}" '
                'stroke="#555555" stroke-width="1"/>'
                f'<text class="act" x="{px:.1f}" y="{py + 3:.1f}" font-size="8" '
                f'text-anchor="middle" fill="{ink}">{"" if a is None else f"{a:.2f}"}</text>'
                f'<text class="grad" x="{px + self.RADIUS + 3:.1f}" y="{py + 3:.1f}" '
                'stroke="#ffffff" stroke-width="3" paint-order="stroke">'
                f'{"" if grad is None else f"{grad:.2g}".replace("-", "−")}</text></g>')


def network_svg_markup(weights: list[list[list[float]]], acts: list[str],
                       shape: tuple[int, int], x: Sequence[float],
                       activations: Optional[list[list[float]]], top_k: int,
                       grads: Optional[list[list[float]]] = None, caption: str = "") -> str:
    """The network picture as SVG markup, with fixed positions in ``data-x``/``data-y``.

    Without ``activations`` the circles are white and no edges are drawn (the script draws
    them); ``grads`` (∂C/∂a per layer) are written beside the circles.
    """
    layout = _Layout(shape, [len(x)] + [len(W) for W in weights])
    w, h = layout.width, layout.height + 30
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" id="network" width="{w:.0f}" '
             f'height="{h:.0f}" viewBox="0 0 {w:.0f} {h:.0f}" '
             'font-family="Helvetica,Arial,sans-serif">', '<g id="edges">']
    if activations is not None:
        parts += layout.edges(weights, x, activations, top_k)
    parts.append("</g>")
    parts += layout.pixels(x)
    last = len(weights) - 1
    for l, W in enumerate(weights):
        role = "output" if l == last else f"hidden layer {l + 1}"
        for j in range(len(W)):
            parts.append(layout.neuron(l, j, role, acts[l],
                                       activations[l][j] if activations is not None else None,
                                       grads[l][j] if grads is not None else None))
            if l == last:
                px, py = layout.pos[f"n{l}_{j}"]
                parts.append(f'<text x="{px + 72:.1f}" y="{py + 4:.1f}" id="out{j}" '
                             f'font-size="13">{j}</text>')
    parts.append(f'<text x="10" y="{layout.height + 18:.0f}" font-size="12" fill="#333333">'
                 f'{svg_escape(caption)}</text></svg>')
    return "".join(parts)


def explore_network(model: Any, x: Any, y: Any, *, top_k: int = DEFAULT_TOP_K,
                    lr: float = DEFAULT_LR, cost: str = "quadratic",
                    image_shape: Optional[Sequence[int]] = None,
                    title: Optional[str] = None) -> ExplorePage:
    """The network page of one example (see :func:`~tinygrad_lite.explore.explore`)."""
    layers = _layers(model)
    nin = len(layers[0].neurons[0].w)
    top_k = positive_int(top_k, "top_k")
    lr = positive_number(lr, "lr")
    if not isinstance(cost, str) or cost.replace("_", "-") not in _COST_NAMES:
        raise ValueError(f"explore: cost must be 'quadratic' or 'cross-entropy', got {cost!r}")
    cost = cost.replace("_", "-")
    xs = input_vector(x, nin, "explore")
    shape = check_image_shape(image_shape, nin, "explore", square_only=False) \
        if image_shape is not None or math.isqrt(nin) ** 2 == nin else (nin, 1)
    state = network_state(model, xs, y, cost)
    weights = [[[w.data for w in n.w] for n in layer.neurons] for layer in layers]
    acts = [getattr(layer, "activation", "sigmoid") for layer in layers]
    sizes = [nin] + [len(W) for W in weights]
    caption = (f"MLP {' → '.join(map(str, sizes))}: for each neuron its {top_k} strongest "
               "inputs by |w·a|. Edges blue w > 0, red w < 0 (backward: the sign of −∂C/∂w).")
    svg = network_svg_markup(weights, acts, shape, xs, state["a"], top_k, state["dCda"],
                             caption)
    data = {
        "sizes": sizes, "acts": acts, "shape": list(shape), "x": xs, "y": state["y"],
        "label": state["label"], "cost": cost, "lr": lr, "topK": top_k,
        "a": state["a"], "z": state["z"], "dCda": state["dCda"], "dCdb": state["dCdb"],
        "dCdw": [pack_floats([g for row in layer for g in row]) for layer in state["dCdw"]],
        "layers": [{"nin": len(W[0]), "nout": len(W), "act": act,
                    "W": pack_floats([w for row in W for w in row]),
                    "b": pack_floats([n.b.data for n in layer.neurons])}
                   for W, act, layer in zip(weights, acts, layers)],
        "engineCost": state["cost"],
    }
    intro = (f"One example (label {state['label']}) through the network: step forward layer by "
             "layer, then backward to see each neuron's ∂C/∂a. Nudge takes one SGD step on this "
             "example. Click a neuron to see its weights.")
    page = build_page(title or "Watch a network learn from one example", "network", svg, data,
                      intro)
    return ExplorePage(page, "network", 2 * len(weights))
