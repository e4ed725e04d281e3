"""Tests for tinygrad_lite.explore: the pages' content, safety, sizes, snapshots and the CLI.

What the pages *do* in a browser is tested in tests/test_explore_browser.py; here the HTML
is read as text: the data the script gets (checked against finite differences and closed
forms), the Content-Security-Policy, escaping, saving, and ``train(..., record=N)``.
"""

from __future__ import annotations

import html
import json
import math
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_lite import (
    MLP,
    ExplorePage,
    History,
    Snapshot,
    Value,
    episode4_chain,
    explore,
    explore_training,
    load_digits,
    train,
)
from tinygrad_lite.cli import main
from tinygrad_lite.engine import topological_order
from tinygrad_lite.serialize import save_model
from tinygrad_lite.train import EpochStats, subset

DATA_BLOCK = re.compile(r'<script type="application/json" id="explore-data">(.*?)</script>',
                        re.DOTALL)


def page_data(page: ExplorePage) -> dict:
    block = DATA_BLOCK.search(page.html).group(1)
    assert "<" not in block  # nothing in it can end the script element
    return json.loads(block)


def small_expression() -> Value:
    x = Value(0.7, label="x")
    w = Value(-1.2, label="w")
    b = Value(0.3, label="b")
    c = ((w * x + b).sigmoid() - 1.0) ** 2 + x * x
    c.label = "C"
    return c


def finite_difference(root_fn, leaf_values, i, h=1e-6):
    up, down = list(leaf_values), list(leaf_values)
    up[i] += h
    down[i] -= h
    return (root_fn(up) - root_fn(down)) / (2 * h)


# --------------------------------------------------------------------------- the page itself
def test_a_page_is_self_contained_with_a_strict_csp():
    page = explore(small_expression())
    text = page.html
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', text)
    policy = html.unescape(csp.group(1))
    assert "default-src 'none'" in policy
    assert re.search(r"script-src 'sha256-[A-Za-z0-9+/=]+'$", policy.split(";")[-2].strip())
    # No external load: the only URLs are the SVG/XLink namespace names.
    urls = set(re.findall(r"https?://[^\s\"'<>]+", text))
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
    assert not re.search(r"<(script|link|img|iframe)[^>]*\s(src|href)=", text)
    assert text.count("<script") == 2  # the JSON block and the script


def test_without_scripts_the_page_still_holds_the_finished_picture():
    done = small_expression()
    done.backward()  # the gradients the picture must show...
    text = explore(small_expression()).html  # ...even for a value never back-propagated
    svg = text[text.index("<svg"):text.index("</svg>")]
    for v in topological_order(done):
        if v.label:
            assert f"grad {v.grad:.4g}".replace("-", "−") in svg
    assert "<noscript>" in text


def test_a_hostile_label_cannot_leave_its_place():
    evil = "</script><script>alert(1)</script>"
    x = Value(2.0, label=evil)
    page = explore(x * 3.0)
    assert page.html.count("<script") == 2
    assert evil not in page.html  # escaped everywhere: in the SVG and in the JSON
    data = page_data(page)
    assert data["nodes"][0]["name"] == evil  # and comes back intact to the script


def test_the_title_is_escaped():
    page = explore(small_expression(), title="<b>&</b>")
    assert "<title>&lt;b&gt;&amp;&lt;/b&gt;</title>" in page.html


def test_save_writes_the_page_atomically(tmp_path):
    page = explore(episode4_chain())
    path = page.save(tmp_path / "chain.html")
    assert path.read_text(encoding="utf-8") == page.html
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chain.html"]
    with pytest.raises(ValueError, match=r"\.html"):
        page.save(tmp_path / "chain.svg")
    with pytest.raises(FileNotFoundError):
        page.save(tmp_path / "missing" / "chain.html")


def test_in_jupyter_the_page_shows_in_a_sandboxed_iframe():
    page = explore(episode4_chain())
    frame = page._repr_html_()
    assert frame.startswith("<iframe") and 'sandbox="allow-scripts"' in frame
    assert html.unescape(re.search(r'srcdoc="([^"]*)"', frame).group(1)) == page.html


