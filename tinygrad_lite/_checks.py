"""Argument checks shared by the modules around the engine, each raising a clear error.

(The engine keeps its own, so that ``engine.py`` can be read on its own.)
"""

from __future__ import annotations

import math
import numbers
from typing import Any


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


def positive_int(value: Any, what: str) -> int:
    """``value`` as an int ≥ 1; TypeError unless an integer (bools refused), else ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{what} must be a positive int, got {type(value).__name__} {value!r:.40}")
    if value < 1:
        raise ValueError(f"{what} must be a positive int, got {value}")
    return int(value)
