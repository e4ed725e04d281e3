"""Tests for tinygrad_lite.nn: Neuron, Layer, MLP."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_lite.engine import Value, no_grad, zero_grad
from tinygrad_lite.nn import ACTIVATIONS, MLP, Layer, Neuron, bias_label, weight_label

ACT_FUNCS = {
    "sigmoid": lambda z: 1.0 / (1.0 + math.exp(-z)),
    "relu": lambda z: max(0.0, z),
    "tanh": math.tanh,
    "linear": lambda z: z,
}


def reference_forward(model: MLP, x: list[float]) -> list[float]:
    """a^(l) = act(W a^(l-1) + b) with NumPy, from the model's weights."""
    a = np.asarray(x, dtype=float)
    for layer in model.layers:
        w = np.array([[v.data for v in n.w] for n in layer.neurons])
        b = np.array([n.b.data for n in layer.neurons])
        a = np.array([ACT_FUNCS[layer.activation](z) for z in w @ a + b])
    return a.tolist()


def central_difference(f, v: Value, eps: float = 1e-6) -> float:
    old = v.data
    v.data = old + eps
    up = f()
    v.data = old - eps
    down = f()
    v.data = old
    return (up - down) / (2 * eps)


# --------------------------------------------------------------------------- shapes
def test_the_3b1b_network_has_13002_parameters_and_the_right_shapes():
    net = MLP(784, [16, 16, 10], seed=0)
    params = net.parameters()
    assert len(params) == 13_002 == net.num_parameters()
    assert len({id(p) for p in params}) == 13_002
    assert [(layer.nin, layer.nout) for layer in net.layers] == [(784, 16), (16, 16), (16, 10)]
    assert net.activations == ["sigmoid"] * 3
    assert all(len(n.w) == 784 for n in net.layers[0].neurons)
    out = net([0.5] * 784)
    assert len(out) == 10 and all(isinstance(o, Value) for o in out)
    assert all(0.0 < o.data < 1.0 for o in out)


def test_parameters_are_ordered_layer_neuron_weights_then_bias():
    net = MLP(3, [2, 1], seed=1)
    expected = []
    for layer in net.layers:
        for n in layer.neurons:
            expected += n.w + [n.b]
    assert [id(p) for p in net.parameters()] == [id(p) for p in expected]
    n = net.layers[0].neurons[1]
    assert n.parameters() == n.w + [n.b]
    assert net.layers[1].parameters() == net.layers[1].neurons[0].parameters()


def test_repr_is_readable():
    assert repr(MLP(784, [16, 16, 10], seed=0)) == (
        "MLP(784 → 16 → 16 → 10, sigmoid, 13,002 parameters)")
    assert repr(MLP(4, [3, 2], "relu", output_activation="linear", seed=0)) == (
        "MLP(4 → 3 → 2, relu, output linear, 23 parameters)")
    assert repr(MLP(4, [3, 3, 2], ["relu", "tanh", "linear"], seed=0)) == (
        "MLP(4 → 3 → 3 → 2, relu/tanh/linear, 35 parameters)")
    assert repr(Layer(5, 2, "tanh", seed=0)) == "Layer(5 → 2, tanh)"
    assert repr(Neuron(5, seed=0)) == "Neuron(5 inputs, sigmoid)"


# --------------------------------------------------------------------------- forward
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_each_activation_matches_a_numpy_forward_pass(activation):
    net = MLP(5, [4, 3], activation, seed=3)
    x = [0.3, -1.2, 0.0, 2.5, 0.7]
    got = [o.data for o in net(x)]
    assert got == pytest.approx(reference_forward(net, x), rel=1e-12, abs=1e-12)
    last = net(x)[0]
    if activation == "linear":
        assert last.op == "affine"  # identity: no extra node
    else:
        assert last.op == activation and last.parents[0].op == "affine"


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_neuron_is_activation_of_one_affine_node(activation):
    n = Neuron(3, activation, seed=2)
    x = [0.5, -0.25, 2.0]
    z = sum(w.data * xi for w, xi in zip(n.w, x)) + n.b.data
    out = n(x)
    assert out.data == pytest.approx(ACT_FUNCS[activation](z), rel=1e-12, abs=1e-15)
    node = out if activation == "linear" else out.parents[0]
    assert node.op == "affine"
    assert list(node.parents) == n.w + [n.b]  # constant inputs are not parents


def test_output_activation_and_per_layer_activations():
    net = MLP(3, [4, 4, 2], "tanh", output_activation="linear", seed=0)
    assert net.activations == ["tanh", "tanh", "linear"]
    assert [layer.activation for layer in net.layers] == net.activations
    net2 = MLP(3, [4, 2], ["relu", "sigmoid"], seed=0)
    assert net2.activations == ["relu", "sigmoid"]


