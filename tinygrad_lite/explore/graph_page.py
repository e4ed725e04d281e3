"""Pages that step through a computation graph: any Value, and episode 4's chain.

The picture is :func:`~tinygrad_lite.viz.draw_graph` (or :func:`episode4_chain`'s own
drawing), laid out by Graphviz when the page is made. The data lists every drawn value with
its number, gradient and local derivatives, all read from the engine after one ``backward()``
of the root; the script turns them into forward and backward steps.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterable, Iterator, Optional

from tinygrad_lite._checks import positive_int
from tinygrad_lite.engine import Value, topological_order
from tinygrad_lite.explore.collapsed_page import collapse as collapse_graph
from tinygrad_lite.explore.collapsed_page import collapsed_view
from tinygrad_lite.explore.page import ExplorePage, build_page, clean_svg
from tinygrad_lite.viz import GraphView, draw_graph, to_svg
from tinygrad_lite.viz.graph import leaf_kind, op_symbol, value_set, value_tooltip

__all__ = ["explore_value", "explore_chain", "DEFAULT_MAX_NODES"]

#: Graphs with more values than this are refused (Graphviz would take long to lay them out).
DEFAULT_MAX_NODES = 400

_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


@contextmanager
def _fresh_gradients(root: Value, order: list[Value]) -> Iterator[list[float]]:
    """Inside the block every value holds its gradient from one ``root.backward()`` (the
    list yielded, in ``order``); afterwards the ``.grad``\\ s are as they were."""
    saved = [v.grad for v in order]
    try:
        for v in order:
            v.grad = 0.0
        root.backward()
        yield [v.grad for v in order]
    finally:
        for v, g in zip(order, saved):
            v.grad = g


def _names(order: list[Value], root: Value, kinds: list[str]) -> list[str]:
    """The name of each value, as :func:`draw_graph`'s tooltips call it: its label, a
    constant's number, ``out`` for an unlabelled root, else v₁, v₂... in order."""
    names: list[Optional[str]] = []
    for v, kind in zip(order, kinds):
        if v.label:
            names.append(v.label)
        elif kind == "const":
            names.append(f"{v.data:.4g}" if v.data != 0 else "0")
        else:
            names.append(None)
    taken = {n for n in names if n}
    if names[-1] is None:
        names[-1] = next((n for n in ("out", "root", "result") if n not in taken), "out")
        taken.add(names[-1])
    index = 0
    for i, name in enumerate(names):
        if name is None:
            index += 1
            while f"v{str(index).translate(_SUBSCRIPTS)}" in taken:
                index += 1
            names[i] = f"v{str(index).translate(_SUBSCRIPTS)}"
    return [n or "" for n in names]


def _node_records(order: list[Value], names: list[str], kinds: list[str], grads: list[float],
                  svg_ids: list[str]) -> list[dict[str, Any]]:
    """One JSON record per value: name, kind, data, grad, parents with local derivatives."""
    position = {id(v): i for i, v in enumerate(order)}
    name_of = {id(v): n for v, n in zip(order, names)}
    root_name = names[-1]
    records = []
    for i, v in enumerate(order):
        tip = value_tooltip(v, kinds[i], name_of, root_name)
        records.append({
            "svg": svg_ids[i], "name": names[i], "kind": kinds[i], "data": v.data,
            "grad": grads[i], "op": op_symbol(v) if v.parents else "",
            "computed": bool(v.parents),
            "parents": [position[id(p)] for p in v.parents],
            "locals": list(v.local_grads), "tip": tip,
        })
    return records


def _graph_data(records: list[dict[str, Any]], root_name: str, layout: str) -> dict[str, Any]:
    """The page's data: the records and the order of the forward and backward steps.

    Both go by height (0 for a leaf, else one more than the highest parent), so that values
    appear layer by layer and gradients flow back layer by layer, leaves last; a child is
    always higher than its parents, so both orders respect the dependencies.
    """
    height: list[int] = []
    for r in records:  # records are in topological order
        height.append(1 + max((height[p] for p in r["parents"]), default=0)
                      if r["computed"] else 0)
    forward = sorted((i for i, r in enumerate(records) if r["computed"]),
                     key=lambda i: (height[i], i))
    backward = sorted((i for i, r in enumerate(records) if r["kind"] != "const"),
                      key=lambda i: (-height[i], -i))
    return {"nodes": records, "root": len(records) - 1, "rootName": root_name,
            "forward": forward, "backward": backward, "layout": layout}


