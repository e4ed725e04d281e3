"""The explore pages in a real browser: Selenium driving the system's headless Chromium.

Each page is saved to a file and opened via ``file://``; the tests press keys and click as a
learner would and read the DOM. The numbers shown are checked against the engine (the page's
own numbers come from it) and against closed forms or a Python SGD step.

`.ci/run` installs Debian's ``chromium`` and ``chromium-driver``. Without them the tests skip
on a developer's machine, but under CI (the ``CI`` environment variable set) they fail.
"""

from __future__ import annotations

import math
import os
import re

import pytest

from tinygrad_lite import MLP, SGD, Value, episode4_chain, load_digits, quadratic_cost, train
from tinygrad_lite.engine import topological_order
from tinygrad_lite.explore import explore, explore_training
from tinygrad_lite.explore.browser import chromium_driver, find_chromedriver, find_chromium
from tinygrad_lite.serialize import from_arrays, to_arrays
from tinygrad_lite.train import subset

pytestmark = pytest.mark.slow  # the everyday run (pytest -m "not slow") leaves these out

if os.environ.get("CI"):  # under CI selenium must be installed: fail loudly if it is not
    from selenium import webdriver
else:
    webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import NoAlertPresentException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402

SHOWN = re.compile(r"[−-]?\d[\d.]*(?:e[-+]\d+)?")


@pytest.fixture(scope="module")
def browser():
    if find_chromium() is None or find_chromedriver() is None:
        if os.environ.get("CI"):
            pytest.fail("chromium and chromedriver must be installed under CI "
                        "(apt-get install chromium chromium-driver; see .ci/run)")
        pytest.skip("no chromium/chromedriver on PATH (apt-get install chromium chromium-driver)")
    with chromium_driver(window_size=(1400, 1000), browser_log=True) as driver:
        yield driver


def open_page(browser, page, tmp_path, name="page.html", fragment=""):
    path = page.save(tmp_path / name)
    browser.get(path.resolve().as_uri() + (f"#{fragment}" if fragment else ""))
    browser.get_log("browser")  # start each page with an empty log...
    browser.refresh()
    return path


def errors(browser) -> list:
    return [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]


def press(browser, key, times=1):
    body = browser.find_element(By.TAG_NAME, "body")
    for _ in range(times):
        body.send_keys(key)


def shown_number(browser, element_id) -> float:
    text = browser.find_element(By.ID, element_id).text
    return float(SHOWN.search(text).group().replace("−", "-"))


def js(browser, script):
    return browser.execute_script(script)


def current_node(browser) -> str:
    return js(browser, "var c = document.querySelector('g.node.current title');"
                       "return c ? c.textContent : null;")


def four_digits(x: float) -> float:
    return float(f"{x:.4g}")


# --------------------------------------------------------------------------- episode 4
def test_the_chain_page_steps_forward_and_backward_with_the_engines_gradients(browser, tmp_path):
    graph, named = episode4_chain(values={"w(L)": 0.8, "a(L-1)": 0.6, "b(L)": -0.2, "y": 1.0})
    values = list(named.values())
    page = explore((graph, named))
    open_page(browser, page, tmp_path)
    assert "default-src 'none'" in js(browser, "return document.querySelector("
                                               "'meta[http-equiv=\"Content-Security-Policy\"]')"
                                               ".content")
    computed = [i for i, v in enumerate(values) if v.parents]  # z, a, C0
    press(browser, Keys.ARROW_RIGHT, len(computed))
    assert current_node(browser) == f"n{len(values) - 1}"  # the cost, last forward step
    assert shown_number(browser, "data-value") == four_digits(values[-1].data)
    press(browser, Keys.ARROW_RIGHT, 3)  # backward: C0, then a(L), then z(L)
    z = named["z(L)"]
    assert current_node(browser) == f"n{values.index(z)}"
    # ∂C/∂z = ∂C/∂a · ∂a/∂z with the closed forms 2(a − y) and σ(z)(1 − σ(z))
    a = named["a(L)"].data
    closed = 2 * (a - 1.0) * a * (1 - a)
    assert shown_number(browser, "grad-value") == four_digits(z.grad) == four_digits(closed)
    text = browser.find_element(By.ID, "step-info").text
    assert "∂C₀/∂a⁽ᴸ⁾ · ∂a⁽ᴸ⁾/∂z⁽ᴸ⁾" in text and "×" in text
    assert errors(browser) == []