def _same_node(a: Value, b: Value) -> None:
    assert a.data == b.data
    assert a.op == b.op
    assert a.parents == b.parents  # identity of the parent Values
    assert a.local_grads == b.local_grads
    assert a.ctx == b.ctx


@pytest.mark.parametrize("inputs", ["numbers", "values", "mixed"])
def test_layer_builds_exactly_the_node_value_affine_builds(inputs):
    """The layer's shared-input fast path must not drift from the engine's affine node."""
    layer = Layer(6, 3, "sigmoid", seed=4)
    rng = random.Random(0)
    xs: list = [rng.uniform(-1, 1) for _ in range(6)]
    if inputs == "values":
        xs = [Value(v) for v in xs]
    elif inputs == "mixed":
        xs = [Value(v) if i % 2 else v for i, v in enumerate(xs)]
    for out, neuron in zip(layer(xs), layer.neurons):
        _same_node(out.parents[0], Value.affine(neuron.w, xs, neuron.b))
        direct = neuron(xs)
        assert (out.data, out.op, out.local_grads) == (direct.data, direct.op, direct.local_grads)


def test_mlp_layers_agree_with_neuron_calls_and_gradients_flow_into_value_inputs():
    net = MLP(4, [3, 2], "tanh", seed=5)
    x = [Value(v) for v in (0.1, -0.4, 0.9, 0.3)]
    out = net(x)
    hidden = [n(x) for n in net.layers[0].neurons]
    manual = [n(hidden) for n in net.layers[1].neurons]
    assert [o.data for o in out] == [m.data for m in manual]
    Value.sum(out).backward()
    for xi in x:
        numeric = central_difference(lambda: sum(o.data for o in net([v.data for v in x])), xi)
        assert xi.grad == pytest.approx(numeric, rel=1e-6, abs=1e-8)


def test_a_weight_replaced_by_an_expression_gets_its_gradient_through_the_expression():
    """A layer checks again that its weights are leaves when one is replaced: a tied weight
    (w₀ = 2u) must still pass its gradient on to u, and the old leaf gets none."""
    layer = Layer(3, 2, "sigmoid", seed=1)
    x = [0.3, -0.7, 0.9]
    Value.sum(layer(x)).backward()  # the layer has now seen its leaf weights
    u = Value(0.25, label="u")
    replaced = layer.neurons[0].w[0]
    layer.neurons[0].w[0] = u * 2.0
    zero_grad(layer.parameters() + [replaced, u])

    def total() -> float:
        with no_grad():
            layer.neurons[0].w[0] = u * 2.0
            return sum(a.data for a in layer(x))

    Value.sum(layer(x)).backward()
    assert u.grad == pytest.approx(central_difference(total, u), rel=1e-6)
    assert replaced.grad == 0.0
    new_leaf = layer.neurons[0].w[0] = Value(0.5)  # and then by another leaf
    Value.sum(layer(x)).backward()
    assert new_leaf.grad == pytest.approx(central_difference(lambda: sum(
        a.data for a in layer(x)), new_leaf), rel=1e-6)


@pytest.mark.parametrize("as_rows", [tuple, lambda w: np.array(w, dtype=object)])
def test_weights_held_in_tuples_or_object_arrays_still_get_their_gradients(as_rows):
    layer = Layer(3, 2, seed=2)
    for n in layer.neurons:
        n.w = as_rows(n.w)
    x = [0.3, -0.7, 0.9]
    Value.sum(layer(x)).backward()
    w = layer.neurons[1].w[2]
    assert w.grad == pytest.approx(central_difference(lambda: sum(a.data for a in layer(x)), w),
                                   rel=1e-6)


def test_numpy_input_and_tuple_input_give_the_same_result():
    net = MLP(4, [3], seed=0)
    x = [0.1, 0.2, 0.3, 0.4]
    expected = [o.data for o in net(x)]
    assert [o.data for o in net(np.array(x))] == expected
    assert [o.data for o in net(tuple(x))] == expected
    assert [o.data for o in net.layers[0](np.array(x))] == expected


def test_no_grad_forward_records_no_graph_and_gives_the_same_numbers():
    net = MLP(3, [4, 2], seed=0)
    x = [0.2, 0.5, -0.3]
    with_graph = [o.data for o in net(x)]
    with no_grad():
        out = net(x)
    assert [o.data for o in out] == with_graph
    assert all(o.is_leaf for o in out)


@given(st.integers(1, 6), st.lists(st.integers(1, 5), min_size=1, max_size=3),
       st.sampled_from(ACTIVATIONS), st.integers(0, 10_000))