def explore_value(root: Value, *, params: Optional[Iterable[Value]] = None,
                  inputs: Optional[Iterable[Value]] = None, rankdir: str = "LR",
                  max_nodes: int = DEFAULT_MAX_NODES, collapse: Optional[bool] = None,
                  title: Optional[str] = None, backend: str = "auto") -> ExplorePage:
    """The stepping page of ``root``'s graph (see :func:`~tinygrad_lite.explore.explore`)."""
    max_nodes = positive_int(max_nodes, "max_nodes")
    order = topological_order([root])
    if collapse is None:
        collapse = len(order) > max_nodes
    if not collapse and len(order) > max_nodes:
        raise ValueError(
            f"the graph of this value has {len(order):,} values, more than max_nodes="
            f"{max_nodes:,}: a page would be too large to follow step by step. Pass a larger "
            "max_nodes, or collapse=True (one box per neuron), or explore a network with "
            "explore(model, x, y), which draws one circle per neuron")
    param_ids, input_ids = value_set(params, "params"), value_set(inputs, "inputs")
    kinds = ["root" if v is root else "value" if v.parents
             else leaf_kind(v, param_ids, input_ids, params is not None) for v in order]
    names = _names(order, root, kinds)
    if collapse:
        return _explore_collapsed(root, order, kinds, names, rankdir=rankdir,
                                  max_nodes=max_nodes, title=title, backend=backend)
    with _fresh_gradients(root, order) as grads:  # the picture shows the same gradients
        view = draw_graph(root, params=params, inputs=inputs, rankdir=rankdir,
                          max_nodes=max_nodes)
        svg = clean_svg(to_svg(view, backend))
        records = _node_records(order, names, kinds, grads,
                                [f"v{i}" for i in range(len(order))])
    data = _graph_data(records, names[-1], "ops")
    intro = (f"{len(order)} values. Step forward to compute each value, then backward to see "
             f"how each gradient ∂{names[-1]}/∂x is made. Click a leaf to see its paths.")
    page = build_page(title or f"Explore the graph of {names[-1]}", "graph", svg, data, intro)
    return ExplorePage(page, "graph", len(data["forward"]) + len(data["backward"]))


# --------------------------------------------------------------------------- episode 4
def _named_parents(v: Value, named: set[int]) -> list[tuple[Value, float]]:
    """The named values ``v`` is computed from, each with its factor ∂v/∂(it): the sum over
    the paths through unnamed values (such as a − y and its square) of the products of the
    engine's local derivatives along them. In the order of ``v.parents``."""
    found: dict[int, list[Any]] = {}

    def walk(node: Value, factor: float) -> None:
        for parent, local in zip(node.parents, node.local_grads):
            if id(parent) in named:
                found.setdefault(id(parent), [parent, 0.0])[1] += factor * local
            else:
                walk(parent, factor * local)

    walk(v, 1.0)
    return [(p, f) for p, f in found.values()]


def _chain_formula(v: Value) -> str:
    """``"w⁽ᴸ⁾·a⁽ᴸ⁻¹⁾ + b⁽ᴸ⁾ = "``, ``"σ(z⁽ᴸ⁾) = "``, ``"(a⁽ᴸ⁾ − y)² = "``; "" for a leaf."""
    if v.op == "affine":
        ws, xs, b = v.ctx
        terms = [f"{getattr(w, 'label', w)}·{getattr(x, 'label', x)}" for w, x in zip(ws, xs)]
        return " + ".join(terms) + f" + {getattr(b, 'label', b)} = "
    if v.op == "sigmoid":
        return f"σ({v.parents[0].label}) = "
    if v.op == "sum":
        squares = [p.parents[0] for p in v.parents if p.op == "**" and p.parents[0].op == "-"]
        parts = [f"({d.parents[0].label} − {d.parents[1].label})²" for d in squares]
        if len(parts) == len(v.parents):
            return (" + ".join(parts) if len(parts) <= 2 else "Σⱼ (aⱼ − yⱼ)²") + " = "
    return ""


