"""Watch backpropagation happen: interactive, self-contained pages of graphs and networks.

* :func:`explore` — a page that steps through a computation: any :class:`Value`'s graph, the
  chain :func:`~tinygrad_lite.viz.episode4_chain` returns, or a network on one example;
* :func:`explore_training` — a replay of a training run recorded with ``train(..., record=N)``.

Each returns an :class:`ExplorePage`: ``page.save("x.html")`` writes one HTML file that works
from ``file://`` with no network (a Content-Security-Policy forbids every external load), and
in Jupyter the page shows inline.
"""

from __future__ import annotations

from typing import Any, Optional

from tinygrad_lite.engine import Value
from tinygrad_lite.explore.graph_page import DEFAULT_MAX_NODES, explore_chain, explore_value
from tinygrad_lite.explore.network_page import DEFAULT_LR, DEFAULT_TOP_K, explore_network
from tinygrad_lite.explore.page import ExplorePage
from tinygrad_lite.explore.training_page import explore_training

__all__ = ["explore", "explore_training", "ExplorePage", "DEFAULT_TOP_K", "DEFAULT_LR",
           "DEFAULT_MAX_NODES"]


def _is_chain(obj: Any) -> bool:
    return (isinstance(obj, tuple) and len(obj) == 2 and isinstance(obj[1], dict)
            and getattr(obj[0], "name", None) == "episode4"
            and all(isinstance(v, Value) for v in obj[1].values()))


def explore(what: Any, x: Any = None, y: Any = None, *, title: Optional[str] = None,
            **options: Any) -> ExplorePage:
    """An interactive page that steps through ``what``'s forward and backward pass.

    ``what`` is one of:

    * **a Value** (e.g. a cost, before or after ``backward()``): its graph as
      :func:`~tinygrad_lite.viz.draw_graph` draws it. Forward steps light each computed value
      in topological order and show it; backward steps go in reverse order and show how each
      gradient is made, ``∂C/∂z = ∂C/∂a · ∂a/∂z = −0.8609 × 0.2452 = −0.2111``, one term per
      use for a value used several times. The gradients come from one ``backward()`` of the
      root run for the page (the values' own ``.grad`` are restored afterwards). A graph of
      more than ``max_nodes`` values (default 400) is collapsed as
      :func:`~tinygrad_lite.viz.draw_collapsed` collapses it: one box per neuron, its
      weights inside, the factor on an edge between boxes being the chain rule through the
      hidden values (``collapse=True``/``False`` forces either). Options: ``params``,
      ``inputs``, ``rankdir`` as for ``draw_graph``; ``max_nodes``; ``collapse``.
    * **the result of** :func:`~tinygrad_lite.viz.episode4_chain`: the chain with its
      chain-rule factors on the edges.
    * **an MLP**, with an input ``x`` (e.g. an image's pixels) and its target ``y`` (a label
      or the output vector): the network as circles, the input drawn as its image. Forward goes
      layer by layer; backward shows each neuron's ∂C/∂a and colours the edges by −∂C/∂w.
      Per neuron only the ``top_k`` strongest incoming edges by ``|w·a|`` are drawn (default
      :data:`DEFAULT_TOP_K` = 6; adjustable on the page too). A *nudge* button takes one SGD
      step on the example (learning rate ``lr``, default :data:`DEFAULT_LR` = 1, adjustable)
      and shows the new outputs and cost beside the old. Clicking a neuron shows its incoming
      weights as a tile in the input's shape beside their gradient. Options: ``top_k``,
      ``lr``, ``cost`` ("quadratic" or "cross-entropy"), ``image_shape``.

    On graph pages, clicking a leaf (a weight, say) lights every path from it to the output
    with the product of the local derivatives along each; their sum is the leaf's gradient.
    Keys: → and ← step, space plays and pauses, Home/End jump; the step is kept in the URL
    (``page.html#step=7``), so a link can point at one step.

    Args:
        what: a Value, an ``episode4_chain()`` result, or an MLP.
        x, y: the example, for an MLP only.
        title: the page's title (a default says what it shows).
        options: as listed above; ``backend`` ("auto", "dot", "wasm") for the graph layouts.

    Returns:
        an :class:`ExplorePage`; ``.save("page.html")`` writes it.

    Raises:
        TypeError: ``what`` is none of these, or x/y are given for a graph.
        ValueError: a graph larger than ``max_nodes``; x or y of the wrong size.
    """
    if isinstance(what, Value) or _is_chain(what):
        if x is not None or y is not None:
            raise TypeError("explore: x and y are for a model; a graph page takes only the Value")
        if isinstance(what, Value):
            return explore_value(what, title=title, **options)
        return explore_chain(what, title=title, **options)
    if hasattr(what, "layers") and hasattr(what, "parameters"):
        if x is None or y is None:
            raise TypeError("explore(model, x, y): give the example's input x and its target y "
                            "(a label such as 7, or the vector of desired outputs)")
        return explore_network(what, x, y, title=title, **options)
    raise TypeError("explore expects a Value, the result of episode4_chain() or an MLP with "
                    f"an example (explore(model, x, y)), got {type(what).__name__}")
