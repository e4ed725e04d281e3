"""``draw_collapsed``: a computation graph with one box per neuron and one per cost.

A neuron's ``Σwx+b`` (or ``w*x + ... + b``) node and its activation become one box, its
weights and bias disappear into it; a cost such as Σⱼ (aⱼ − yⱼ)² — a ``Σ`` node with the
``−`` and ``²`` nodes that only feed it — becomes one box too. What is left is the network's
structure: inputs → neurons → cost, readable even for the 784-16-16-10 network (44 boxes
instead of ~13,100 values).
"""

from __future__ import annotations

from typing import Any, Iterable, Optional, Sequence, Union

from tinygrad_lite._checks import positive_int
from tinygrad_lite.engine import Value, is_grad_enabled, topological_order
from tinygrad_lite.losses import quadratic_cost
from tinygrad_lite.viz._text import dot_text, dot_tooltip, fmt, shorten, sup
from tinygrad_lite.viz.graph import (
    DEFAULT_MAX_NODES,
    check_rankdir,
    formula,
    leaf_kind,
    op_symbol,
    too_many_nodes,
    value_set,
)
from tinygrad_lite.viz.rendering import GraphView
from tinygrad_lite.viz.style import COST_STYLE, FONT, NEURON_STYLE, STYLES

__all__ = ["draw_collapsed"]

_ACTIVATIONS = {"sigmoid": "σ", "relu": "ReLU", "tanh": "tanh"}
_LINEAR_PARTS = ("+", "*", "sum")


class _Group:
    """Values drawn as one box: a neuron, a cost, or a single op."""

    def __init__(self, kind: str, out: Value, members: list[Value]) -> None:
        self.kind = kind  # "neuron", "cost" or "op"
        self.out = out
        self.members = members
        self.pre: Optional[Value] = None  # a neuron's affine node, if it has one
        self.hidden: list[Value] = []  # parameters and constants drawn inside the box


def _children(order: list[Value]) -> dict[int, list[Value]]:
    children: dict[int, list[Value]] = {id(v): [] for v in order}
    for v in order:
        for p in set(map(id, v.parents)):
            children[p].append(v)
    return children


def _only_feeds(v: Value, members: set[int], children: dict[int, list[Value]]) -> bool:
    kids = children[id(v)]
    return bool(kids) and all(id(c) in members for c in kids)


def _neurons(order: list[Value], children: dict[int, list[Value]],
             grouped: dict[int, _Group]) -> list[_Group]:
    groups = []
    position = {id(v): i for i, v in enumerate(order)}
    for v in order:
        if v.op not in _ACTIVATIONS or len(v.parents) != 1:
            continue
        z = v.parents[0]
        if id(z) in grouped or children[id(z)] != [v]:
            continue
        if z.op == "affine":
            members = [z, v]
        elif z.op in ("+", "sum"):
            # A neuron written out as w1*x1 + w2*x2 + b: absorb the + / * / Σ nodes that
            # only feed it.
            inside = {id(v), id(z)}
            members = [v, z]
            for q in reversed(order[: position[id(z)]]):
                if (q.op in _LINEAR_PARTS and id(q) not in grouped
                        and _only_feeds(q, inside, children)):
                    inside.add(id(q))
                    members.append(q)
            if not any(m.op == "*" for m in members):
                continue
        else:
            continue
        g = _Group("neuron", v, members)
        g.pre = z if z.op == "affine" else None
        groups.append(g)
        for m in members:
            grouped[id(m)] = g
    for v in order:
        if v.op == "affine" and id(v) not in grouped:  # a linear neuron
            g = _Group("neuron", v, [v])
            g.pre = v
            groups.append(g)
            grouped[id(v)] = g
    return groups


def _costs(order: list[Value], roots: Sequence[Value], children: dict[int, list[Value]],
           grouped: dict[int, _Group]) -> list[_Group]:
    root_ids = set(map(id, roots))
    candidates = {id(v) for v in order
                  if v.parents and id(v) not in grouped and (v.op == "sum" or id(v) in root_ids)}
    position = {id(v): i for i, v in enumerate(order)}
    groups = []
    for v in reversed(order):
        if id(v) not in candidates:
            continue
        inside = {id(v)}
        members = [v]
        for q in reversed(order[: position[id(v)]]):
            if (q.parents and id(q) not in grouped and id(q) not in candidates
                    and _only_feeds(q, inside, children)):
                inside.add(id(q))
                members.append(q)
        g = _Group("cost", v, members)
        groups.append(g)
        for m in members:
            grouped[id(m)] = g
    return groups


