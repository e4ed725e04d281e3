"""The training replay: a slider over the snapshots ``train(..., record=N)`` kept.

The page carries each snapshot's parameters as base64 float32 (4 bytes a parameter), a few
test digits and the per-epoch curves; the script runs the network on the digits for the
snapshot the slider picks.
"""

from __future__ import annotations

import math
from typing import Any, Optional, Sequence

import numpy as np

from tinygrad_lite._checks import image_shape as check_image_shape
from tinygrad_lite._checks import positive_int
from tinygrad_lite.explore.network_page import DEFAULT_TOP_K, network_svg_markup
from tinygrad_lite.explore.page import ExplorePage, build_page, pack_floats, svg_escape

__all__ = ["explore_training", "DEFAULT_DIGITS"]

#: How many test digits the replay shows by default.
DEFAULT_DIGITS = 8

_CURVE_W, _CURVE_H, _PAD = 380.0, 120.0, 34.0


def _images(images: Any, labels: Any, count: int, nin: int) -> tuple[np.ndarray, list[int],
                                                                       Optional[tuple]]:
    shape = getattr(images, "image_shape", None)
    if labels is None and hasattr(images, "labels"):
        labels = images.labels
    pixels = np.asarray(getattr(images, "images", images), dtype=np.float64)
    if pixels.ndim != 2 or pixels.shape[1] != nin:
        raise ValueError(f"explore_training: images must be an array (n, {nin}) or a Dataset "
                         f"of {nin}-pixel images, got shape {pixels.shape}")
    if len(pixels) == 0:
        raise ValueError("explore_training: images is empty; give a few test digits")
    pixels = pixels[:count]
    if labels is None:
        raise TypeError("explore_training: give labels= (or pass a Dataset, e.g. split.test)")
    return pixels, [int(v) for v in np.asarray(labels)[:count]], shape


_ACTIVATIONS = {"sigmoid": lambda z: 1 / (1 + np.exp(-z)), "relu": lambda z: np.maximum(z, 0),
                "tanh": np.tanh, "linear": lambda z: z}


def _snapshot_forward(params: np.ndarray, sizes: list[int], acts: list[str],
                      x: np.ndarray) -> tuple[list[list[list[float]]], list[list[float]]]:
    """(weights[l][j][k], activations[l][j]) of a snapshot's network on input ``x``.

    The parameters are in ``model.parameters()`` order: per neuron its weights, then its bias.
    """
    weights, activations, pos = [], [], 0
    a = np.asarray(x, dtype=np.float64)
    for nin, nout, act in zip(sizes, sizes[1:], acts):
        block = np.asarray(params[pos:pos + nout * (nin + 1)], dtype=np.float64)
        block = block.reshape(nout, nin + 1)
        pos += nout * (nin + 1)
        a = _ACTIVATIONS[act](block[:, :nin] @ a + block[:, nin])
        weights.append(block[:, :nin].tolist())
        activations.append(a.tolist())
    return weights, activations


def _curves_svg(history: Any, snapshot_epochs: list[int]) -> tuple[str, list[float]]:
    """Cost above, train/test accuracy below, and the x of each snapshot for the marker."""
    epochs = [e.epoch for e in history.epochs]
    last = max(epochs + snapshot_epochs + [1])
    top_cost = max([e.cost for e in history.epochs] + [1e-12])

    def px(epoch: float) -> float:
        return _PAD + (_CURVE_W - _PAD - 10) * epoch / last

    def curve(values: list[float], top: float, y0: float, colour: str, name: str) -> str:
        points = " ".join(f"{px(e):.1f},{y0 + _CURVE_H * (1 - v / top):.1f}"
                          for e, v in zip(epochs, values))
        return (f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2">'
                f'<title>{svg_escape(name)}</title></polyline>')

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_CURVE_W:.0f}" '
             f'height="{2 * _CURVE_H + 70:.0f}" font-family="Helvetica,Arial,sans-serif" '
             'font-size="11">']
    y1 = _CURVE_H + 40.0
    for y0, label in ((16.0, f"cost (0 to {top_cost:.3g})"), (y1, "accuracy (0 to 100%)")):
        parts.append(f'<rect x="{_PAD}" y="{y0}" width="{_CURVE_W - _PAD - 10}" '
                     f'height="{_CURVE_H}" fill="#fafafa" stroke="#cccccc"/>')
        parts.append(f'<text x="{_PAD}" y="{y0 - 4}" fill="#444444">{label}</text>')
    parts.append(curve([e.cost for e in history.epochs], top_cost, 16.0, "#b35c00", "cost"))
    parts.append(curve([e.train_accuracy for e in history.epochs], 1.0, y1, "#2563eb", "train"))
    parts.append(curve([e.test_accuracy for e in history.epochs], 1.0, y1, "#2b8a3e", "test"))
    parts.append(f'<text x="{_CURVE_W - 120}" y="{y1 + _CURVE_H - 20}" fill="#2563eb">train</text>'
                 f'<text x="{_CURVE_W - 120}" y="{y1 + _CURVE_H - 6}" fill="#2b8a3e">test</text>')
    parts.append(f'<text x="{_PAD}" y="{2 * _CURVE_H + 62}" fill="#444444">epoch 0 … {last}</text>')
    xs = [px(e) for e in snapshot_epochs]
    parts.append(f'<line id="marker" x1="{xs[-1]:.1f}" x2="{xs[-1]:.1f}" y1="14" '
                 f'y2="{2 * _CURVE_H + 44}" stroke="#e8590c" stroke-width="2"/></svg>')
    return "".join(parts), xs


