"""Large graphs, collapsed as :func:`~tinygrad_lite.viz.draw_collapsed` collapses them.

A neuron — an activation of a ``Σwx+b`` (affine) node — becomes one box, its weights and bias
hidden inside; the cost's own pieces (the a − y and (a − y)² nodes that only feed it) go into
the cost's box; constants disappear. What stays is stepped through like any graph: the factor
on an edge between two boxes is the engine's chain rule through the hidden values (for a
neuron fed by another, ∂a′/∂a = σ′(z′)·w), so the terms of each gradient, and the products
along each path, still add up to the engine's ``.grad``.
"""

from __future__ import annotations

from typing import Any

from tinygrad_lite.engine import Value
from tinygrad_lite.viz import GraphView
from tinygrad_lite.viz._text import dot_text, dot_tooltip, sub, sup
from tinygrad_lite.viz.style import FONT, NEURON_STYLE, STYLES

__all__ = ["collapse", "collapsed_view"]

_ACTIVATIONS = {"sigmoid": "σ", "relu": "ReLU", "tanh": "tanh"}


def _children(order: list[Value]) -> dict[int, list[Value]]:
    kids: dict[int, list[Value]] = {id(v): [] for v in order}
    for v in order:
        for p in {id(p): p for p in v.parents}.values():
            kids[id(p)].append(v)
    return kids


def collapse(order: list[Value], root: Value, kinds: list[str]) -> tuple[list[int], dict[int, str]]:
    """(the positions in ``order`` of the values drawn, the neurons' names by position).

    Hidden: affine nodes that only feed their activation, parameters that only feed affine
    nodes, constants, and the interior values that only feed the cost.
    """
    kids = _children(order)
    merged = {id(v.parents[0]) for v in order
              if v.op in _ACTIVATIONS and len(v.parents) == 1 and v.parents[0].op == "affine"
              and len(kids[id(v.parents[0])]) == 1}
    neurons = {id(v) for v in order if (v.op in _ACTIVATIONS and id(v.parents[0]) in merged)
               or (v.op == "affine" and id(v) not in merged)}
    hidden = set(merged)
    for v, kind in zip(order, kinds):
        if kind == "const" or (kind == "param" and kids[id(v)]
                               and all(c.op == "affine" for c in kids[id(v)])):
            hidden.add(id(v))
    for v in reversed(order):  # the cost's own pieces
        if (v.parents and v is not root and id(v) not in neurons and kids[id(v)]
                and all(id(c) in hidden or c is root for c in kids[id(v)])):
            hidden.add(id(v))
    kept = [i for i, v in enumerate(order) if id(v) not in hidden]
    return kept, _neuron_names(order, kept, neurons)


def _neuron_names(order: list[Value], kept: list[int], neurons: set[int]) -> dict[int, str]:
    """a⁽ˡ⁾ⱼ: l counts the neurons on the way from the inputs, j the order within a layer."""
    layer: dict[int, int] = {}
    names: dict[int, str] = {}
    count: dict[int, int] = {}
    position = {id(v): i for i, v in enumerate(order)}
    for i in kept:
        v = order[i]
        if id(v) not in neurons:
            continue
        z = v.parents[0] if v.op in _ACTIVATIONS else v
        before = [layer[id(p)] for p in _neuron_inputs(z) if id(p) in layer]
        layer[id(v)] = 1 + max(before, default=0)
        l = layer[id(v)]
        j = count.get(l, 0)
        count[l] = j + 1
        names[position[id(v)]] = v.label or f"a{sup(f'({l})')}{sub(str(j))}"
    return names


def _neuron_inputs(z: Value) -> list[Value]:
    return [p for p in z.parents if p.parents]


def collapsed_view(records: list[dict[str, Any]], rankdir: str) -> GraphView:
    """The collapsed picture: one box per record, nodes ``c{i}``, edges parent → child."""
    g = GraphView(name="collapsed_explore",
                  graph_attr={"rankdir": rankdir, "fontname": FONT, "ranksep": "0.9",
                              "ordering": "out"},
                  node_attr={"fontname": FONT, "fontsize": "11"},
                  edge_attr={"arrowsize": "0.6", "color": "#777777"})
    for i, r in enumerate(records):
        style = NEURON_STYLE if r["neuron"] else STYLES.get(r["kind"], STYLES["value"])
        lines = [r["name"], f"data {r['data']:.4g}", f"grad {r['grad']:.4g}"]
        g.node(f"c{i}", dot_text("\n".join(lines)), tooltip=dot_tooltip(r["tip"]), **style)
    for i, r in enumerate(records):
        for p, factor in zip(r["parents"], r["locals"]):
            g.edge(f"c{p}", f"c{i}", tooltip=dot_tooltip(
                f"∂{r['name']}/∂{records[p]['name']} = {factor:.4g}"))
    return g
