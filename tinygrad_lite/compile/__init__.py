"""Compile the scalar graph and run it over whole mini-batches at array speed.

The ``Value`` graph of one example is traced once on placeholder inputs, its nodes are
numbered, and nodes of the same op at the same depth become ONE vectorised NumPy operation over
all of them and every example of a mini-batch (a neuron layer's affine nodes become one matrix
product on a view of the flat parameter vector). The compiled program computes the same
numbers as the scalar engine, forward and backward, for a whole batch at once::

    from tinygrad_lite.nn import MLP
    from tinygrad_lite.compile import CompiledTrainer

    model = MLP(784, [16, 16, 10], seed=0)
    with CompiledTrainer(model, "quadratic", lr=3.0) as trainer:
        cost = trainer.train_batch(X, labels)   # X: (b, 784) array, labels: b ints

Entry points:

* :func:`compile_cost` / :func:`compile_model`: an ``MLP``'s per-example cost / outputs;
* :class:`CompiledTrainer`: SGD (with momentum) on flat arrays; writes the model's Values at
  :meth:`~CompiledTrainer.sync_to_values` (end of each epoch, end of a ``with`` block);
  :meth:`~CompiledTrainer.prepare` checks a data set once (a :class:`PreparedBatch`),
  :meth:`~CompiledTrainer.training_set` lays one out for fast epochs (a :class:`TrainingSet`);
* :func:`compile_function`: any function of placeholder Values (traced twice, so a Python
  branch on ``.data`` raises :class:`TraceError`);
* :func:`compile_graph`: an already built graph;
* :class:`Program`: ``forward``, ``gradients``, ``backward`` and ``describe``; ``prepare``
  (a :class:`Batch`), ``evaluate``, ``differentiate`` and ``stepper`` (a :class:`Stepper`) for
  callers that run many batches.

Every entry point takes ``dtype="float64"`` (the default, the scalar engine's numbers) or
``dtype="float32"`` (faster; about 7 significant digits). Inputs and targets must hold real
numbers (bool, int or float dtypes); anything else is a TypeError naming its dtype.

Supported ops: all of the engine's (``tinygrad_lite.optable.BUILTIN_OP_NAMES``). An op made by
other code with ``Value.from_op`` raises :class:`UnsupportedOpError` naming it, unless it
depends on no input and no parameter (then it is a constant). A floating-point error raises
the engine's error for that op (OverflowError for ``exp``, ValueError for ``log`` of a
non-positive number, ...), naming the op.
"""

from tinygrad_lite.compile.compiler import cache_info, clear_cache, compile_function, compile_graph
from tinygrad_lite.compile.program import Program
from tinygrad_lite.compile.program import Batch, Stepper
from tinygrad_lite.compile.trace import TraceError, UnsupportedOpError
from tinygrad_lite.compile.trainer import (
    CompiledTrainer,
    PreparedBatch,
    TrainingSet,
    compile_cost,
    compile_model,
)

__all__ = [
    "compile_graph",
    "compile_function",
    "compile_cost",
    "compile_model",
    "CompiledTrainer",
    "PreparedBatch",
    "TrainingSet",
    "Program",
    "Batch",
    "Stepper",
    "TraceError",
    "UnsupportedOpError",
    "clear_cache",
    "cache_info",
]