def _is_quadratic(g: _Group) -> bool:
    """Σⱼ (aⱼ − yⱼ)²: a sum of squares of differences, nothing else."""
    s = g.out
    if s.op != "sum" or len(g.members) != 1 + 2 * len(s.parents):
        return False
    return all(p.op == "**" and p.ctx == 2.0 and p.parents[0].op == "-" for p in s.parents)


def _collapse_inputs(model: Any, x: Any, y: Any) -> tuple[list[Value], list[Value],
                                                          dict[int, str]]:
    """Run ``model`` on ``x`` (zeros by default); roots, parameters and neuron names."""
    if not is_grad_enabled():
        raise ValueError("draw_collapsed(model) builds a graph, which no_grad() prevents; "
                         "call it outside the no_grad() block")
    nin = getattr(model, "nin", None) or len(model.layers[0].neurons[0].w)
    if x is None:
        x = [0.0] * nin
    names: dict[int, str] = {}
    acts: list[Any] = list(x.tolist() if hasattr(x, "tolist") else x)
    if len(acts) != nin:
        raise ValueError(f"draw_collapsed: the model has {nin} inputs but x has {len(acts)}")
    last = len(model.layers) - 1
    for l, layer in enumerate(model.layers):
        outs = [neuron(acts) for neuron in layer.neurons]
        for j, out in enumerate(outs):
            names[id(out)] = f"output {j}" if l == last else f"layer {l + 1}, neuron {j}"
        acts = outs
    params = model.parameters()
    if y is None:
        return acts, params, names

    cost = quadratic_cost(acts, y)
    saved = [p.grad for p in params]
    try:
        cost.backward()
    finally:
        for p, grad in zip(params, saved):  # leave the model's gradients as they were
            p.grad = grad
    return [cost], params, names


def draw_collapsed(
    root_or_model: Union[Value, Sequence[Value], Any],
    x: Optional[Sequence[float]] = None,
    y: Any = None,
    *,
    params: Optional[Iterable[Value]] = None,
    inputs: Optional[Iterable[Value]] = None,
    rankdir: str = "LR",
    max_nodes: int = DEFAULT_MAX_NODES,
) -> GraphView:
    """A collapsed computation graph: one box per neuron, one per cost, arrows between them.

    * **neuron** (lavender box): an activation (σ, ReLU, tanh) of a ``Σwx+b`` node — or of a
      ``w1*x1 + w2*x2 + b`` expression — with the weights and bias inside it; a ``Σwx+b`` node
      with no activation is a linear neuron. The box shows its activation and ``grad``.
    * **cost** (orange box): a ``Σ`` node (or an output) together with the nodes that only
      feed it, e.g. C₀ = Σⱼ (aⱼ − yⱼ)²; so a batch cost shows one box per example's cost.
    * Other computed values are small boxes with their op; inputs and parameters used by
      several boxes are drawn as in :func:`draw_graph`; constants inside a box are hidden.
    * Constant numbers fed to neurons (a network's input pixels) are one "input x" node.

    Args:
        root_or_model: a Value (e.g. a cost after ``backward()``), a list of Values (e.g. a
            network's outputs), or an MLP. For an MLP, the network is run on ``x`` (784 zeros
            by default: the structure does not depend on it); with a target ``y`` (a label
            or a list) the quadratic cost is added and ``backward()`` run, without changing
            the model's own ``.grad``\\ s.
        x, y: input and target, only for a model.
        params, inputs: as in :func:`draw_graph` (for a model, its parameters).
        rankdir: "LR" (default), "RL", "TB" or "BT".
        max_nodes: the most boxes to draw (a ValueError above).

    Raises:
        TypeError: not a Value, list of Values or MLP; bad ``params``/``inputs``.
        ValueError: more than ``max_nodes`` boxes; x/y of the wrong size; called for a model
            under ``no_grad()``.
    """
    check_rankdir(rankdir)
    positive_int(max_nodes, "max_nodes")
    roots, params, names = _roots_and_names(root_or_model, x, y, params)
    param_ids = value_set(params, "params")
    input_ids = value_set(inputs, "inputs")
    order = topological_order(roots)
    children = _children(order)
    groups, grouped = _groups(order, roots, children, names)
    drawn_leaves = _leaves(order, children, grouped, param_ids, input_ids, params is not None)
    constant_inputs = _constant_inputs(groups)
    total = len(groups) + len(drawn_leaves) + len(constant_inputs)
    if total > max_nodes:
        raise too_many_nodes(total, max_nodes, "the collapsed graph")
    g = _new_view(rankdir, ordered=bool(names))
    label_names = {id(v): shorten(v.label) or fmt(v.data) for v in order
                   if v.label or (not v.parents and drawn_leaves.get(id(v), "const") == "const")}
    node_of = _emit_groups(g, groups, set(map(id, roots)), names, label_names)
    _emit_leaves(g, order, drawn_leaves, node_of)
    _emit_constant_inputs(g, constant_inputs, node_of)
    _emit_edges(g, groups, node_of)
    return g