# --------------------------------------------------------------------------- graph data
def test_the_gradients_on_a_value_page_are_the_derivatives():
    leaves = [0.7, -1.2, 0.3]

    def cost(vals):
        x, w, b = vals
        return (1 / (1 + math.exp(-(w * x + b))) - 1.0) ** 2 + x * x

    data = page_data(explore(small_expression()))
    by_name = {n["name"]: n for n in data["nodes"]}
    for i, name in enumerate("xwb"):
        assert by_name[name]["grad"] == pytest.approx(finite_difference(cost, leaves, i),
                                                      rel=1e-6)


def test_explore_leaves_the_values_own_gradients_as_they_were():
    c = small_expression()
    order = topological_order(c)
    for v in order:
        v.grad = 5.0
    explore(c)
    assert all(v.grad == 5.0 for v in order)


def test_the_steps_visit_every_value_once_parents_first_and_children_first_back():
    data = page_data(explore(small_expression()))
    nodes = data["nodes"]
    forward, backward = data["forward"], data["backward"]
    assert sorted(forward) == [i for i, n in enumerate(nodes) if n["parents"]]  # all computed
    assert backward[0] == data["root"]
    position = {n: k for k, n in enumerate(forward)}
    back_position = {n: k for k, n in enumerate(backward)}
    for i, n in enumerate(nodes):
        for p in n["parents"]:
            if p in position:
                assert position[p] < position[i]
            if p in back_position:
                assert back_position[p] > back_position[i]


@given(st.lists(st.floats(-2, 2), min_size=2, max_size=4))
def test_backward_terms_add_up_to_each_gradient(numbers):
    xs = [Value(v, label=f"x{i}") for i, v in enumerate(numbers)]
    c = Value.sum([(x * xs[0]).tanh() for x in xs]) * xs[-1]
    data = page_data(explore(c))
    nodes = data["nodes"]
    for i in data["backward"]:
        if i == data["root"]:
            continue
        terms = [nodes[c]["grad"] * nodes[c]["locals"][k]
                 for c, n in enumerate(nodes) for k, p in enumerate(n["parents"]) if p == i]
        assert sum(terms) == pytest.approx(nodes[i]["grad"], rel=1e-9, abs=1e-12)


def test_the_chain_page_has_the_episode4_factors():
    graph, named = episode4_chain(values={"w(L)": 0.8, "a(L-1)": 0.6, "b(L)": -0.2, "y": 1.0})
    data = page_data(explore((graph, named)))
    by_name = {n["name"]: n for n in data["nodes"]}
    a, z, cost = by_name["a⁽ᴸ⁾"], by_name["z⁽ᴸ⁾"], by_name["C₀"]
    # ∂C₀/∂a = 2(a − y) through the hidden a − y and (a − y)² nodes; ∂a/∂z = σ'(z).
    assert cost["locals"][cost["parents"].index(data["nodes"].index(a))] == pytest.approx(
        2 * (a["data"] - 1.0))
    assert a["locals"] == [pytest.approx(a["data"] * (1 - a["data"]))]
    assert z["grad"] == pytest.approx(2 * (a["data"] - 1.0) * a["data"] * (1 - a["data"]))
    assert by_name["w⁽ᴸ⁾"]["grad"] == pytest.approx(0.6 * z["grad"])


def test_bad_arguments_say_what_to_do():
    with pytest.raises(TypeError, match="expects a Value"):
        explore(3.0)
    with pytest.raises(TypeError, match="x and y are for a model"):
        explore(small_expression(), [1.0])
    with pytest.raises(TypeError, match=r"explore\(model, x, y\)"):
        explore(MLP(4, [2]))
    x = Value(1.0, label="x")
    big = Value.sum([x * float(i) for i in range(300)])
    with pytest.raises(ValueError, match="max_nodes"):
        explore(big, max_nodes=100, collapse=False)
    model = MLP(4, [3, 2], seed=0)
    with pytest.raises(ValueError, match="out of range"):
        explore(model, [0.1] * 4, 2)
    with pytest.raises(ValueError, match="4 inputs but x has 3"):
        explore(model, [0.1] * 3, 1)
    with pytest.raises(ValueError, match="positive"):
        explore(model, [0.1] * 4, 1, lr=0)


