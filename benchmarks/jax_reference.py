"""JAX versions of the benchmark's training (imported only when JAX is installed).

The same network and math as ``reference_numpy.py``: sigmoid layers, the quadratic cost
Σⱼ (aⱼ − yⱼ)² averaged over the mini-batch, plain SGD with lr. Two ways to run an epoch:

* ``step``: ``jax.jit`` of one whole SGD step (gather of the batch from the data set and
  the batch order already on the device, forward, ``jax.value_and_grad``, update, the
  parameters donated), called from Python once per mini-batch, as a training loop does (this
  was as fast as or faster than passing NumPy batches in, which costs a host-to-device copy);
* ``epoch``: ``jax.jit`` of ``lax.scan`` of that same step over every batch of the epoch:
  one call per epoch, so no Python between steps.

Both block until the results are ready before returning, so the timings are complete.
Call ``jax.config.update("jax_enable_x64", True)`` before :func:`make` for float64.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

__all__ = ["make"]

Params = tuple[tuple[Any, Any], ...]


def _cost(params: Params, x: Any, y: Any) -> Any:
    a = x
    for W, b in params:
        a = jax.nn.sigmoid(a @ W.T + b)
    d = a - y
    return jnp.sum(d * d) / x.shape[0]


def make(model: Any, X: np.ndarray, Y: np.ndarray, lr: float, dtype: str, order: np.ndarray,
         b: int) -> tuple[Callable[[], float], Callable[[], float]]:
    """``(step_epoch, scan_epoch)``: two training copies of ``model``'s weights on ``(X, Y)``.

    Each runs one epoch over ``order`` in batches of ``b`` (a last partial batch is dropped)
    and returns the last batch's cost, after blocking: ``step_epoch`` with one jitted call
    per batch, ``scan_epoch`` in one jitted call.
    """
    if jnp.zeros(1, dtype).dtype != np.dtype(dtype):
        raise ValueError(f"JAX gives no {dtype} here (float64 needs jax_enable_x64)")

    def weights() -> Params:
        return tuple((jnp.asarray([[w.data for w in n.w] for n in layer.neurons], dtype),
                      jnp.asarray([n.b.data for n in layer.neurons], dtype))
                     for layer in model.layers)

    # on the device once: the data set and the epoch's batches of indices (passed as
    # arguments: arrays closed over would be baked into the compiled program as constants)
    data = (jnp.asarray(X, dtype), jnp.asarray(Y, dtype),
            jnp.asarray(order[: len(order) // b * b].reshape(-1, b)))
    n_batches = len(order) // b

    def sgd(params: Params, X: Any, Y: Any, idx: Any) -> tuple[Params, Any]:
        cost, grads = jax.value_and_grad(_cost)(params, X[idx], Y[idx])
        return jax.tree.map(lambda p, g: p - lr * g, params, grads), cost

    def sgd_at(params: Params, X: Any, Y: Any, batches: Any, i: Any) -> tuple[Params, Any]:
        return sgd(params, X, Y, lax.dynamic_index_in_dim(batches, i, keepdims=False))

    def scan(params: Params, X: Any, Y: Any, batches: Any) -> tuple[Params, Any]:
        return lax.scan(lambda p, idx: sgd(p, X, Y, idx), params, batches)

    jit_step = jax.jit(sgd_at, donate_argnums=0)
    jit_scan = jax.jit(scan, donate_argnums=0)
    state = {"step": weights(), "scan": weights()}

    def step_epoch() -> float:
        params, cost = state["step"], None
        for i in range(n_batches):
            params, cost = jit_step(params, *data, i)
        state["step"] = params
        return float(jax.block_until_ready(cost))

    def scan_epoch() -> float:
        state["scan"], costs = jit_scan(state["scan"], *data)
        return float(jax.block_until_ready(costs)[-1])

    return step_epoch, scan_epoch