def _roots_and_names(root_or_model: Any, x: Any, y: Any,
                     params: Optional[Iterable[Value]]) -> tuple[list[Value], Any, dict]:
    """(roots, params, neuron names) for a Value, a list of Values or a model."""
    if isinstance(root_or_model, Value):
        roots, names = [root_or_model], {}
    elif hasattr(root_or_model, "layers") and hasattr(root_or_model, "parameters"):
        roots, model_params, names = _collapse_inputs(root_or_model, x, y)
        params = model_params if params is None else params
    elif (isinstance(root_or_model, Sequence) and root_or_model
          and all(isinstance(v, Value) for v in root_or_model)):
        roots, names = list(root_or_model), {}
    else:
        raise TypeError("draw_collapsed expects a Value, a list of Values or an MLP, got "
                        f"{type(root_or_model).__name__}")
    if not isinstance(root_or_model, Value) and not names and (x is not None or y is not None):
        raise TypeError("draw_collapsed: x and y are only for a model")
    return roots, params, names


def _groups(order: list[Value], roots: list[Value], children: dict[int, list[Value]],
            names: dict[int, str]) -> tuple[list[_Group], dict[int, _Group]]:
    """Neurons, then costs, then every other computed value on its own."""
    grouped: dict[int, _Group] = {}
    groups = _neurons(order, children, grouped)
    groups += _costs(order, roots, children, grouped)
    for v in order:
        if v.parents and id(v) not in grouped:
            g = _Group("op", v, [v])
            groups.append(g)
            grouped[id(v)] = g
    if names:  # a model: draw its neurons layer by layer, in order
        rank = {n: i for i, n in enumerate(names)}
        groups.sort(key=lambda grp: rank.get(id(grp.out), len(rank)))
    return groups, grouped


def _leaves(order: list[Value], children: dict[int, list[Value]], grouped: dict[int, _Group],
            params: set[int], inputs: set[int], params_given: bool) -> dict[int, str]:
    """The leaves drawn, with their kind. Parameters that only feed neurons, and constants
    that feed one box, are hidden inside them instead."""
    drawn: dict[int, str] = {}
    for v in order:
        if v.parents:
            continue
        kind = leaf_kind(v, params, inputs, params_given)
        owners = [grouped[id(c)] for c in children[id(v)]]
        if ((kind == "param" and owners and all(o.kind == "neuron" for o in owners))
                or (kind == "const" and len({id(o) for o in owners}) == 1)):
            for owner in owners:
                owner.hidden.append(v)
        else:
            drawn[id(v)] = kind
    return drawn


def _constant_inputs(groups: list[_Group]) -> dict[tuple, list[_Group]]:
    """The constant numbers fed to neurons (a network's pixels), each distinct set once."""
    found: dict[tuple, list[_Group]] = {}
    for grp in groups:
        if grp.pre is not None:
            consts = tuple(float(t) for t in grp.pre.ctx[1] if not isinstance(t, Value))
            if consts:
                found.setdefault(consts, []).append(grp)
    return found


def _new_view(rankdir: str, ordered: bool) -> GraphView:
    graph_attr = {"rankdir": rankdir, "fontname": FONT, "ranksep": "0.8"}
    if ordered:
        # Consecutive layers are fully connected, so every order of a layer's boxes crosses
        # as many edges, and dot's crossing minimisation settles on a rotated one (layer 1
        # drawn as neurons 10-15, 0-9). "ordering=out" keeps each box's outgoing edges in the
        # order they are written, i.e. every layer in neuron order.
        graph_attr["ordering"] = "out"
    return GraphView(name="collapsed_graph", graph_attr=graph_attr,
                     node_attr={"fontname": FONT, "fontsize": "11"},
                     edge_attr={"fontname": FONT, "fontsize": "9", "arrowsize": "0.6"})


def _emit_groups(g: GraphView, groups: list[_Group], root_ids: set[int], names: dict[int, str],
                 label_names: dict[int, str]) -> dict[int, str]:
    """One box per group (``g{i}``); returns the node of every member value."""
    node_of: dict[int, str] = {}
    for i, grp in enumerate(groups):
        node = f"g{i}"
        for m in grp.members:
            node_of[id(m)] = node
        text, tip, style = _describe(grp, names.get(id(grp.out), ""), label_names)
        if id(grp.out) in root_ids:
            style = STYLES["root"]
        g.node(node, dot_text(text), tooltip=dot_tooltip(tip), **style)
    return node_of