def test_the_step_is_in_the_url_and_keys_jump_to_the_ends(browser, tmp_path):
    page = explore(episode4_chain())
    open_page(browser, page, tmp_path, fragment="step=4")
    assert browser.find_element(By.ID, "step-label").text.startswith(f"step 4 of {page.steps}")
    press(browser, Keys.END)
    assert browser.find_element(By.ID, "step-label").text.startswith(
        f"step {page.steps} of {page.steps}")
    assert js(browser, "return location.hash") == f"#step={page.steps}"
    press(browser, Keys.HOME)
    assert js(browser, "return location.hash") == "#step=0"
    press(browser, Keys.ARROW_LEFT)  # stays at 0
    assert js(browser, "return document.getElementById('slider').value") == "0"


def test_clicking_a_weight_lights_its_paths_and_their_products_sum_to_its_gradient(
        browser, tmp_path):
    graph, named = episode4_chain(2, [2, 2, 2], seed=3)
    values = list(named.values())
    open_page(browser, explore((graph, named)), tmp_path)
    w = named["w(L-1)[0,0]"]
    browser.find_element(By.XPATH, f"//*[local-name()='g'][@class='node clickable']"
                                   f"[*[local-name()='title']='n{values.index(w)}']").click()
    lit = set(js(browser, "return Array.from(document.querySelectorAll("
                          "'g.node.on-path title')).map(function (t) { return t.textContent; })"))
    # The named values that depend on w, from the engine's graph.
    expected = {f"n{i}" for i, v in enumerate(values)
                if v is not w and any(u is w for u in topological_order(v))}
    assert lit == expected
    assert shown_number(browser, "path-sum") == four_digits(w.grad)
    products = js(browser, "return Array.from(document.querySelectorAll('#path-list li'))"
                           ".map(function (li) { return +li.dataset.product; })")
    assert len(products) == 2  # w(L-1)[0,0] → z → a(L-1)[0] → z(L)[0 or 1] → a(L)… → C0
    assert sum(products) == pytest.approx(w.grad, rel=1e-12)
    assert errors(browser) == []


# --------------------------------------------------------------------------- any Value
def test_a_value_used_twice_shows_one_term_per_use(browser, tmp_path):
    x = Value(1.5, label="x")
    w = Value(-0.5, label="w")
    c = (x * w).tanh() + x * x
    c.label = "C"
    page = explore(c)
    open_page(browser, page, tmp_path)
    order = topological_order(c)
    press(browser, Keys.ARROW_RIGHT, sum(1 for v in order if v.parents))  # the forward pass
    seen = []
    for _ in range(len(order)):  # the backward pass, until it reaches x
        press(browser, Keys.ARROW_RIGHT)
        seen.append(current_node(browser))
        if seen[-1] == f"v{order.index(x)}":
            break
    assert seen[-1] == f"v{order.index(x)}"
    users = [f"v{i}" for i, v in enumerate(order) if any(p is x for p in v.parents)]
    assert set(users) <= set(seen[:-1])  # every use of x got its gradient first
    terms = browser.find_elements(By.CSS_SELECTOR, "#terms li")
    assert len(terms) == 3  # x feeds x·w once and x·x twice
    closed = (1 - math.tanh(1.5 * -0.5) ** 2) * -0.5 + 2 * 1.5  # d/dx [tanh(xw) + x²]
    assert shown_number(browser, "grad-value") == four_digits(closed)
    assert errors(browser) == []


def test_a_hostile_label_shows_as_text_and_runs_nothing(browser, tmp_path):
    evil = "</script><script>alert(1)</script>"
    x = Value(2.0, label=evil)
    c = x * 3.0
    open_page(browser, explore(c), tmp_path)
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018
    svg_text = browser.find_element(By.CSS_SELECTOR, "#picture svg").text
    assert evil in svg_text
    press(browser, Keys.ARROW_RIGHT)
    assert browser.find_element(By.ID, "step-info").text  # the script ran on the JSON
    assert js(browser, "return document.scripts.length") == 2
    assert errors(browser) == []


# --------------------------------------------------------------------------- networks
@pytest.fixture(scope="module")
def digit_example():
    split = subset(load_digits(), 200, 20)
    model = MLP(64, [16, 16, 10], seed=1)
    return model, split.test.images[0], int(split.test.labels[0])


def test_the_network_page_shows_the_outputs_wishes_and_nudges_like_sgd(
        browser, tmp_path, digit_example):
    model, x, label = digit_example
    open_page(browser, explore(model, x, label, lr=0.7), tmp_path)
    press(browser, Keys.ARROW_RIGHT, 4)  # 3 layers forward, then the output's ∂C/∂a
    outputs = model(x)
    for j in (0, label):
        ring = browser.find_element(By.CSS_SELECTOR, f"#n2_{j} .grad")
        closed = 2 * (outputs[j].data - (1.0 if j == label else 0.0))
        assert float(ring.text.replace("−", "-")) == float(f"{closed:.2g}")  # 2 digits shown
        assert float(ring.get_attribute("data-value")) == pytest.approx(closed, rel=1e-12)
    browser.find_element(By.ID, "nudge-button").click()
    after = float(browser.find_element(By.ID, "cost-after").get_attribute("data-value"))
    # The same step in Python: a copy of the model, backward, one SGD step.
    twin = from_arrays(to_arrays(model))
    cost = quadratic_cost(twin(x), label)
    twin.zero_grad()
    cost.backward()
    SGD(twin.parameters(), lr=0.7).step()
    assert after == pytest.approx(quadratic_cost(twin(x), label).data, rel=1e-9)
    assert after < cost.data
    assert errors(browser) == []


