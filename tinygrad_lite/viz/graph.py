"""``draw_graph``: the computation graph of a :class:`Value`, one node per value and per op.

Also the pieces the other views share: telling parameters from inputs and constants, op
symbols, node styles and the hover tooltips (formula and local derivatives).
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Optional

from tinygrad_lite._checks import positive_int
from tinygrad_lite.engine import Value, topological_order
from tinygrad_lite.optable import OPS, op_record
from tinygrad_lite.viz._text import MAX_LABEL_LENGTH, dot_text, dot_tooltip, fmt, shorten, sub
from tinygrad_lite.viz.rendering import GraphView
from tinygrad_lite.viz.style import FONT, LEGEND_FRAME, STYLES

__all__ = ["draw_graph", "OP_SYMBOLS", "DEFAULT_MAX_NODES"]

#: The default ``max_nodes`` of :func:`draw_graph` and :func:`draw_collapsed`.
DEFAULT_MAX_NODES = 500

#: The symbol drawn in the small op node of each engine op, read from the op table (custom
#: ops show their name; ``x ** p`` shows its exponent: x², x³...).
OP_SYMBOLS: dict[str, str] = {name: r.symbol for name, r in OPS.items() if r.builtin}

_RANKDIRS = ("LR", "RL", "TB", "BT")

# Default rule for telling parameters from inputs when no params= is given.
_PARAM_LABEL = re.compile(r"(?:[wWbB](?![A-Za-z])|(?i:weight|bias))")

#: How the operands of the ops whose order matters are marked on their edges ("a − b").
ORDERED_OPS: dict[str, str] = {"-": "a − b", "/": "a / b", "**": "aᵇ"}


# --------------------------------------------------------------------------- checks
def check_rankdir(rankdir: Any) -> str:
    """``rankdir`` if it is one of LR, RL, TB, BT, else a ValueError."""
    if rankdir not in _RANKDIRS:
        raise ValueError(f"rankdir must be one of {', '.join(_RANKDIRS)}, got {rankdir!r}")
    return rankdir


def value_set(values: Optional[Iterable[Any]], what: str) -> set[int]:
    """The ids of ``values`` (an iterable of Values, or None), checking each item."""
    if values is None:
        return set()
    if isinstance(values, Value):
        raise TypeError(f"{what} must be a collection of Values (e.g. model.parameters()), "
                        "got a single Value; wrap it in a list")
    ids = set()
    for i, v in enumerate(values):
        if not isinstance(v, Value):
            raise TypeError(f"{what}[{i}] must be a Value, got {type(v).__name__}")
        ids.add(id(v))
    return ids


def too_many_nodes(count: int, max_nodes: int, what: str) -> ValueError:
    """The error for a graph larger than ``max_nodes``: the size and what to do instead."""
    return ValueError(
        f"{what} has {count:,} nodes, more than max_nodes={max_nodes:,}: the picture would be "
        "unreadable and Graphviz could take minutes to lay it out. Pass a larger max_nodes to "
        "draw it anyway, or draw a summary: draw_collapsed(root_or_model) (one box per "
        "neuron) or draw_network(model) (neurons as circles, weights as coloured edges)")


def leaf_kind(v: Value, params: set[int], inputs: set[int], params_given: bool) -> str:
    """"param", "input" or "const" for a leaf (see :func:`draw_graph` for the rule)."""
    if id(v) in params:
        return "param"
    if id(v) in inputs:
        return "input"
    if not params_given and v.label and _PARAM_LABEL.match(v.label):
        return "param"
    if v.label:
        return "input"
    return "const"


# --------------------------------------------------------------------------- tooltips
def op_symbol(v: Value) -> str:
    """The short symbol of the op that made ``v`` (``"σ"``, ``"Σ"``, ``"x²"``...)."""
    if v.op == "**":
        if len(v.parents) == 2:
            return "xʸ"
        p = v.ctx
        return {2.0: "x²", 3.0: "x³", -1.0: "1/x", 0.5: "√x"}.get(p, f"x^{fmt(p)}")
    record = op_record(v.op)
    return record.symbol if record is not None else v.op


def _parent_names(v: Value, names: dict[int, str]) -> list[str]:
    generic = ["x"] if len(v.parents) == 1 else [f"x{i + 1}" for i in range(len(v.parents))]
    return [names.get(id(p)) or g for p, g in zip(v.parents, generic)]


def _rule(d: str, rule: str, value: str) -> str:
    """``"∂a/∂z = σ(z)(1 − σ(z)) = 0.105"``, or ``"∂s/∂x = 1"`` when the rule is the number."""
    try:
        same = fmt(float(rule.replace("−", "-"))) == value
    except ValueError:
        same = False
    return f"{d} = {value}" if same else f"{d} = {rule} = {value}"


def formula(v: Value, names: dict[int, str]) -> tuple[str, list[str]]:
    """("out = σ(x)", ["∂out/∂x = σ(x)(1−σ(x)) = 0.105", ...]) for a computed value ``v``.

    ``names`` maps ``id(value)`` to the name to use (labels, numbers of constants); other
    values are called ``out``, ``x``, ``x1``, ``x2``... A derivative that is a plain number
    (``∂(x + y)/∂x = 1``, ``∂(3·x)/∂x = 3``) is written once, not as ``1 = 1``.
    """
    o = names.get(id(v)) or "out"
    ps = _parent_names(v, names)
    ls = [fmt(g) for g in v.local_grads]
    op = v.op
    d = [f"∂{o}/∂{p}" for p in ps]
    record = op_record(op)
    if record is None or not record.builtin or (record.arity and len(ps) not in record.arity):
        return f"{o} = {op}({', '.join(ps)})", _listed(d, ls)
    if record.arity:  # the table's templates: {x} for one operand, {a} and {b} for two
        exponent = fmt(v.ctx) if isinstance(v.ctx, float) else ""  # of x ** p
        fields = {"x": ps[0], "a": ps[0], "b": ps[1] if len(ps) > 1 else exponent}
        rules = [t.format(**fields) for t in record.derivative_formulas]
        return (f"{o} = {record.formula.format(**fields)}",
                [_rule(di, rule, li) for di, rule, li in zip(d, rules, ls)])
    if op == "sum":
        extra = f" + {fmt(v.ctx)}" if isinstance(v.ctx, float) and v.ctx != 0.0 else ""
        lines = [f"∂{o}/∂xᵢ = 1 for each of the {len(ps)} terms"]
        return f"{o} = {record.formula}{extra} ({len(ps)} terms)", lines
    if op == "affine":
        ws, xs, b = v.ctx
        constants = sum(not isinstance(t, Value) for t in (*ws, *xs))
        head = f"{o} = {record.formula} ({len(ws)} terms"
        head += f", {constants} of the wᵢ/xᵢ constant numbers)" if constants else ")"
        return head, ["∂/∂wᵢ = xᵢ, ∂/∂xᵢ = wᵢ, ∂/∂b = 1:"] + _listed(d, ls)
    return f"{o} = {op}({', '.join(ps)})", _listed(d, ls)


def _listed(d: list[str], ls: list[str], most: int = 8) -> list[str]:
    lines = [f"{a} = {b}" for a, b in zip(d[:most], ls[:most])]
    if len(d) > most:
        lines.append(f"… and {len(d) - most} more")
    return lines


def value_tooltip(v: Value, kind: str, names: dict[int, str], root_name: str) -> str:
    """The hover text of a value node: its formula, local derivatives, data and grad."""
    name = names.get(id(v)) or "out"
    if v.is_leaf:
        what = {"param": "parameter", "input": "input", "const": "constant",
                "root": "leaf"}.get(kind, "leaf")
        text = f"{name} = {fmt(v.data)} ({what})"
    else:
        head, lines = formula(v, names)
        text = "\n".join([f"{head} = {fmt(v.data)}", *lines])
    return f"{text}\ngrad = ∂{root_name}/∂{name} = {fmt(v.grad)}"


# --------------------------------------------------------------------------- draw_graph
def _name_unlabelled(order: list[Value], root: Value, names: dict[int, str]) -> None:
    """Name the values ``names`` lacks, for the tooltips: the root ``out``, the others
    ``v₁``, ``v₂``... in the order they are computed; names already used are skipped."""
    taken = set(names.values())
    if id(root) not in names:
        names[id(root)] = next((n for n in ("out", "root", "result") if n not in taken),
                               "out")
        taken.add(names[id(root)])
    index = 0
    for v in order:
        if id(v) in names:
            continue
        index += 1
        while f"v{sub(str(index))}" in taken:
            index += 1
        names[id(v)] = f"v{sub(str(index))}"


def _affine_constants(v: Value) -> str:
    ws, xs, _ = v.ctx
    parts = []
    for letter, items in (("w", ws), ("x", xs)):
        consts = [t for t in items if not isinstance(t, Value)]
        if not consts:
            continue
        if len(consts) <= 6:
            parts.append(f"{letter} = ({', '.join(fmt(float(c), 3) for c in consts)})")
        else:
            parts.append(f"{len(consts)} constant {letter}")
    return "\n".join(parts)


def draw_graph(
    root: Value,
    *,
    params: Optional[Iterable[Value]] = None,
    inputs: Optional[Iterable[Value]] = None,
    rankdir: str = "LR",
    max_nodes: int = DEFAULT_MAX_NODES,
    legend: bool = False,
    edge_labels: bool = False,
    show_grad: bool = True,
) -> GraphView:
    """The computation graph of ``root``: every value it depends on, with data and grad.

    Each :class:`Value` is a box showing its label (if any), ``data`` and ``grad``; each op is a
    small circle (``+``, ``×``, ``σ``, ``ReLU``, ``Σ``, ``Σwx+b`` for ``Value.affine``...).
    Edges follow the computation: parent → op → result, left to right by default. Hovering a
    node in the SVG shows its formula and local derivatives, e.g. ``a = σ(z) = 0.8808`` and
    ``∂a/∂z = σ(z)(1 − σ(z)) = 0.105``; hovering an edge shows the local derivative it carries.
    Values are called by their labels there; unlabelled ones are ``v₁``, ``v₂``... in the order
    they are computed, and an unlabelled ``root`` is ``out``.

    How values are told apart (``legend=True`` adds a "legend" strip with one sample of each,
    named in a learner's words: "result", "weight or bias", "input", "computed value",
    "constant"):

    * **result** (``root``): gold double-bordered box;
    * **weight or bias** (a parameter): blue box. The leaves in ``params`` (e.g.
      ``model.parameters()``); without ``params``, leaves whose label starts with ``w``/``b``
      followed by a non-letter (``"w"``, ``"w0"``, ``"b_1"``, ``"w⁽²⁾₃,₅"``) or with
      ``weight``/``bias``;
    * **input**: green parallelogram. The leaves in ``inputs``, and every other labelled leaf;
    * **constant**: small grey box, beside the op it feeds when it feeds one. Unlabelled
      leaves not in ``params``/``inputs`` — the engine turns plain numbers in expressions like
      ``out - 1.0`` into exactly such leaves, so label a leaf (or list it in ``inputs``) to
      show it as an input;
    * **computed value**: white rounded box; **op**: small grey circle. The two operands of
      ``−``, ``/`` and ``**`` arrive on arrows marked ``a`` and ``b`` (the op is a − b, a / b,
      aᵇ).

    Labels longer than :data:`tinygrad_lite.viz.MAX_LABEL_LENGTH` characters are
    shortened with "…" (the whole label is in the tooltip), so ``dot`` and the WebAssembly
    build draw the same picture; numbers use the minus sign of the formulas, −.

    Constant numbers inside a ``Value.affine`` node (a network's input pixels, say) are not
    values; they are summarised in a small note next to its op ("784 constant x").

    Args:
        root: the value to draw (usually after ``root.backward()``, so grads are filled in).
        params: the parameters (leaves) to show as such; overrides the label rule.
        inputs: leaves to show as inputs even without a label.
        rankdir: "LR" (left to right, default), "RL", "TB" (top to bottom) or "BT".
        max_nodes: the most values to draw (op circles and notes come on top). A network's
            graph has tens of thousands: above the cap a ValueError suggests
            :func:`draw_collapsed` and :func:`draw_network` instead.
        legend: add the legend strip.
        edge_labels: write the local derivative ∂result/∂parent on each parent → op edge.
        show_grad: show ``grad`` in the boxes.

    Returns:
        a :class:`GraphView` (a ``graphviz.Digraph``): display it in Jupyter, or pass it to
        :func:`to_svg` / :func:`save_graph`.

    Raises:
        TypeError: ``root`` is not a Value, or ``params``/``inputs`` hold something else.
        ValueError: the graph has more than ``max_nodes`` values; a bad ``rankdir``.
    """
    if not isinstance(root, Value):
        raise TypeError(f"draw_graph expects a Value, got {type(root).__name__}; for a model "
                        "use draw_network(model) or draw_collapsed(model)")
    check_rankdir(rankdir)
    positive_int(max_nodes, "max_nodes")
    param_ids = value_set(params, "params")
    input_ids = value_set(inputs, "inputs")
    order = topological_order([root])
    if len(order) > max_nodes:
        raise too_many_nodes(len(order), max_nodes, "the graph of this value")

    kinds, names = _kinds_and_names(order, root, param_ids, input_ids, params is not None)
    g = GraphView(name="computation_graph",
                  graph_attr={"rankdir": rankdir, "fontname": FONT},
                  node_attr={"fontname": FONT, "fontsize": "11"},
                  edge_attr={"fontname": FONT, "fontsize": "9", "arrowsize": "0.6"})
    ids = {id(v): f"v{i}" for i, v in enumerate(order)}
    uses = _uses(order)
    for i, v in enumerate(order):
        tooltip = dot_tooltip(value_tooltip(v, kinds[id(v)], names, names[id(root)]))
        _emit_value(g, ids[id(v)], v, kinds[id(v)], tooltip, show_grad)
        if v.parents:
            _emit_op(g, i, v, ids, names, tooltip, edge_labels)
            attached = [ids[id(p)] for p in v.parents
                        if kinds[id(p)] == "const" and uses[id(p)] == 1]
            if v.op == "affine" and _affine_constants(v):
                attached.append(f"k{i}")  # the note of its constant numbers
            if attached:  # a constant sits beside the op it feeds, not off in a corner
                with g.subgraph() as same:
                    same.attr(rank="same")
                    for node in [*attached, f"op{i}"]:
                        same.node(node)
    if legend:
        add_legend(g, rankdir)
    return g


def _kinds_and_names(order: list[Value], root: Value, params: set[int], inputs: set[int],
                     params_given: bool) -> tuple[dict[int, str], dict[int, str]]:
    """Each value's kind ("root", "param", "input", "const", "value") and tooltip name."""
    kinds: dict[int, str] = {}
    names: dict[int, str] = {}
    for v in order:
        kind = "value" if v.parents else leaf_kind(v, params, inputs, params_given)
        kinds[id(v)] = "root" if v is root else kind
        if v.label:
            names[id(v)] = shorten(v.label)
        elif kind == "const":
            names[id(v)] = fmt(v.data)
    _name_unlabelled(order, root, names)
    return kinds, names


def _uses(order: list[Value]) -> dict[int, int]:
    """How many ops read each value."""
    uses = {id(v): 0 for v in order}
    for v in order:
        for p in {id(p) for p in v.parents}:
            uses[p] += 1
    return uses


def _emit_value(g: GraphView, node: str, v: Value, kind: str, tooltip: str,
                show_grad: bool) -> None:
    if kind == "const":
        g.node(node, dot_text(fmt(v.data)), tooltip=tooltip, **STYLES["const"])
        return
    lines = [shorten(v.label)] if v.label else []
    lines.append(f"data {fmt(v.data)}")
    if show_grad:
        lines.append(f"grad {fmt(v.grad)}")
    if len(v.label) > MAX_LABEL_LENGTH:  # the whole label on hover
        tooltip = dot_tooltip(f"label: {v.label}\n") + tooltip
    g.node(node, dot_text("\n".join(lines)), tooltip=tooltip, **STYLES[kind])


def _emit_op(g: GraphView, i: int, v: Value, ids: dict[int, str], names: dict[int, str],
             tooltip: str, edge_labels: bool) -> None:
    """The op circle of value ``i``, its edge to the value, and one edge per operand; the
    operands of −, / and ** are marked a and b (``a − b``)."""
    op, child = f"op{i}", names[id(v)]
    ordered = ORDERED_OPS.get(v.op) if len(v.parents) == 2 else None
    op_tip = dot_tooltip(f"{ordered} (the arrows are marked a and b)\n") + tooltip if ordered \
        else tooltip
    g.node(op, dot_text(op_symbol(v)), tooltip=op_tip, **STYLES["op"])
    g.edge(op, ids[id(v)])
    parents = zip(v.parents, v.local_grads, _parent_names(v, names))
    for slot, (parent, local, pname) in enumerate(parents):
        attrs = {"tooltip": dot_tooltip(f"∂{child}/∂{pname} = {fmt(local)}")}
        if edge_labels:
            attrs["label"] = dot_text(fmt(local))
        if ordered:
            attrs.update(headlabel="ab"[slot], labelfontsize="9", labelfontcolor="#1c5fb4",
                         labeldistance="1.6", labelangle="-35")
        g.edge(ids[id(parent)], op, **attrs)
    if v.op == "affine":
        note = _affine_constants(v)
        if note:
            g.node(f"k{i}", dot_text(note), **STYLES["const"])
            g.edge(f"k{i}", op, style="dashed", color="#999999")


def add_legend(g: GraphView, rankdir: str = "LR") -> None:
    """Add the "legend" cluster: a strip with one small sample of each kind of node.

    Its words are a learner's: "weight or bias", "input", "computed value", "constant".
    """
    samples = [
        ("legend_root", "result", "root"),
        ("legend_param", "weight or bias", "param"),
        ("legend_input", "input", "input"),
        ("legend_value", "computed value", "value"),
        ("legend_const", "constant", "const"),
        ("legend_op", "+", "op"),
    ]
    with g.subgraph(name="cluster_legend") as c:
        c.attr(label="legend (○ = an operation)", fontname=FONT, fontsize="9",
               color=LEGEND_FRAME, style="rounded", margin="4")
        with c.subgraph() as row:
            if rankdir in ("TB", "BT"):  # one rank is a row here
                row.attr(rank="same")
            for node, text, kind in samples:
                row.node(node, dot_text(text), **{**STYLES[kind], "fontsize": "9",
                                                  "height": "0.25", "peripheries": "1"})
            # Invisible edges keep the samples in this order: across the ranks when these
            # run left to right, within the one rank otherwise.
            for (a, _, _), (b, _, _) in zip(samples, samples[1:]):
                row.edge(a, b, style="invis")
