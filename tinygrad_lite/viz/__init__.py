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

from tinygrad_lite.viz.collapsed import draw_collapsed
from tinygrad_lite.viz.episode4 import episode4_chain, episode4_svg
from tinygrad_lite.viz.graph import OP_SYMBOLS, draw_graph
from tinygrad_lite.viz.network import draw_network, network_svg
from tinygrad_lite.viz.rendering import (
    BACKENDS,
    FILE_TYPES,
    GraphView,
    GraphvizUnavailable,
    available_backends,
    render,
    save_graph,
    to_svg,
)

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
]