def test_clicking_a_hidden_neuron_shows_its_weight_and_gradient_tiles(
        browser, tmp_path, digit_example):
    model, x, label = digit_example
    open_page(browser, explore(model, x, label), tmp_path)
    browser.find_element(By.ID, "n0_3").click()
    tiles = browser.find_elements(By.CSS_SELECTOR, "#neuron figure.tile")
    assert len(tiles) == 2
    for t in tiles:
        assert len(t.find_elements(By.CSS_SELECTOR, "rect")) == 64  # the 8×8 input's shape
    assert "neuron 3" in browser.find_element(By.ID, "neuron-title").text


def test_the_edges_per_neuron_can_be_changed(browser, tmp_path, digit_example):
    model, x, label = digit_example
    open_page(browser, explore(model, x, label, top_k=3), tmp_path, fragment="step=3")
    assert js(browser, "return document.querySelectorAll('#edges line').length") == 3 * 42
    box = browser.find_element(By.ID, "top-k")
    box.clear()
    box.send_keys("5", Keys.ENTER)
    js(browser, "document.getElementById('top-k').dispatchEvent(new Event('change'))")
    assert js(browser, "return document.querySelectorAll('#edges line').length") == 5 * 42


# --------------------------------------------------------------------------- training replay
def test_the_training_replay_predicts_what_the_snapshot_predicts(browser, tmp_path):
    split = subset(load_digits(), 300, 30)
    model = MLP(64, [12, 10], seed=2)
    history = train(model, split, epochs=4, record=4, verbose=False, progress=False)
    open_page(browser, explore_training(history, model, split.test, count=6), tmp_path)
    slider = browser.find_element(By.ID, "epoch-slider")
    js(browser, "var s = document.getElementById('epoch-slider'); s.value = '1';"
                "s.dispatchEvent(new Event('input'))")
    assert "epoch 1" in browser.find_element(By.ID, "epoch-stats").text
    shown = js(browser, "return Array.from(document.querySelectorAll('figure.digit'))"
                        ".map(function (f) { return +f.dataset.guess; })")
    snap = history.snapshots[1]
    twin = MLP(64, [12, 10], seed=0)
    for p, v in zip(twin.parameters(), snap.parameters.tolist()):
        p.data = v
    from tinygrad_lite import predict

    images = split.test.images[:6].astype("float32").astype("float64")
    assert shown == predict(twin, images).tolist()
    assert slider.get_attribute("max") == str(len(history.snapshots) - 1)
    assert errors(browser) == []


def test_a_collapsed_network_graph_sums_its_160_paths(browser, tmp_path, digit_example):
    model, x, label = digit_example
    hidden1 = model.layers[0](x)
    cost = quadratic_cost(model.layers[2](model.layers[1](hidden1)), label)
    page = explore(cost)  # 1,597 values: collapsed to one box per neuron
    cost.backward()
    open_page(browser, page, tmp_path)
    first = browser.find_element(By.XPATH, "//*[local-name()='g'][contains(@class,'node')]"
                                           "[*[local-name()='title']='c0']")
    assert first.text.splitlines()[0] == "a⁽¹⁾₀"
    first.click()
    assert browser.find_element(By.ID, "path-count").text.startswith("160 paths")  # 16 × 10
    shown = float(browser.find_element(By.ID, "path-sum").get_attribute("data-value"))
    assert shown == pytest.approx(hidden1[0].grad, rel=1e-9)
    assert errors(browser) == []


def test_with_scripts_off_the_page_shows_the_finished_picture(browser, tmp_path):
    graph, named = episode4_chain(values={"w(L)": 0.8, "a(L-1)": 0.6, "b(L)": -0.2, "y": 1.0})
    path = explore((graph, named)).save(tmp_path / "static.html")
    browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        browser.get(path.resolve().as_uri())
        picture = browser.find_element(By.ID, "picture").text
        controls = browser.find_element(By.ID, "controls").is_displayed()
        body = browser.find_element(By.TAG_NAME, "body").text
    finally:
        browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})
    w = named["w(L)"]
    assert f"∂C₀/∂w⁽ᴸ⁾ = {w.grad:.4g}" in picture.replace("−", "-")
    assert "?" not in picture and not controls  # every number there; no dead buttons
    assert "Scripts are off" in body