# --------------------------------------------------------------------------- networks
def test_the_network_page_carries_the_engines_backward_pass():
    model = MLP(4, [3, 2], seed=0)
    x, label = [0.2, 0.9, 0.4, 0.1], 1
    data = page_data(explore(model, x, label))
    out = data["a"][-1]
    y = [0.0, 1.0]
    assert data["dCda"][-1] == pytest.approx([2 * (a - t) for a, t in zip(out, y)])

    def cost(params):
        for p, v in zip(model.parameters(), params):
            p.data = v
        return sum((a.data - t) ** 2 for a, t in zip(model(x), y))

    start = [p.data for p in model.parameters()]
    dw = np.frombuffer(__import__("base64").b64decode(data["dCdw"][0]), dtype="<f8")
    try:
        for i in (0, 1, 5):  # weights of the first layer, in (neuron, input) order
            assert dw[i] == pytest.approx(finite_difference(cost, start, i + i // 4), rel=1e-5)
    finally:
        cost(start)


def test_the_network_picture_keeps_the_strongest_edges_by_w_times_a():
    model = MLP(4, [2, 2], seed=3)
    x = [0.0, 1.0, 0.0, 0.5]  # inputs 0 and 2 are zero: their edges carry nothing
    page = explore(model, x, 0, top_k=2)
    first = set(re.findall(r'id="e0_(\d)_(\d)"', page.html))
    assert first == {(j, k) for j in "01" for k in "13"}
    assert len(re.findall(r'id="e1_', page.html)) == 4  # 2 per neuron of layer 2
    for i in range(4):
        assert f'id="in{i}"' in page.html
    assert 'id="n0_1"' in page.html and 'id="n1_1"' in page.html


# --------------------------------------------------------------------------- snapshots
def test_train_records_bounded_float32_snapshots():
    split = subset(load_digits(), 100, 20)
    model = MLP(64, [5, 10], seed=0)
    start = np.array([p.data for p in model.parameters()], dtype=np.float32)
    history = train(model, split, epochs=7, record=3, verbose=False, progress=False)
    assert [s.epoch for s in history.snapshots] == [0, 3, 6, 7]  # every ⌈7/3⌉ = 3, the last
    assert all(s.parameters.dtype == np.float32 for s in history.snapshots)
    assert np.array_equal(history.snapshots[0].parameters, start)
    end = np.array([p.data for p in model.parameters()], dtype=np.float32)
    assert np.array_equal(history.snapshots[-1].parameters, end)
    assert train(model, split, epochs=1, verbose=False, progress=False).snapshots == []
    with pytest.raises(ValueError, match="record"):
        train(model, split, epochs=1, record=-1, verbose=False, progress=False)
    with pytest.raises(TypeError, match="record"):
        train(model, split, epochs=1, record=2.5, verbose=False, progress=False)


def test_twenty_snapshots_of_the_big_network_make_a_page_of_a_few_mb():
    model = MLP(784, [16, 16, 10], seed=0)
    rng = np.random.default_rng(0)
    n = model.num_parameters()
    history = History(epochs=[EpochStats(e, 1.0 / e, 0.5, 0.5, 0.1) for e in range(1, 20)])
    history.snapshots = [Snapshot(e, rng.normal(size=n).astype(np.float32)) for e in range(20)]
    images = rng.random((8, 784))
    page = explore_training(history, model, images, labels=list(range(8)))
    assert 1.0e6 < len(page) < 3.0e6  # 20 × 13,002 × 4 bytes as base64 ≈ 1.4 MB
    assert len(page_data(page)["snapshots"]) == 20


def test_a_replay_needs_snapshots():
    model = MLP(64, [10], seed=0)
    with pytest.raises(ValueError, match="record="):
        explore_training(History(), model, load_digits().test)


# --------------------------------------------------------------------------- the CLI
def test_the_cli_writes_each_kind_of_page(tmp_path, capsys):
    chain = tmp_path / "chain.html"
    assert main(["explore", "episode4", "-o", str(chain), "--depth", "2"]) == 0
    assert "wrote" in capsys.readouterr().out and page_kind(chain) == "graph"
    model_path = tmp_path / "model.json"
    save_model(MLP(64, [8, 10], seed=0), model_path)
    net = tmp_path / "net.html"
    assert main(["explore", "network", str(model_path), "--index", "2", "-o", str(net)]) == 0
    assert page_kind(net) == "network"
    replay = tmp_path / "replay.html"
    assert main(["explore", "training", "--epochs", "2", "--limit", "60", "--hidden", "6",
                 "-o", str(replay)]) == 0
    assert page_kind(replay) == "training"
    capsys.readouterr()
    assert main(["explore", "network", str(model_path), "--index", "9999", "-o",
                 str(net)]) == 1
    assert "out of range" in capsys.readouterr().err


def test_the_cli_has_help_for_each_page(capsys):
    for what in ("episode4", "network", "training"):
        assert main(["explore", what, "--help"]) == 0
        assert "--output" in capsys.readouterr().out


def page_kind(path) -> str:
    return json.loads(DATA_BLOCK.search(path.read_text(encoding="utf-8")).group(1))["kind"]


# --------------------------------------------------------------------------- collapsed graphs
def test_a_large_graph_is_collapsed_to_one_box_per_neuron():
    split = load_digits()
    model = MLP(64, [16, 16, 10], seed=0)
    x, label = split.test.images[0], int(split.test.labels[0])
    outputs = model(x)
    cost = Value.sum([(a - (1.0 if j == label else 0.0)) ** 2 for j, a in enumerate(outputs)])
    assert len(topological_order(cost)) > 400  # more than max_nodes: collapsed by default
    data = page_data(explore(cost))
    nodes = data["nodes"]
    neurons = [n for n in nodes if n["neuron"]]
    assert len(neurons) == 42 and len(nodes) == 43  # 16 + 16 + 10 neurons and the cost
    outs = [n for n in neurons if n["name"].startswith("a⁽³⁾")]
    assert [n["grad"] for n in outs] == pytest.approx(  # ∂C/∂aⱼ = 2(aⱼ − yⱼ)
        [2 * (a.data - (1.0 if j == label else 0.0)) for j, a in enumerate(outputs)])
    first = next(n for n in neurons if n["name"] == "a⁽¹⁾₀")
    a1 = model.layers[0].neurons[0](x)
    assert first["data"] == pytest.approx(a1.data)
    # The factors between boxes are the chain rule through the hidden z and w:
    # ∂a⁽²⁾ⱼ/∂a⁽¹⁾₀ = σ'(z⁽²⁾ⱼ)·wⱼ₀, so the terms still add up to each gradient.
    for i in data["backward"][1:]:
        terms = [nodes[c]["grad"] * nodes[c]["locals"][k]
                 for c, n in enumerate(nodes) for k, p in enumerate(n["parents"]) if p == i]
        assert sum(terms) == pytest.approx(nodes[i]["grad"], rel=1e-9, abs=1e-15)
    with pytest.raises(ValueError, match="collapse=True"):
        explore(cost, collapse=False)


def test_without_scripts_the_replay_shows_the_last_snapshot_on_the_first_digit():
    split = subset(load_digits(), 100, 10)
    model = MLP(64, [6, 10], seed=0)
    history = train(model, split, epochs=2, record=2, verbose=False, progress=False)
    text = explore_training(history, model, split.test, count=3).html
    twin = MLP(64, [6, 10], seed=1)
    for p, v in zip(twin.parameters(), history.snapshots[-1].parameters.tolist()):
        p.data = v
    hidden = twin.layers[0](split.test.images[0].tolist())
    first = re.search(r'<g id="n0_0".*?<text class="act"[^>]*>([^<]*)</text>', text).group(1)
    assert first == f"{hidden[0].data:.2f}"
    assert 'id="e0_' in text  # and its strongest edges


@pytest.mark.parametrize("backend", ["dot", "wasm"])
def test_either_graphviz_lays_the_page_out(backend):
    from tinygrad_lite.viz import available_backends

    if backend not in available_backends():
        pytest.skip(f"the {backend} backend is not installed here")
    page = explore(episode4_chain(), backend=backend)
    assert page_data(page)["nodes"][0]["svg"] == "n0" and "<svg" in page.html