def test_backprop_matches_finite_differences_for_random_networks(nin, nouts, activation, seed):
    rng = random.Random(seed)
    net = MLP(nin, nouts, activation, seed=seed)
    x = [rng.uniform(-1, 1) for _ in range(nin)]
    y = [rng.uniform(0, 1) for _ in range(nouts[-1])]

    def cost() -> float:
        return sum((o.data - t) ** 2 for o, t in zip(net(x), y))

    net.zero_grad()
    Value.sum([(o - t) ** 2 for o, t in zip(net(x), y)]).backward()
    for p in rng.sample(net.parameters(), min(8, len(net.parameters()))):
        if activation == "relu":  # skip parameters whose nudge crosses a relu kink
            kinks = [abs(z.parents[0].data) for z in _relu_nodes(net, x)]
            if kinks and min(kinks) < 1e-4:
                return
        assert p.grad == pytest.approx(central_difference(cost, p), rel=1e-5, abs=1e-7)


def _relu_nodes(net: MLP, x: list[float]) -> list[Value]:
    found, stack, seen = [], list(net(x)), set()
    while stack:
        v = stack.pop()
        if id(v) in seen:
            continue
        seen.add(id(v))
        if v.op == "relu":
            found.append(v)
        stack.extend(v.parents)
    return found


# --------------------------------------------------------------------------- init
def _sigmoid_slopes(layer: Layer, inputs) -> np.ndarray:
    with no_grad():
        return np.array([[a.data * (1 - a.data) for a in layer(x)] for x in inputs])


def test_784_input_sigmoid_layer_is_not_saturated_at_initialisation():
    """On digit images and on uniform [0, 1] pixels, σ'(z) stays far from 0 for every neuron."""
    from tinygrad_lite.data import load_digits

    images = load_digits(28).train.images[:20]
    rng = np.random.default_rng(0)
    inputs = list(images) + list(rng.uniform(0, 1, size=(20, 784)))
    for seed in range(3):
        layer = Layer(784, 16, "sigmoid", seed=seed)
        slopes = _sigmoid_slopes(layer, inputs)  # σ'(z) = a(1 − a), at most 0.25
        assert slopes.min() > 0.05  # |z| < 2.9 everywhere
        assert slopes.mean() > 0.2
    # the check can fail: unscaled N(0, 1) weights saturate the same layer
    for n in layer.neurons:
        for w in n.w:
            w.data = rng.normal()
    assert np.mean(_sigmoid_slopes(layer, inputs) < 0.01) > 0.5


def test_init_is_normal_with_std_one_over_sqrt_nin():
    for nin in (16, 784):
        params = [p.data for n in Layer(nin, 16, seed=0).neurons for p in n.parameters()]
        std = 1 / math.sqrt(nin)
        assert np.std(params) == pytest.approx(std, rel=0.1)
        assert abs(np.mean(params)) < 0.1 * std
        assert max(abs(p) for p in params) < 5 * std


def test_seeding_is_reproducible():
    a = [p.data for p in MLP(10, [5, 3], seed=42).parameters()]
    b = [p.data for p in MLP(10, [5, 3], seed=42).parameters()]
    c = [p.data for p in MLP(10, [5, 3], seed=43).parameters()]
    assert a == b and a != c
    d = [p.data for p in MLP(10, [5, 3], seed=random.Random(42)).parameters()]
    assert d == a
    unseeded = [[p.data for p in MLP(10, [5, 3]).parameters()] for _ in range(2)]
    assert unseeded[0] != unseeded[1]


def test_a_shared_random_generator_advances():
    rng = random.Random(7)
    first = [p.data for p in MLP(3, [2], seed=rng).parameters()]
    second = [p.data for p in MLP(3, [2], seed=rng).parameters()]
    assert first != second