def explore_training(history: Any, model: Any, images: Any, labels: Any = None, *,
                     count: int = DEFAULT_DIGITS, top_k: int = DEFAULT_TOP_K,
                     image_shape: Optional[Sequence[int]] = None,
                     title: Optional[str] = None) -> ExplorePage:
    """A page that replays training: a slider over the epochs ``history`` recorded.

    For the snapshot the slider picks, the page shows the network (circles shaded by
    activation, the ``top_k`` strongest edges per neuron by ``|w·a|``) on one of ``count``
    test digits (click another), every digit's prediction, and the cost and accuracy curves
    with a marker at that epoch.

    Args:
        history: a :class:`~tinygrad_lite.train.History` from ``train(..., record=N)``.
        model: the trained model (its architecture; the snapshots hold the numbers).
        images: a :class:`~tinygrad_lite.data.Dataset` (e.g. ``split.test``) or an array of
            inputs (then give ``labels``).
        labels: the digits' labels, when ``images`` is an array.
        count: how many digits (the first ``count``).
        top_k: edges per neuron.
        image_shape: (rows, columns) of an input, if not square and not in the Dataset.
        title: the page's title.

    Raises:
        ValueError: the history has no snapshots (train with ``record=N``), or they do not
            fit the model; images of the wrong size.
    """
    snapshots = list(getattr(history, "snapshots", []) or [])
    if not snapshots:
        raise ValueError("explore_training: this history has no snapshots; train with "
                         "train(model, data, record=20) to keep up to 20 of them")
    layers = model.layers
    sizes = [len(layers[0].neurons[0].w)] + [len(layer.neurons) for layer in layers]
    n_params = len(model.parameters())
    for s in snapshots:
        if len(s.parameters) != n_params:
            raise ValueError(f"explore_training: a snapshot has {len(s.parameters)} parameters "
                             f"but the model has {n_params}: not the model that was trained")
    count, top_k = positive_int(count, "count"), positive_int(top_k, "top_k")
    pixels, label_list, ds_shape = _images(images, labels, count, sizes[0])
    shape = check_image_shape(image_shape or ds_shape, sizes[0], "explore_training",
                              square_only=False) \
        if (image_shape or ds_shape or math.isqrt(sizes[0]) ** 2 == sizes[0]) else (sizes[0], 1)
    acts = [getattr(layer, "activation", "sigmoid") for layer in layers]
    # The picture without scripts: the last snapshot on the first digit (as the page opens).
    weights, activations = _snapshot_forward(snapshots[-1].parameters, sizes, acts, pixels[0])
    svg = network_svg_markup(weights, acts, tuple(shape), pixels[0].tolist(), activations,
                             top_k, caption=f"MLP {' → '.join(map(str, sizes))}; the {top_k} "
                                            "strongest inputs of each neuron by |w·a|")
    curves, curve_x = _curves_svg(history, [s.epoch for s in snapshots])
    data = {
        "sizes": sizes, "acts": acts, "shape": list(shape), "topK": top_k,
        "snapshots": [{"epoch": s.epoch, "params": pack_floats(s.parameters, "<f4")}
                      for s in snapshots],
        "images": [pack_floats(x, "<f4") for x in pixels], "labels": label_list,
        "curves": {"epochs": [e.epoch for e in history.epochs],
                   "cost": [e.cost for e in history.epochs],
                   "train": [e.train_accuracy for e in history.epochs],
                   "test": [e.test_accuracy for e in history.epochs]},
        "curveX": curve_x,
    }
    intro = (f"{len(snapshots)} snapshots of the {n_params:,} parameters. Drag the slider "
             "(or press ← →) to replay training: the network on a test digit, the "
             "predictions, and where the curves were.")
    picture = f'{svg}<div id="curves">{curves}</div>'
    page = build_page(title or "Replay the training", "training", picture, data, intro)
    return ExplorePage(page, "training", 0)
