"""Move a network to PyTorch and back: for when a learner outgrows scalar Values.

::

    from tinygrad_lite.torch_bridge import to_torch, from_torch

    module = to_torch(net)          # torch.nn.Sequential(Linear, Sigmoid, Linear, Sigmoid, ...)
    module(torch.tensor([x], dtype=torch.float64))   # the same numbers as net(x)
    net2 = from_torch(module)       # an MLP with the module's weights

Each layer a = σ(W a_prev + b) becomes ``torch.nn.Linear`` (its ``weight`` is W, shape
``(nout, nin)``, its ``bias`` b) followed by the activation's module (``Sigmoid``, ``ReLU``,
``Tanh``; nothing for ``"linear"``). The weights are copied in float64 by default, so the
module's outputs equal the network's to rounding (1e-12).

Needs PyTorch: ``pip install "tinygrad-lite[torch]"`` (any CPU build will do).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_lite.nn import MLP
from tinygrad_lite.serialize import from_arrays, to_arrays

__all__ = ["to_torch", "from_torch", "TORCH_ACTIVATIONS"]

#: Each activation name and the ``torch.nn`` module class that computes it (``None``: none).
TORCH_ACTIVATIONS: dict[str, str | None] = {
    "sigmoid": "Sigmoid",
    "relu": "ReLU",
    "tanh": "Tanh",
    "linear": None,
}


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise ImportError('the torch bridge needs PyTorch: pip install "tinygrad-lite[torch]"'
                          ) from None
    return torch


def to_torch(model: MLP, dtype: Any = None) -> Any:
    """``model`` as a ``torch.nn.Sequential`` with the same weights and activations.

    Args:
        model: the :class:`~tinygrad_lite.nn.MLP` to copy (it is not changed).
        dtype: the parameters' dtype; default ``torch.float64``, which reproduces the
            network's outputs to 1e-12.

    Raises:
        TypeError: ``model`` is not an MLP.
        ImportError: PyTorch is not installed.
    """
    layers = to_arrays(model)  # checks that model is an MLP, before importing torch
    torch = _torch()
    dtype = torch.float64 if dtype is None else dtype
    modules = []
    for (w, b), activation in zip(layers, model.activations):
        linear = torch.nn.Linear(w.shape[1], w.shape[0], dtype=dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(w))
            linear.bias.copy_(torch.from_numpy(b))
        modules.append(linear)
        if TORCH_ACTIVATIONS[activation] is not None:
            modules.append(getattr(torch.nn, TORCH_ACTIVATIONS[activation])())
    return torch.nn.Sequential(*modules)


def from_torch(module: Any) -> MLP:
    """An :class:`~tinygrad_lite.nn.MLP` with the weights of a ``torch.nn.Sequential``.

    The module must be ``Linear`` layers, each followed by at most one ``Sigmoid``, ``ReLU``
    or ``Tanh`` (no activation: ``"linear"``), as :func:`to_torch` makes them. The weights are
    copied as Python floats.

    Raises:
        TypeError: not a ``Sequential``, or a module the MLP has no counterpart for.
        ValueError: no ``Linear`` layer, an activation before the first one, two activations
            in a row, a Linear without bias, sizes that do not chain, or nan/inf weights.
        ImportError: PyTorch is not installed.
    """
    torch = _torch()
    if not isinstance(module, torch.nn.Sequential):
        raise TypeError(f"from_torch needs a torch.nn.Sequential, got {type(module).__name__}")
    names = {cls: name for name, cls in TORCH_ACTIVATIONS.items() if cls is not None}
    pairs: list[tuple[np.ndarray, np.ndarray]] = []
    activations: list[str] = []
    for i, part in enumerate(module):
        kind = type(part).__name__
        if isinstance(part, torch.nn.Linear):
            if part.bias is None:
                raise ValueError(f"module {i}: a Linear without bias has no MLP counterpart")
            pairs.append((part.weight.detach().cpu().double().numpy(),
                          part.bias.detach().cpu().double().numpy()))
            activations.append("linear")
        elif kind in names and type(part) is getattr(torch.nn, kind):
            if not pairs or activations[-1] != "linear":
                raise ValueError(f"module {i}: {kind} must follow a Linear layer")
            activations[-1] = names[kind]
        else:
            raise TypeError(f"module {i}: {kind} has no MLP counterpart; the module must be "
                            "Linear layers, each followed by Sigmoid, ReLU, Tanh or nothing")
    if not pairs:
        raise ValueError("the module has no Linear layer")
    return from_arrays(pairs, activations)
