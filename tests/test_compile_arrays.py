"""Tests for tinygrad_lite.compile.arrays: arrays entering the compiled path, and writing flat
arrays back into Values."""

from __future__ import annotations

import signal

import numpy as np
import pytest

from tinygrad_lite.compile.arrays import check_dtype, real_array
from tinygrad_lite.optim import assign_all
from tinygrad_lite.engine import Value


@pytest.mark.parametrize("value, dtype", [
    (np.array([1 + 1j]), "complex128"), (["a"], "<U1"), ([b"a"], "|S1"),
    (np.array(["2020-01-01"], dtype="datetime64[D]"), "datetime64"),
    (np.array([1], dtype="timedelta64[s]"), "timedelta64"), ([object()], "object"),
    ([10**400], "object"),
])
def test_real_array_refuses_every_dtype_that_is_not_real_naming_it(value, dtype):
    with pytest.raises(TypeError, match=f"X must hold real numbers.*{dtype}"):
        real_array(value, "X")


def test_real_array_converts_real_dtypes_and_keeps_arrays_of_the_right_type():
    exact = np.zeros(3)
    assert real_array(exact, "X") is exact
    for value in ([True, False], np.arange(3, dtype=np.uint8), [1, 2.5], np.ones(2, np.float16)):
        out = real_array(value, "X")
        assert out.dtype == np.float64 and np.array_equal(out, np.asarray(value, dtype=float))
    assert real_array([1, 2], "X", np.float32).dtype == np.float32
    assert real_array(np.arange(3), "labels", None).dtype.kind == "i"
    with pytest.raises(TypeError, match="a Value"):
        real_array(Value(1.0), "X")
    with pytest.raises(TypeError, match="real numbers"):
        real_array([[1.0], [1.0, 2.0]], "X")  # ragged


def test_check_dtype_accepts_the_two_float_types_only():
    assert check_dtype("float32") is np.float32 and check_dtype(np.float64) is np.float64
    with pytest.raises(ValueError, match="'float64' or 'float32'"):
        check_dtype("float16")


def test_assign_all_writes_data_and_grads():
    values = [Value(0.0) for _ in range(3)]
    assign_all(values, [1.0, 2.0, 3.0])
    assert [v.data for v in values] == [1.0, 2.0, 3.0] and [v.grad for v in values] == [0.0] * 3
    assign_all(values, [4.0, 5.0, 6.0], [0.5, 0.25, 0.125])
    assert [v.data for v in values] == [4.0, 5.0, 6.0]
    assert [v.grad for v in values] == [0.5, 0.25, 0.125]


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs POSIX interval timers")
def test_an_interrupt_during_assign_all_is_raised_after_the_last_write():
    """Ctrl-C (a timer signal raising KeyboardInterrupt) lands while values are written over
    and over; every value must hold the same round's numbers, data and grad alike."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    values = [Value(0.0) for _ in range(50_000)]
    rounds = [([float(r)] * len(values), [-float(r)] * len(values)) for r in range(2)]
    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        for delay in (0.013, 0.021, 0.034):
            signal.setitimer(signal.ITIMER_REAL, delay)
            with pytest.raises(KeyboardInterrupt):
                for r in range(10**9):
                    assign_all(values, *rounds[r % 2])
            assert len({v.data for v in values}) == 1
            assert len({v.grad for v in values}) == 1
            assert values[0].grad == -values[0].data
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
