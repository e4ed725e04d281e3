"""Test your own ops and networks: gradient checks and hypothesis strategies.

Three lines check a custom op over random graphs (pytest collects the ``test_`` name)::

    from tinygrad_lite.testing import gradcheck_property
    from mypackage import softplus
    test_softplus_gradient = gradcheck_property(softplus)

and one line a network on one example: ``assert gradcheck_model(model, x, one_hot(3))``.
Second derivatives likewise: ``test_softplus_curvature = gradgradcheck_property(softplus)``
(for an op whose derivative is written with Value ops).

The gradient checks (:func:`gradcheck`, :func:`gradcheck_directional`, :func:`gradcheck_model`)
need nothing beyond tinygrad_lite. The hypothesis strategies (:func:`expressions`,
:func:`mlps`, :func:`gradcheck_property`) need the ``test`` extra: without hypothesis this
package still imports, and using a strategy raises an ``ImportError`` that says
``pip install "tinygrad-lite[test]"``.
"""

from __future__ import annotations

from typing import Any, Callable, NoReturn

from tinygrad_lite.gradcheck import (
    GradcheckError,
    GradMismatch,
    gradcheck,
    gradcheck_directional,
    gradcheck_model,
    gradgradcheck,
)
from tinygrad_lite.testing._graphs import BUILTIN_OPS, GeneratedExpression, OpSpec, Step

_STRATEGY_NAMES = frozenset(
    {"expressions", "mlps", "gradcheck_property", "gradgradcheck_property", "GeneratedNetwork",
     "ACTIVATIONS", "COSTS"}
)

__all__ = [
    "gradcheck",
    "gradcheck_directional",
    "gradcheck_model",
    "gradgradcheck",
    "GradcheckError",
    "GradMismatch",
    "GeneratedExpression",
    "OpSpec",
    "Step",
    "BUILTIN_OPS",
    *sorted(_STRATEGY_NAMES),
]


def _needs_hypothesis(name: str, error: ImportError) -> Callable[..., NoReturn]:
    def unavailable(*args: Any, **kwargs: Any) -> NoReturn:
        raise ImportError(
            f"tinygrad_lite.testing.{name} needs hypothesis, which is not installed: "
            'pip install "tinygrad-lite[test]"'
        ) from error

    unavailable.__name__ = unavailable.__qualname__ = name
    unavailable.__doc__ = f'Unavailable: {name} needs hypothesis (pip install "tinygrad-lite[test]").'
    return unavailable


def __getattr__(name: str) -> Any:
    # The strategies are imported on first use, so that this package works without hypothesis.
    if name in _STRATEGY_NAMES:
        try:
            from tinygrad_lite.testing import strategies
        except ImportError as error:
            return _needs_hypothesis(name, error)
        return getattr(strategies, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