def test_zero_grad_resets_every_parameter():
    net = MLP(3, [4, 2], seed=0)
    Value.sum(net([1.0, 2.0, 3.0])).backward()
    assert any(p.grad != 0.0 for p in net.parameters())
    net.zero_grad()
    assert all(p.grad == 0.0 for p in net.parameters())


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize("who", ["mlp", "layer", "neuron"])
def test_wrong_input_length_names_both_lengths(who):
    model = {"mlp": MLP(4, [2], seed=0), "layer": Layer(4, 2, seed=0),
             "neuron": Neuron(4, seed=0)}[who]
    with pytest.raises(ValueError, match=r"length 4.*length 3"):
        model([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"length 4.*length 5"):
        model(np.zeros(5))


def test_bad_inputs_raise_clear_errors():
    net = MLP(2, [2], seed=0)
    with pytest.raises(ValueError, match="1-D"):
        net(np.zeros((1, 2)))
    with pytest.raises(TypeError, match="sequence"):
        net(3.0)
    with pytest.raises(TypeError, match="sequence"):
        net("ab")
    with pytest.raises(TypeError, match="input 1"):
        net([1.0, "x"])
    with pytest.raises(TypeError):
        net([1.0, None])
    with pytest.raises(ValueError, match="input 1 must be finite, got nan"):
        net([0.0, float("nan")])
    with pytest.raises(ValueError, match="input 0 must be finite, got inf"):
        net([float("inf"), 0.0])


@pytest.mark.parametrize("grad", [True, False])
def test_an_overflowing_weighted_sum_raises_the_engines_overflow_error(grad):
    layer = Layer(3, 2, "sigmoid", seed=0)
    layer.neurons[1].w[0].data = 1e308
    if grad:
        with pytest.raises(OverflowError, match="affine"):
            layer([10.0, 0.0, 0.0])
    else:
        with no_grad(), pytest.raises(OverflowError, match="affine"):
            layer([10.0, 0.0, 0.0])


def test_unknown_activation_lists_the_valid_ones():
    for build in (lambda: MLP(2, [2], "softmax"), lambda: Layer(2, 2, "Sigmoid"),
                  lambda: Neuron(2, "gelu"), lambda: MLP(2, [2], output_activation="x")):
        with pytest.raises(ValueError, match="sigmoid, relu, tanh, linear"):
            build()
    with pytest.raises(TypeError, match="activation"):
        Neuron(2, activation=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="2 activations for 3 layers"):
        MLP(2, [2, 2, 2], ["relu", "relu"])


@pytest.mark.parametrize("nin, nouts, error, match", [
    (0, [2], ValueError, "nin must be a positive int, got 0"),
    (-3, [2], ValueError, "nin"),
    (2.5, [2], TypeError, "nin must be a positive int, got float"),
    (True, [2], TypeError, "nin"),
    (2, [], ValueError, "at least one layer"),
    (2, [3, 0], ValueError, r"nouts\[1\]"),
    (2, [3, "4"], TypeError, r"nouts\[1\]"),
    (2, 3, TypeError, "nouts must be a list"),
    (2, "16", TypeError, "nouts must be a list"),
])
def test_bad_sizes_are_rejected(nin, nouts, error, match):
    with pytest.raises(error, match=match):
        MLP(nin, nouts)


def test_bad_seed_is_rejected():
    with pytest.raises(TypeError, match="seed"):
        MLP(2, [2], seed="0")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="seed"):
        MLP(2, [2], seed=1.5)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- names
def test_parameters_are_named_as_the_videos_name_them():
    net = MLP(784, [16, 16, 10], seed=0)
    assert net.layers[1].neurons[3].w[5].label == "w⁽²⁾₃,₅"  # layer 2, neuron 3, input 5
    assert net.layers[0].neurons[15].w[783].label == "w⁽¹⁾₁₅,₇₈₃"
    assert net.layers[2].neurons[9].b.label == "b⁽³⁾₉"
    assert "label='w⁽²⁾₃,₅'" in repr(net.layers[1].neurons[3].w[5])


def test_no_two_parameters_of_a_network_share_a_name():
    net = MLP(12, [11, 10, 3], seed=0)
    labels = [p.label for p in net.parameters()]
    assert len(set(labels)) == len(labels) == net.num_parameters()


def test_a_lone_layer_and_a_lone_neuron_name_what_they_know():
    layer = Layer(3, 2, seed=0)
    assert [w.label for w in layer.neurons[1].w] == ["w₁,₀", "w₁,₁", "w₁,₂"]
    assert [n.b.label for n in layer.neurons] == ["b₀", "b₁"]
    assert Layer(3, 2, layer=4, seed=0).neurons[1].w[0].label == "w⁽⁴⁾₁,₀"
    neuron = Neuron(3, seed=0)
    assert [w.label for w in neuron.w] + [neuron.b.label] == ["w₀", "w₁", "w₂", "b"]
    assert Neuron(2, layer=2, index=7, seed=0).b.label == "b⁽²⁾₇"


@given(st.one_of(st.none(), st.integers(1, 99)), st.integers(0, 999), st.integers(0, 999))
def test_labels_read_back_to_their_indices(layer, j, k):
    digits = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹₀₁₂₃₄₅₆₇₈₉⁽⁾", "0123456789" * 2 + "()")
    text = weight_label(layer, j, k).translate(digits)
    assert text == (f"w({layer}){j},{k}" if layer else f"w{j},{k}")
    assert bias_label(layer, j).translate(digits) == (f"b({layer}){j}" if layer else f"b{j}")


def test_bad_positions_are_refused():
    with pytest.raises(ValueError, match="layer"):
        Neuron(2, layer=0)
    with pytest.raises(ValueError, match="index must be an int >= 0"):
        Neuron(2, index=-1)
    with pytest.raises(TypeError, match="index must be an int"):
        Neuron(2, index=1.5)
