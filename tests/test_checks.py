"""Tests for tinygrad_lite._checks: the shared argument checks and their messages."""

import math
import random
from fractions import Fraction

import numpy as np
import pytest

from tinygrad_lite._checks import (
    finite_number,
    image_shape,
    integer,
    momentum,
    positive_int,
    positive_number,
    rng,
)


@pytest.mark.parametrize("value", [3, 2.5, Fraction(1, 2), np.float32(1.5), np.int64(2)])
def test_finite_number_accepts_reals_and_returns_floats(value):
    assert type(finite_number(value, "x")) is float


@pytest.mark.parametrize("value,error,pattern", [
    ("1", TypeError, "x must be a real number, got str"),
    (True, TypeError, "got bool"),
    (None, TypeError, "got NoneType"),
    (math.nan, ValueError, "x must be finite, got nan"),
    (-math.inf, ValueError, "got -inf"),
])
def test_finite_number_rejects_the_rest(value, error, pattern):
    with pytest.raises(error, match=pattern):
        finite_number(value, "x")


def test_positive_number_and_momentum_ranges():
    assert positive_number(0.5, "lr") == 0.5
    with pytest.raises(ValueError, match="lr must be positive, got 0.0"):
        positive_number(0, "lr")
    assert momentum(0) == 0.0 and momentum(0.9) == 0.9
    for bad in (1.0, -0.1):
        with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\)"):
            momentum(bad)


def test_positive_int():
    assert positive_int(np.int64(3), "n") == 3
    with pytest.raises(ValueError, match="n must be a positive int, got 0"):
        positive_int(0, "n")
    for bad in (2.0, True, "3"):
        with pytest.raises(TypeError, match="n must be a positive int"):
            positive_int(bad, "n")


def test_positive_int_with_another_minimum():
    assert positive_int(0, "n", minimum=0) == 0
    assert type(positive_int(np.uint8(7), "n", minimum=4)) is int
    with pytest.raises(ValueError, match="n must be an int >= 0, got -1"):
        positive_int(-1, "n", minimum=0)
    with pytest.raises(ValueError, match="max_steps must be an int >= 4, got 2"):
        positive_int(2, "max_steps", minimum=4)
    with pytest.raises(TypeError, match="n must be an int >= 0, got float 1.0"):
        positive_int(1.0, "n", minimum=0)


def test_integer_accepts_any_int():
    assert integer(-3, "label") == -3 and type(integer(np.int16(2), "label")) is int


@pytest.mark.parametrize("bad,name", [(1.0, "float"), (True, "bool"), (np.bool_(True), "bool"),
                                      (None, "NoneType")])
def test_integer_refuses_the_rest(bad, name):
    with pytest.raises(TypeError, match=f"label must be an int, got {name}"):
        integer(bad, "label")


def test_rng_from_a_seed():
    same = random.Random(3).random()
    assert rng(3).random() == same and rng(np.int64(3)).random() == same
    shared = random.Random(0)
    assert rng(shared) is shared
    assert isinstance(rng(None), random.Random) and rng(None) is not rng(None)


@pytest.mark.parametrize("bad,name", [("3", "str"), (True, "bool"), (1.5, "float"),
                                      (np.random.default_rng(0), "Generator")])
def test_rng_refuses_what_is_not_a_seed(bad, name):
    with pytest.raises(TypeError, match=f"seed must be an int, a random.Random or None, "
                                        f"got {name}"):
        rng(bad)


def test_image_shape_default_explicit_and_errors():
    assert image_shape(None, 64, "f", square_only=True) == (8, 8)
    assert image_shape(None, 784, "f", square_only=False) == (28, 28)
    assert image_shape(None, 40, "f", square_only=False) == (6, 7)  # the nearest wider grid
    assert image_shape((3, 4), 12, "f", square_only=True) == (3, 4)
    assert image_shape([np.int64(2), 6], 12, "f", square_only=False) == (2, 6)
    with pytest.raises(ValueError, match="f: 12 pixels is not a square image; pass image_shape"):
        image_shape(None, 12, "f", square_only=True)
    with pytest.raises(ValueError, match="f: image_shape 5×4 = 20 pixels, but there are 12"):
        image_shape((5, 4), 12, "f", square_only=False)
    for bad in ("34", 12, (3, 4, 1)):
        with pytest.raises(TypeError, match=r"f: image_shape must be \(rows, columns\)"):
            image_shape(bad, 12, "f", square_only=True)
    with pytest.raises(ValueError, match="image_shape entries must be a positive int, got 0"):
        image_shape((0, 12), 12, "f", square_only=True)


def test_input_vector_takes_numbers_values_and_1d_arrays_and_names_the_problem():
    import numpy as np

    from tinygrad_lite._checks import input_vector
    from tinygrad_lite.engine import Value

    assert input_vector(np.array([1, 2.5]), 2, "f") == [1.0, 2.5]
    assert input_vector([Value(0.5), 3], 2, "f") == [0.5, 3.0]
    with pytest.raises(ValueError, match=r"f: the model has 3 inputs but x has 2"):
        input_vector([1, 2], 3, "f")
    with pytest.raises(ValueError, match=r"f: x must be 1-D"):
        input_vector(np.zeros((2, 2)), 4, "f")
    with pytest.raises(TypeError, match=r"f: x\[1\] must be a number, got str"):
        input_vector([1, "2"], 2, "f")
    with pytest.raises(ValueError, match=r"f: x\[0\] is nan; inputs must be finite"):
        input_vector([math.nan, 1], 2, "f")