def _emit_leaves(g: GraphView, order: list[Value], drawn: dict[int, str],
                 node_of: dict[int, str]) -> None:
    for i, v in enumerate(v for v in order if id(v) in drawn):
        node = f"leaf{i}"
        node_of[id(v)] = node
        kind = drawn[id(v)]
        text = fmt(v.data) if kind == "const" else f"{shorten(v.label)}\ndata {fmt(v.data)}"
        tip = f"{v.label or 'constant'} = {fmt(v.data)} ({kind})"
        g.node(node, dot_text(text), tooltip=dot_tooltip(tip), **STYLES[kind])


def _emit_constant_inputs(g: GraphView, constant_inputs: dict[tuple, list[_Group]],
                          node_of: dict[int, str]) -> None:
    for i, (consts, feeds) in enumerate(constant_inputs.items()):
        node = f"x{i}"
        g.node(node, dot_text(f"input x\n{len(consts)} numbers"),
               tooltip=dot_tooltip(f"{len(consts)} constant inputs, "
                                   f"from {fmt(min(consts))} to {fmt(max(consts))}"),
               **STYLES["input"])
        for grp in feeds:
            g.edge(node, node_of[id(grp.out)])


def _emit_edges(g: GraphView, groups: list[_Group], node_of: dict[int, str]) -> None:
    """One arrow from each box (or leaf) to each box that reads it."""
    seen: set[tuple[str, str]] = set()
    for grp in groups:
        head = node_of[id(grp.out)]
        for m in grp.members:
            for p in m.parents:
                tail = node_of.get(id(p))
                if tail is None or tail == head or (tail, head) in seen:
                    continue
                seen.add((tail, head))
                g.edge(tail, head)


def _describe(grp: _Group, name: str, names: dict[int, str]) -> tuple[str, str, dict]:
    """(label, tooltip, style) of a group's box."""
    v = grp.out
    value_lines = [f"data {fmt(v.data)}", f"grad {fmt(v.grad)}"]
    if grp.kind == "neuron":
        act = _ACTIVATIONS.get(v.op, "")
        if grp.pre is not None:
            n_in = len(grp.pre.ctx[0])
        else:
            n_in = sum(m.op == "*" for m in grp.members)
        body = f"{act}(Σ w·x + b)" if act else "Σ w·x + b"
        title = name or shorten(v.label) or "neuron"
        lines = [title, f"{body}, {n_in} inputs", *value_lines]
        tip = [f"{title}: a = {body} = {fmt(v.data)}",
               f"{n_in} inputs; {len(grp.hidden)} parameters and constants inside the box",
               f"grad = {fmt(v.grad)}"]
        return "\n".join(lines), "\n".join(tip), NEURON_STYLE
    if grp.kind == "cost" and _is_quadratic(grp):
        body = f"Σⱼ (aⱼ − yⱼ)² over {len(v.parents)} outputs"
        title = shorten(v.label) or "C₀"
    else:
        body = _expression(v, {id(m) for m in grp.members}, names)
        title = shorten(v.label)
    lines = ([title] if title else []) + [body, *value_lines]
    tip = [f"{title or 'out'} = {body} = {fmt(v.data)}"]
    if grp.kind == "op":
        tip += formula(v, names)[1]
    tip.append(f"grad = {fmt(v.grad)}")
    return "\n".join(lines), "\n".join(tip), COST_STYLE if grp.kind == "cost" else STYLES["value"]


def _expression(v: Value, members: set[int], names: dict[int, str], depth: int = 0) -> str:
    """A short formula for the nodes of a box, e.g. ``(x − 1)²``; outside values are
    called by their label, their number (constants) or ``x``."""
    if id(v) not in members or depth > 4:
        return names.get(id(v)) or "x"
    ps = [_expression(p, members, names, depth + 1) for p in v.parents]
    if v.op in ("+", "-", "*", "/") and len(ps) == 2:
        sym = {"+": "+", "-": "−", "*": "·", "/": "/"}[v.op]
        text = f"{ps[0]} {sym} {ps[1]}"
        return text if depth == 0 else f"({text})"
    if v.op == "**" and len(ps) == 1:
        p = v.ctx
        power = sup(str(int(p))) if float(p).is_integer() and 0 <= p < 10 else f"^{fmt(p)}"
        base = ps[0] if len(ps[0]) == 1 or ps[0].startswith("(") else f"({ps[0]})"
        return base + power
    if v.op == "sum":
        if len(ps) <= 3:
            return f"Σ({', '.join(ps)})"
        return f"Σ of {len(ps)} terms"
    symbol = op_symbol(v)
    return f"{symbol}({', '.join(ps)})"