def explore_chain(chain: tuple[GraphView, dict[str, Value]], *, title: Optional[str] = None,
                  backend: str = "auto") -> ExplorePage:
    """The stepping page of an :func:`~tinygrad_lite.viz.episode4_chain` result."""
    view, named = chain
    values = list(named.values())
    root = values[-1]
    ids = {id(v) for v in values}
    position = {id(v): i for i, v in enumerate(values)}
    order = topological_order([root])
    if {id(v) for v in order if v.label} - ids:  # pragma: no cover - built together
        raise ValueError("explore: this is not the graph episode4_chain() returned")
    with _fresh_gradients(root, order) as grads:
        all_grads = dict(zip(map(id, order), grads))
    svg = clean_svg(to_svg(view, backend))
    records = []
    for i, v in enumerate(values):
        kind = "root" if v is root else "value" if v.parents else (
            "param" if v.label[:1] in "wb" else "target" if v.label[:1] == "y" else "input")
        parents = _named_parents(v, ids) if v.parents else []
        tip = "\n".join([f"{v.label} = {_chain_formula(v)}{v.data:.4g}"]
                        + [f"∂{v.label}/∂{p.label} = {f:.4g}" for p, f in parents])
        records.append({
            "svg": f"n{i}", "name": v.label, "kind": kind, "data": v.data,
            "grad": all_grads[id(v)], "op": op_symbol(v) if v.parents else "",
            "computed": bool(v.parents),
            "parents": [position[id(p)] for p, _ in parents],
            "locals": [f for _, f in parents], "tip": tip,
        })
    data = _graph_data(records, "C₀", "direct")
    intro = ("Episode 4's chain: w, a and b make z, σ(z) makes a, and a with the target y "
             "makes the cost C₀. Step forward, then backward: every gradient is the product "
             "of the factors on the edges. Click w to see its path.")
    page = build_page(title or "Watch the chain rule: episode 4", "graph", svg, data, intro)
    return ExplorePage(page, "graph", len(data["forward"]) + len(data["backward"]))


# --------------------------------------------------------------------------- collapsed
def _collapsed_tip(v: Value, kind: str, name: str, neuron: bool, names: dict[int, str],
                   root_name: str) -> str:
    if not neuron:
        return value_tooltip(v, kind, names, root_name)
    z = v if v.op == "affine" else v.parents[0]
    act = "" if v.op == "affine" else f"{op_symbol(v)}"
    body = f"{act}(Σ w·x + b)" if act else "Σ w·x + b"
    return (f"{name} = {body} = {v.data:.4g}\n{len(z.ctx[0])} inputs; its weights and bias "
            f"are inside the box\ngrad = ∂{root_name}/∂{name} = {v.grad:.4g}")


def _explore_collapsed(root: Value, order: list[Value], kinds: list[str], names: list[str], *,
                       rankdir: str, max_nodes: int, title: Optional[str],
                       backend: str) -> ExplorePage:
    kept, neuron_names = collapse_graph(order, root, kinds)
    if len(kept) > max_nodes:
        raise ValueError(f"even collapsed (one box per neuron) the graph has {len(kept):,} "
                         f"boxes, more than max_nodes={max_nodes:,}; pass a larger max_nodes")
    keep_ids = {id(order[i]) for i in kept}
    position = {id(order[i]): k for k, i in enumerate(kept)}
    shown = {id(order[i]): neuron_names.get(i, names[i]) for i in kept}
    records = []
    with _fresh_gradients(root, order) as grads:
        for k, i in enumerate(kept):
            v = order[i]
            parents = _named_parents(v, keep_ids) if v.parents else []
            records.append({
                "svg": f"c{k}", "name": shown[id(v)], "kind": kinds[i],
                "neuron": i in neuron_names, "data": v.data, "grad": grads[i],
                "op": op_symbol(v) if v.parents else "", "computed": bool(v.parents),
                "parents": [position[id(p)] for p, _ in parents],
                "locals": [f for _, f in parents],
                "tip": _collapsed_tip(v, kinds[i], shown[id(v)], i in neuron_names, shown,
                                      names[-1]),
            })
    svg = clean_svg(to_svg(collapsed_view(records, rankdir), backend))
    data = _graph_data(records, names[-1], "boxes")
    intro = (f"{len(order):,} values, collapsed to {len(kept)} boxes: one per neuron (its "
             "weights inside). Step forward, then backward; each edge's factor is the chain "
             "rule through the hidden values. Click a box to see its paths.")
    page = build_page(title or f"Explore the graph of {names[-1]}", "graph", svg, data, intro)
    return ExplorePage(page, "graph", len(data["forward"]) + len(data["backward"]))
