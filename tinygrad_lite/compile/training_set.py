"""A training set laid out for compiled epochs: each example's inputs, a 1 and its targets in
one row of one array.

An epoch gathers each mini-batch's rows from the data set. With inputs and targets in two
arrays that is two gathers a step, and the first layer's bias needs an addition forward and
a sum backward. In one ``[x | 1 | y]`` row it is one gather, and the 1 lets the first layer's
product include its bias, forward and backward, as the hidden layers' products already do
(at mini-batch 10 that is about a tenth of a step). The price is one copy of the data set,
made once by :meth:`~tinygrad_lite.compile.CompiledTrainer.training_set` and reused by every
epoch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["TrainingSet", "make_training_set", "split_rows"]


@dataclass(frozen=True, eq=False, repr=False)
class TrainingSet:
    """Checked inputs and targets in one array, for :meth:`CompiledTrainer.train_epoch`.

    Attributes:
        rows: ``(n, n_inputs + 1 + n_outputs)``: the inputs, a 1, the targets (one-hot for
            labels), in the trainer's float type, every entry finite.
        n_inputs: the number of input columns.
    """

    rows: np.ndarray
    n_inputs: int

    @property
    def images(self) -> np.ndarray:
        """The inputs, ``(n, n_inputs)`` (a view)."""
        return self.rows[:, :self.n_inputs]

    @property
    def targets(self) -> np.ndarray:
        """The targets, ``(n, n_outputs)`` (a view)."""
        return split_rows(self.rows, self.n_inputs)[1]

    def __len__(self) -> int:
        return self.rows.shape[0]

    def __repr__(self) -> str:
        n, width = self.rows.shape
        return (f"TrainingSet({n} examples, {self.n_inputs} inputs, "
                f"{width - self.n_inputs - 1} targets, {self.rows.dtype})")


def make_training_set(X: np.ndarray, Y: np.ndarray) -> TrainingSet:
    """``[X | 1 | Y]`` as a :class:`TrainingSet` (X and Y already checked, of one float type)."""
    n, n_in = X.shape
    rows = np.empty((n, n_in + 1 + Y.shape[1]), X.dtype)
    rows[:, :n_in] = X
    rows[:, n_in] = 1.0
    rows[:, n_in + 1:] = Y
    return TrainingSet(rows, n_in)


def split_rows(rows: np.ndarray, n_inputs: int) -> tuple[np.ndarray, np.ndarray]:
    """(the inputs with their column of ones, the targets) of ``[x | 1 | y]`` rows, as views."""
    return rows[:, :n_inputs + 1], rows[:, n_inputs + 1:]
