"""Arrays entering a compiled program: one place that converts and checks them.

Every array a caller hands to the compiled path (inputs, targets, ``grad_output``, a parameter
vector, trace points) goes through :func:`real_array`, so all of them accept exactly the same
things: arrays (or nested sequences) of real numbers, with a real dtype: bool, signed or
unsigned ints, floats. Anything else (complex numbers, strings, datetimes, Python objects) is a
``TypeError`` naming the dtype, never a silent conversion (``'1'`` → 1.0, a date → a day count,
``1+2j`` → 1.0).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_lite.engine import Value

__all__ = ["REAL_KINDS", "real_array", "check_finite", "check_dtype"]

#: NumPy dtype kinds that hold real numbers: bool, signed int, unsigned int, float.
REAL_KINDS = frozenset("biuf")

#: The floating-point types a compiled program can compute in.
DTYPES = {"float64": np.float64, "float32": np.float32}


def check_dtype(dtype: Any) -> type[np.floating]:
    """``"float64"`` or ``"float32"`` (or the NumPy types) as the NumPy type; else ValueError."""
    for name, kind in DTYPES.items():
        if dtype == name or dtype is kind:
            return kind
    raise ValueError(f"dtype must be 'float64' or 'float32', got {dtype!r:.40}")


def real_array(x: Any, what: str, dtype: type[np.floating] | None = np.float64) -> np.ndarray:
    """``x`` as an array of ``dtype`` (no copy if it already is one; ``None``: of its own real
    dtype, ints staying ints).

    Raises:
        TypeError: ``x`` is a Value, cannot be made into an array of one type, or its dtype is
            not real (complex, string, datetime, object...); the message names the dtype.
    """
    if type(x) is np.ndarray and x.dtype == dtype:
        return x
    if isinstance(x, Value):
        raise TypeError(f"{what} must be an array of numbers, got a Value (use .data)")
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{what} must be an array of real numbers: {exc}") from None
    if arr.dtype.kind not in REAL_KINDS:
        raise TypeError(f"{what} must hold real numbers (bool, int or float), got dtype "
                        f"{arr.dtype} ({_kind_name(arr.dtype)}); convert it to floats first")
    return arr if dtype is None else arr.astype(dtype, copy=False)


def _kind_name(dtype: np.dtype) -> str:
    names = {"c": "complex numbers", "U": "strings", "S": "bytes", "M": "datetimes",
             "m": "time deltas", "O": "Python objects", "V": "structured records"}
    return names.get(dtype.kind, "not real numbers")


def check_finite(arr: np.ndarray, what: str) -> None:
    """Raise ValueError naming the first nan/inf entry of ``arr``."""
    if not np.isfinite(arr).all():
        bad = np.argwhere(~np.isfinite(arr))[0]
        where = ", ".join(str(int(i)) for i in bad)
        raise ValueError(f"{what} is not finite at [{where}]: {arr[tuple(bad)]}")
