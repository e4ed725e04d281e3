"""Tests for tinygrad_lite.torch_bridge: to_torch / from_torch against the scalar engine.

Skipped without PyTorch, except under CI (``CI=true``), which installs the CPU wheel: there a
missing torch is a failure, not a skip.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

if os.environ.get("CI") == "true":
    import torch  # noqa: F401  (CI installs torch: its absence must fail the run)
else:
    torch = pytest.importorskip("torch")

from tinygrad_lite.nn import ACTIVATIONS, MLP  # noqa: E402
from tinygrad_lite.torch_bridge import from_torch, to_torch  # noqa: E402


def data(model: MLP) -> list[float]:
    return [p.data for p in model.parameters()]


@given(nin=st.integers(1, 5), nouts=st.lists(st.integers(1, 5), min_size=1, max_size=3),
       activation=st.sampled_from(ACTIVATIONS), output=st.sampled_from(ACTIVATIONS),
       seed=st.integers(0, 1000),
       x=st.lists(st.floats(-3, 3, allow_nan=False), min_size=5, max_size=5))
def test_to_torch_computes_the_same_outputs_in_float64(nin, nouts, activation, output, seed, x):
    net = MLP(nin, nouts, activation, output_activation=output, seed=seed)
    module = to_torch(net)
    assert isinstance(module, torch.nn.Sequential)
    ours = [a.data for a in net(x[:nin])]
    theirs = module(torch.tensor([x[:nin]], dtype=torch.float64))[0].tolist()
    assert theirs == pytest.approx(ours, rel=1e-12, abs=1e-12)


def test_the_module_has_one_linear_per_layer_and_the_activations_in_order():
    net = MLP(3, [4, 2, 1], ["relu", "tanh", "linear"], seed=0)
    kinds = [type(m).__name__ for m in to_torch(net)]
    assert kinds == ["Linear", "ReLU", "Linear", "Tanh", "Linear"]
    first = to_torch(net)[0]
    assert first.weight.dtype == torch.float64 and tuple(first.weight.shape) == (4, 3)
    assert first.weight[2, 1].item() == net.layers[0].neurons[2].w[1].data
    assert first.bias[3].item() == net.layers[0].neurons[3].b.data


def test_a_round_trip_keeps_every_weight_exactly():
    net = MLP(4, [3, 2], "sigmoid", output_activation="linear", seed=5)
    back = from_torch(to_torch(net))
    assert back.nouts == net.nouts and back.activations == net.activations
    assert data(back) == data(net)


def test_from_torch_reads_a_module_built_in_torch():
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Sigmoid(), torch.nn.Linear(3, 1))
    net = from_torch(module)
    assert net.nin == 2 and net.nouts == [3, 1] and net.activations == ["sigmoid", "linear"]
    x = [0.25, -0.75]
    expected = module(torch.tensor([x])).item()  # float32 in torch: equal to its rounding
    assert net(x)[0].data == pytest.approx(expected, rel=1e-6)
    assert all(type(p.data) is float for p in net.parameters())


def test_float32_on_request():
    module = to_torch(MLP(2, [2], seed=0), dtype=torch.float32)
    assert module[0].weight.dtype == torch.float32


@pytest.mark.parametrize("module,error,match", [
    ("not a module", TypeError, "needs a torch.nn.Sequential"),
    (lambda: torch.nn.Sequential(torch.nn.ReLU()), ValueError, "ReLU must follow a Linear"),
    (lambda: torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Tanh(), torch.nn.ReLU()),
     ValueError, "ReLU must follow a Linear"),
    (lambda: torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.GELU()), TypeError,
     "GELU has no MLP counterpart"),
    (lambda: torch.nn.Sequential(torch.nn.Linear(2, 2, bias=False)), ValueError,
     "without bias"),
    (lambda: torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Linear(2, 1)), ValueError,
     "W has 2 inputs but layer 0 has 3 outputs"),
    (lambda: torch.nn.Sequential(), ValueError, "no Linear layer"),
])
def test_from_torch_refuses_what_an_mlp_cannot_be(module, error, match):
    with pytest.raises(error, match=match):
        from_torch(module() if callable(module) else module)


def test_to_torch_needs_an_mlp():
    with pytest.raises(TypeError, match="model must be an MLP"):
        to_torch("net")
