"""The NumPy references compute the right numbers: ``pytest benchmarks/test_reference_numpy.py``.

Not part of the project's test suite (``testpaths = tests``): these check the benchmark's own
yardsticks, the tuned NumPy against the plain one and both against finite differences.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reference_numpy import NumpyMLP, TunedNumpyMLP, check_same_math  # noqa: E402

from tinygrad_lite.nn import MLP  # noqa: E402


def _batch(rng: np.random.Generator, b: int, nin: int, nout: int) -> tuple[np.ndarray, np.ndarray]:
    return rng.uniform(0.0, 1.0, (b, nin)), np.eye(nout)[rng.integers(0, nout, b)]


def _cost(net: NumpyMLP, X: np.ndarray, Y: np.ndarray) -> float:
    diff = net.forward(X)[-1] - Y
    return float((diff * diff).sum()) / len(X)


@settings(max_examples=25, deadline=None)
@given(sizes=st.lists(st.integers(1, 7), min_size=2, max_size=4), b=st.integers(1, 12),
       momentum=st.sampled_from([0.0, 0.5]), seed=st.integers(0, 2**16))
def test_tuned_equals_plain(sizes: list[int], b: int, momentum: float, seed: int) -> None:
    assert check_same_math(sizes, batch=b, steps=3, momentum=momentum, seed=seed) <= 1e-12


def test_tuned_equals_plain_on_the_videos_network() -> None:
    for b in (1, 10, 100):
        assert check_same_math((784, 16, 16, 10), batch=b, steps=2) <= 1e-12


def test_plain_gradient_matches_finite_differences() -> None:
    rng = np.random.default_rng(3)
    net = NumpyMLP([5, 4, 3, 2], seed=1)
    X, Y = _batch(rng, 6, 5, 2)
    _, grad = net.flat_gradient(X, Y)
    params = net.weights + net.biases
    flat_index = {}  # (array number, index) -> position in the flat [W | b] layout
    start = 0
    for layer, W in enumerate(net.weights):
        for j in range(W.shape[0]):
            for i in range(W.shape[1]):
                flat_index[(layer, (j, i))] = start + j * (W.shape[1] + 1) + i
            flat_index[(len(net.weights) + layer, (j,))] = start + j * (W.shape[1] + 1) + W.shape[1]
        start += W.size + W.shape[0]
    h = 1e-6
    for (k, idx), pos in flat_index.items():
        p = params[k]
        old = p[idx]
        p[idx] = old + h
        up = _cost(net, X, Y)
        p[idx] = old - h
        down = _cost(net, X, Y)
        p[idx] = old
        assert grad[pos] == pytest.approx((up - down) / (2 * h), rel=1e-5, abs=1e-9)


def test_from_mlp_copies_the_model_in_parameter_order() -> None:
    model = MLP(6, [4, 3], seed=2)
    expected = np.array([p.data for p in model.parameters()])
    np.testing.assert_array_equal(NumpyMLP.from_mlp(model).flat_parameters(), expected)
    np.testing.assert_array_equal(TunedNumpyMLP.from_mlp(model).flat_parameters(), expected)


def test_float32_step_is_float64_within_float32_rounding() -> None:
    rng = np.random.default_rng(4)
    X, Y = _batch(rng, 10, 784, 10)
    wide = TunedNumpyMLP([784, 16, 16, 10])
    narrow = TunedNumpyMLP([784, 16, 16, 10], dtype=np.float32)
    cost64, cost32 = wide.train_batch(X, Y), narrow.train_batch(X.astype(np.float32),
                                                               Y.astype(np.float32))
    assert narrow.theta.dtype == np.float32
    assert cost32 == pytest.approx(cost64, rel=1e-5)
    np.testing.assert_allclose(narrow.theta, wide.theta, rtol=0, atol=1e-5)


def test_wrong_dtype_is_refused() -> None:
    net = TunedNumpyMLP([3, 2], dtype=np.float32)
    with pytest.raises(TypeError, match="float32"):
        net.train_batch(np.zeros((2, 3)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="dtype"):
        TunedNumpyMLP([3, 2], dtype=np.int64)
