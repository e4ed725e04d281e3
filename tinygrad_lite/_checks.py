"""Argument checks shared by the modules around the engine, each raising a clear error.

(The engine keeps its own, so that ``engine.py`` can be read on its own.)
"""

from __future__ import annotations

import math
import numbers
import random
from typing import Any, Sequence


def finite_number(value: Any, what: str) -> float:
    """``value`` as a float; TypeError unless a real number (bools refused), ValueError if nan/inf."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{what} must be a real number, got {type(value).__name__}: {value!r:.60}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{what} must be finite, got {value}")
    return value


def positive_number(value: Any, what: str) -> float:
    """A finite number > 0 (a learning rate, say)."""
    value = finite_number(value, what)
    if value <= 0.0:
        raise ValueError(f"{what} must be positive, got {value}")
    return value


def momentum(value: Any) -> float:
    """An SGD momentum: a number in [0, 1)."""
    value = finite_number(value, "momentum")
    if not 0.0 <= value < 1.0:
        raise ValueError(f"momentum must be in [0, 1), got {value}")
    return value


def integer(value: Any, what: str, kind: str = "an int") -> int:
    """``value`` as an int; TypeError unless an integer (bools refused; NumPy ints are fine).

    ``kind`` describes what is expected in the message ("must be an int, got float 2.5").
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{what} must be {kind}, got {type(value).__name__} {value!r:.40}")
    return int(value)


def positive_int(value: Any, what: str, minimum: int = 1) -> int:
    """``value`` as an int ≥ ``minimum`` (1 by default); TypeError unless an integer, else
    ValueError. Messages say "must be a positive int", or "must be an int >= {minimum}"."""
    kind = "a positive int" if minimum == 1 else f"an int >= {minimum}"
    value = integer(value, what, kind)
    if value < minimum:
        raise ValueError(f"{what} must be {kind}, got {value}")
    return value


def rng(seed: Any) -> random.Random:
    """A :class:`random.Random` from a ``seed=`` argument: ``None`` gives a fresh (unseeded) one,
    an int (NumPy ints too, bools refused) a seeded one, a ``random.Random`` is used as it is;
    anything else is a TypeError naming its type."""
    if isinstance(seed, random.Random):
        return seed
    if seed is None:
        return random.Random()
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an int, a random.Random or None, got {type(seed).__name__}")
    return random.Random(int(seed))


def image_shape(value: Any, n_pixels: int, who: str, *, square_only: bool) -> tuple[int, int]:
    """(rows, columns) of ``n_pixels`` laid out as an image: ``value`` checked, or for ``None``
    the square; without one, a ValueError if ``square_only``, else the nearest wider grid."""
    if value is None:
        side = math.isqrt(n_pixels)
        if side * side == n_pixels:
            return side, side
        if square_only:
            raise ValueError(f"{who}: {n_pixels} pixels is not a square image; pass "
                             "image_shape=(rows, columns)")
        return math.ceil(n_pixels / (side + 1)), side + 1
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) != 2:
        raise TypeError(f"{who}: image_shape must be (rows, columns), got {value!r}")
    rows, cols = (positive_int(n, "image_shape entries") for n in value)
    if rows * cols != n_pixels:
        raise ValueError(f"{who}: image_shape {rows}×{cols} = {rows * cols} pixels, but there "
                         f"are {n_pixels}")
    return rows, cols


def input_vector(x: Any, nin: int, who: str) -> list[float]:
    """One input of a model as ``nin`` floats: a sequence or 1-D array of numbers (or of
    Values, whose data is taken). TypeError for anything else, ValueError for a wrong length,
    a 2-D array or a nan/inf entry; messages start with ``who``."""
    if hasattr(x, "tolist") and hasattr(x, "shape"):
        if len(x.shape) != 1:
            raise ValueError(f"{who}: x must be 1-D, got an array of shape {x.shape}")
        x = x.tolist()
    if isinstance(x, (str, bytes)) or not isinstance(x, Sequence):
        raise TypeError(f"{who}: x must be a sequence of {nin} numbers, got {type(x).__name__}")
    if len(x) != nin:
        raise ValueError(f"{who}: the model has {nin} inputs but x has {len(x)}")
    out = []
    for i, v in enumerate(x):
        v = getattr(v, "data", v)  # a Value's number
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise TypeError(f"{who}: x[{i}] must be a number, got {type(v).__name__}")
        if not math.isfinite(v):
            raise ValueError(f"{who}: x[{i}] is {v}; inputs must be finite")
        out.append(float(v))
    return out
