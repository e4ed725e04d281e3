"""See the graph: Graphviz pictures of values, of episode 4's chain, and of whole networks.

* :func:`draw_graph` — the computation graph of a :class:`~tinygrad_lite.engine.Value`;
* :func:`episode4_chain` — 3Blue1Brown's episode-4 chain as real Values, with the chain rule
  written on its edges;
* :func:`draw_network` — a network as circles in columns, shaded by activation, edges coloured
  by weight sign; :func:`draw_collapsed` — one box per neuron and per cost;
* :func:`to_svg` / :func:`save_graph` — render through the ``dot`` program or, without it,
  Graphviz compiled to WebAssembly (``pip install "tinygrad-lite[wasm]"``).

Every ``draw_*`` function returns a :class:`GraphView`, a ``graphviz.Digraph`` that shows
itself in Jupyter.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Union

from tinygrad_lite.engine import Value
from tinygrad_lite.viz import rendering
from tinygrad_lite.viz._text import MAX_LABEL_LENGTH, MAX_TOOLTIP_LENGTH
from tinygrad_lite.viz.collapsed import draw_collapsed
from tinygrad_lite.viz.episode4 import EPISODE4_VALUES, episode4_chain, episode4_svg
from tinygrad_lite.viz.graph import OP_SYMBOLS, draw_graph
from tinygrad_lite.viz.network import draw_network, network_svg
from tinygrad_lite.viz.rendering import (
    BACKENDS,
    FILE_TYPES,
    GraphView,
    GraphvizUnavailable,
    available_backends,
)


def _as_graph(graph: Any) -> Any:
    """A Value drawn with :func:`draw_graph`; anything else as it is."""
    return draw_graph(graph) if isinstance(graph, Value) else graph


def render(graph: Any, format: str = "svg", backend: str = "auto") -> bytes:
    """:func:`tinygrad_lite.viz.rendering.render`, also for a Value (drawn with
    :func:`draw_graph`): the picture's bytes, through ``dot`` or the WebAssembly Graphviz."""
    return rendering.render(_as_graph(graph), format, backend)


def to_svg(graph: Any, backend: str = "auto") -> str:
    """The SVG text of ``graph``: a Value (drawn with :func:`draw_graph`) or a graphviz graph.

    See :func:`tinygrad_lite.viz.rendering.render` for ``backend`` and the errors.
    """
    return rendering.to_svg(_as_graph(graph), backend)


def save_graph(graph: Any, path: Union[str, "os.PathLike[str]"], backend: str = "auto") -> Path:
    """:func:`tinygrad_lite.viz.rendering.save_graph`, also for a Value (drawn with
    :func:`draw_graph`): the format from the suffix, written atomically; returns the path."""
    return rendering.save_graph(_as_graph(graph), path, backend)


__all__ = [
    "draw_graph",
    "draw_network",
    "draw_collapsed",
    "episode4_chain",
    "episode4_svg",
    "network_svg",
    "to_svg",
    "save_graph",
    "render",
    "available_backends",
    "GraphView",
    "GraphvizUnavailable",
    "BACKENDS",
    "FILE_TYPES",
    "OP_SYMBOLS",
    "EPISODE4_VALUES",
    "MAX_LABEL_LENGTH",
    "MAX_TOOLTIP_LENGTH",
]
