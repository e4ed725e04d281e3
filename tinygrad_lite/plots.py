"""Pictures of training with matplotlib: cost and accuracy curves, weights as images, digits.

Every function returns a matplotlib :class:`~matplotlib.figure.Figure` drawn by the Agg
backend (no screen, no global pyplot state); :func:`save_figure` writes it, atomically, as PNG
and SVG. matplotlib is an optional extra, imported only when a function is called::

    pip install "tinygrad-lite[plots]"

::

    from tinygrad_lite.plots import plot_training_curves, save_figure

    history = train(model, split, epochs=15)
    save_figure(plot_training_curves(history), "out/training_curves")  # .png and .svg

* :func:`plot_training_curves` — the cost and the train/test accuracy after every epoch;
* :func:`plot_cost` — one or several cost curves (per gradient step, per mini-batch...);
* :func:`plot_first_layer_weights` — each first-layer neuron's weights as an image: "what is
  each neuron looking for";
* :func:`plot_digits` — a grid of digits with their labels, or with predicted labels and the
  mistakes framed in red;
* :func:`plot_activations` — activation functions and their derivatives, computed by the
  engine;
* :func:`new_figure` — an empty Agg figure, for pictures of your own;
* :func:`require_matplotlib` — fail early, with the install command, if matplotlib is missing.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Optional, Sequence, Union

import numpy as np

from tinygrad_lite._checks import image_shape as check_image_shape
from tinygrad_lite._checks import integer, positive_int
from tinygrad_lite._files import StrPath, atomic_target, check_target
from tinygrad_lite.engine import Value

if TYPE_CHECKING:  # pragma: no cover - types only
    from matplotlib.figure import Figure

__all__ = [
    "FIGURE_TYPES",
    "DEFAULT_FORMATS",
    "require_matplotlib",
    "new_figure",
    "save_figure",
    "plot_training_curves",
    "plot_cost",
    "plot_first_layer_weights",
    "plot_digits",
    "plot_activations",
]

#: File suffixes :func:`save_figure` writes.
FIGURE_TYPES: tuple[str, ...] = (".png", ".svg", ".pdf")
#: What :func:`save_figure` writes for a path without a suffix.
DEFAULT_FORMATS: tuple[str, ...] = ("png", "svg")

_INSTALL = 'tinygrad_lite.plots needs matplotlib: pip install "tinygrad-lite[plots]"'
_MISTAKE = "#d62728"  # red frame and label of a wrong prediction
_TRAIN, _TEST = "#1f77b4", "#ff7f0e"
# Weights: red negative, blue positive, as in draw_network's edges.
_WEIGHT_CMAP = "RdBu"
_ACTIVATIONS = ("sigmoid", "relu", "tanh")


# --------------------------------------------------------------------------- figures
def _matplotlib() -> tuple[Any, Any, Any]:
    """(matplotlib, Figure, FigureCanvasAgg), or an ImportError saying how to install them."""
    try:
        import matplotlib
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(_INSTALL) from exc
    return matplotlib, Figure, FigureCanvasAgg


def require_matplotlib() -> None:
    """Check that matplotlib can be imported, before a script does any slow work.

    Raises:
        ImportError: it cannot; the message says ``pip install "tinygrad-lite[plots]"``.
    """
    _matplotlib()


def new_figure(nrows: int = 1, ncols: int = 1, *, figsize: Optional[tuple[float, float]] = None,
               squeeze: bool = True) -> tuple["Figure", Any]:
    """An empty figure drawn by the Agg backend, and its axes (``Figure.subplots``).

    No window opens and pyplot's global state is not touched, so this works on servers and
    in tests.

    Args:
        nrows, ncols: the grid of axes (positive ints).
        figsize: (width, height) in inches; default 6.4 × 4.8.
        squeeze: as in ``Figure.subplots``: one axes comes back alone, a row as a 1-D array.

    Raises:
        ImportError: matplotlib is not installed (the message says how to install it).
        TypeError / ValueError: ``nrows``/``ncols`` are not positive ints.
    """
    _, Figure, FigureCanvasAgg = _matplotlib()
    rows, cols = positive_int(nrows, "nrows"), positive_int(ncols, "ncols")
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.subplots(rows, cols, squeeze=squeeze)


def _targets(path: StrPath, formats: Optional[Sequence[str]]) -> list[Path]:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    path = Path(path)
    suffix = path.suffix.lower()
    if formats is None:
        if suffix in FIGURE_TYPES:
            return [path]
        if suffix:
            raise ValueError(f"cannot save a figure as {str(path)!r}: unknown file type "
                             f"{suffix!r}; valid: {', '.join(FIGURE_TYPES)} (or no suffix for "
                             f"{' and '.join(DEFAULT_FORMATS)})")
        formats = DEFAULT_FORMATS
    if isinstance(formats, str):
        formats = [formats]
    out = []
    for f in formats:
        ext = f".{str(f).lower().lstrip('.')}"
        if not isinstance(f, str) or ext not in FIGURE_TYPES:
            raise ValueError(f"unknown figure format {f!r}; valid: "
                             f"{', '.join(t.lstrip('.') for t in FIGURE_TYPES)}")
        out.append(path.with_name(path.stem + ext) if suffix in FIGURE_TYPES
                   else path.with_name(path.name + ext))
    if not out:
        raise ValueError("formats is empty: give at least one of png, svg, pdf")
    return out


def save_figure(fig: "Figure", path: StrPath,
                formats: Optional[Sequence[str]] = None) -> list[Path]:
    """Write ``fig`` to image files, atomically; returns the paths written.

    ``path`` with a suffix (``.png``, ``.svg``, ``.pdf``) writes that one file; without one
    (``"out/curves"``) it writes ``out/curves.png`` and ``out/curves.svg``. ``formats``
    (e.g. ``["png"]``) overrides that choice. Each file goes to a temporary name in the same
    folder first and is then renamed over the target (``os.replace``), so a failure never
    leaves a half-written image. SVG keeps its text as text (searchable, smaller) and carries
    no date, so the same figure gives the same file.

    Raises:
        TypeError: ``fig`` is not a matplotlib Figure, or ``path`` is not a path.
        ValueError: an unknown suffix or format (the message lists the valid ones).
        FileNotFoundError / NotADirectoryError: the folder does not exist / is a file.
    """
    matplotlib, Figure, _ = _matplotlib()
    if not isinstance(fig, Figure):
        raise TypeError(f"save_figure expects a matplotlib Figure, got {type(fig).__name__}")
    targets = [check_target(target, "figure") for target in _targets(path, formats)]
    rc = {"svg.fonttype": "none", "svg.hashsalt": "tinygrad-lite"}
    for target in targets:
        fmt = target.suffix.lstrip(".").lower()
        metadata = {"Date": None} if fmt in ("svg", "pdf") else None
        with atomic_target(target) as tmp, matplotlib.rc_context(rc):
            fig.savefig(tmp, format=fmt, dpi=120, metadata=metadata)
    return targets


# --------------------------------------------------------------------------- checks
def _numbers(values: Any, what: str) -> np.ndarray:
    """``values`` as a non-empty 1-D float array of finite numbers, else a clear error."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
        raise TypeError(f"{what} must be a sequence of numbers, got {type(values).__name__}")
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{what} must be a sequence of numbers") from None
    if arr.ndim != 1:
        raise ValueError(f"{what} must be 1-D, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{what} is empty: nothing to plot")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} holds nan or infinite values")
    return arr


# --------------------------------------------------------------------------- curves
def plot_training_curves(history: Any, *, title: Optional[str] = None) -> "Figure":
    """Two panels: the training cost after each epoch, and the train and test accuracy.

    Args:
        history: a :class:`~tinygrad_lite.train.History` (what :func:`~tinygrad_lite.train.train`
            returns), or any object with equally long ``cost``, ``train_accuracy`` and
            ``test_accuracy`` lists (accuracies in 0..1).
        title: the figure title; default says how many epochs and the final test accuracy.

    Raises:
        TypeError: ``history`` lacks those lists.
        ValueError: no epochs, lists of different lengths, or nan/inf values.
    """
    try:
        cost, train_acc, test_acc = (history.cost, history.train_accuracy,
                                     history.test_accuracy)
    except AttributeError:
        raise TypeError("plot_training_curves expects a History (what train() returns), got "
                        f"{type(history).__name__}") from None
    initial = getattr(history, "initial", None)  # the untrained network, drawn as epoch 0
    if initial is not None:
        cost, train_acc, test_acc = ([initial.cost, *cost], [initial.train_accuracy, *train_acc],
                                     [initial.test_accuracy, *test_acc])
    if any(a is None for a in [*train_acc, *test_acc]):
        raise ValueError("the history has no accuracy to plot (real-valued targets, or no test "
                         "set); plot its cost with plot_cost([p.cost for p in history.points])")
    cost = _numbers(cost, "history.cost")
    train_acc = _numbers(train_acc, "history.train_accuracy")
    test_acc = _numbers(test_acc, "history.test_accuracy")
    if not len(cost) == len(train_acc) == len(test_acc):
        raise ValueError(f"history lists differ in length: {len(cost)} costs, "
                         f"{len(train_acc)} train and {len(test_acc)} test accuracies")
    epochs = np.arange(len(cost)) + (0 if initial is not None else 1)
    fig, (ax_cost, ax_acc) = new_figure(1, 2, figsize=(10, 4))
    marker = "o" if len(epochs) <= 30 else None
    ax_cost.plot(epochs, cost, marker=marker, color="#444444")
    ax_cost.set_title("Cost on the training set")
    ax_cost.set_xlabel("epoch")
    ax_cost.set_ylabel("mean cost C")
    ax_cost.set_ylim(bottom=0)
    ax_acc.plot(epochs, 100 * train_acc, marker=marker, color=_TRAIN, label="training set")
    ax_acc.plot(epochs, 100 * test_acc, marker=marker, color=_TEST, label="test set")
    ax_acc.set_title("Accuracy")
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("correctly classified (%)")
    ax_acc.set_ylim(0, 102)  # room for markers at 100%
    ax_acc.legend(loc="lower right")
    for ax in (ax_cost, ax_acc):
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
    if title is None:
        n = len(epochs) - (initial is not None)
        title = (f"Training: {n} epoch{'s' if n != 1 else ''}, "
                 f"final test accuracy {100 * test_acc[-1]:.1f}%")
    fig.suptitle(title)
    return fig


CostCurves = Union[Sequence[float], Mapping[str, Any]]


def plot_cost(costs: CostCurves, *, xlabel: str = "step", ylabel: str = "cost C",
              title: str = "Cost", logy: bool = False) -> "Figure":
    """One or several cost curves in one panel.

    Args:
        costs: a sequence of costs (plotted at x = 1, 2, ...), or a mapping from a legend
            label to either such a sequence or an ``(xs, ys)`` pair (to compare runs on a
            common x axis, e.g. examples seen).
        xlabel, ylabel, title: the texts of the picture.
        logy: logarithmic cost axis.

    Raises:
        TypeError / ValueError: empty curves, mismatched ``xs``/``ys``, nan/inf values.
    """
    if isinstance(costs, Mapping):
        if not costs:
            raise ValueError("costs is an empty mapping: nothing to plot")
        curves = list(costs.items())
    else:
        curves = [("", costs)]
    fig, ax = new_figure(figsize=(7, 4))
    for label, curve in curves:
        if not isinstance(label, str):
            raise TypeError(f"curve labels must be str, got {type(label).__name__}")
        name = f"costs[{label!r}]" if label else "costs"
        if isinstance(curve, tuple) and len(curve) == 2:
            xs, ys = _numbers(curve[0], f"{name} xs"), _numbers(curve[1], f"{name} ys")
            if len(xs) != len(ys):
                raise ValueError(f"{name}: {len(xs)} xs but {len(ys)} ys")
        else:
            ys = _numbers(curve, name)
            xs = np.arange(1, len(ys) + 1)
        ax.plot(xs, ys, label=label or None, marker="o" if len(ys) <= 30 else None,
                markersize=4, linewidth=1.0 if len(ys) > 100 else 1.8)
    if logy:
        ax.set_yscale("log")
    else:
        ax.set_ylim(bottom=0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if any(label for label, _ in curves):
        ax.legend()
    return fig


# --------------------------------------------------------------------------- images
def _grid(n: int, ncols: Optional[int], default: int) -> tuple[int, int]:
    cols = min(n, default) if ncols is None else positive_int(ncols, "ncols")
    return math.ceil(n / cols), cols


def _bare(ax: Any) -> None:
    ax.set_xticks([])
    ax.set_yticks([])


def plot_first_layer_weights(model: Any, *, image_shape: Optional[Sequence[int]] = None,
                             ncols: Optional[int] = None, shared_scale: bool = True,
                             title: Optional[str] = None) -> "Figure":
    """Each first-layer neuron's weights drawn as an image: what pattern excites it.

    Weight ``wₖ`` of neuron j multiplies pixel k, so laying the weights out like the pixels
    shows the pattern that makes z = Σ wₖ aₖ + b largest: blue pixels (w > 0) push the neuron
    towards 1 when inked, red pixels (w < 0) push it towards 0. 3Blue1Brown hoped for edges
    and loops; a trained network's tiles mostly look far less tidy.

    Args:
        model: an :class:`~tinygrad_lite.nn.MLP` (its first layer's neurons' ``w``).
        image_shape: (rows, columns) of the input image; default square (8×8, 28×28).
        ncols: tiles per row (default up to 8).
        shared_scale: one colour scale for every tile (compare neurons with each other);
            ``False`` scales each tile to its own largest |w| (see faint patterns).
        title: the figure title.

    Raises:
        TypeError: ``model`` is not MLP-like.
        ValueError: the inputs do not form an image of ``image_shape``.
    """
    layers = getattr(model, "layers", None)
    if not isinstance(layers, Sequence) or not layers or not getattr(layers[0], "neurons", None):
        raise TypeError("plot_first_layer_weights expects an MLP (with .layers of .neurons), "
                        f"got {type(model).__name__}")
    weights = np.array([[w.data for w in n.w] for n in layers[0].neurons], dtype=float)
    rows, cols = check_image_shape(image_shape, weights.shape[1], "plot_first_layer_weights",
                                   square_only=True)
    n = len(weights)
    grid_rows, grid_cols = _grid(n, ncols, 8)
    fig, axes = new_figure(grid_rows, grid_cols, figsize=(1.45 * grid_cols + 1.0,
                                                           1.55 * grid_rows + 0.6),
                           squeeze=False)
    top = float(np.max(np.abs(weights))) or 1.0
    image = None
    for j, ax in enumerate(axes.flat):
        _bare(ax)
        if j >= n:
            ax.set_axis_off()
            continue
        limit = top if shared_scale else (float(np.max(np.abs(weights[j]))) or 1.0)
        image = ax.imshow(weights[j].reshape(rows, cols), cmap=_WEIGHT_CMAP, vmin=-limit,
                          vmax=limit, interpolation="nearest")
        ax.set_title(f"neuron {j}", fontsize=9)
    if shared_scale and image is not None:
        fig.colorbar(image, ax=axes, shrink=0.8, label="weight (blue > 0, red < 0)")
    if title is None:
        title = (f"What each first-layer neuron looks for: its {weights.shape[1]} weights "
                 f"laid out like the {rows}×{cols} input image")
    fig.suptitle(title)
    return fig


def _as_images(images: Any, image_shape: Optional[Sequence[int]]) -> np.ndarray:
    if isinstance(images, (str, bytes)) or not hasattr(images, "__len__"):
        raise TypeError(f"images must be an array of images, got {type(images).__name__}")
    try:
        arr = np.asarray(images, dtype=float)
    except (TypeError, ValueError):
        raise TypeError("images must be an array of numbers") from None
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim == 2:
        rows, cols = check_image_shape(image_shape, arr.shape[1], "plot_digits", square_only=True)
        arr = arr.reshape(len(arr), rows, cols)
    elif arr.ndim != 3:
        raise ValueError(f"images must have shape (n, pixels) or (n, rows, columns), got "
                         f"{arr.shape}")
    if len(arr) == 0:
        raise ValueError("images is empty: nothing to plot")
    if not np.all(np.isfinite(arr)):
        raise ValueError("images hold nan or infinite values")
    return arr


def _labels(values: Any, n: int, what: str) -> Optional[list[int]]:
    if values is None:
        return None
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
        raise TypeError(f"{what} must be a sequence of ints, got {type(values).__name__}")
    out = []
    for i, v in enumerate(np.asarray(values).tolist() if hasattr(values, "tolist") else values):
        out.append(integer(v, f"{what}[{i}]"))
    if len(out) != n:
        raise ValueError(f"{len(out)} {what} for {n} images; they must match")
    return out


def plot_digits(images: Any, labels: Any = None, predictions: Any = None, *,
                image_shape: Optional[Sequence[int]] = None, ncols: Optional[int] = None,
                title: Optional[str] = None) -> "Figure":
    """A grid of digit images, black ink on white, each with its label or prediction.

    With ``predictions``, each tile is titled with the predicted digit; a wrong prediction is
    framed and titled in red as ``"3 (is 5)"`` (predicted 3, true label 5), and the title
    counts the mistakes.

    Args:
        images: ``(n, pixels)`` rows (``Dataset.images``) or ``(n, rows, columns)``; values
            in [0, 1] (0 = white).
        labels: the true digits (n ints), or ``None``.
        predictions: the predicted digits (n ints, e.g. from
            :func:`~tinygrad_lite.train.predict`); needs ``labels``.
        image_shape: (rows, columns) for ``(n, pixels)`` input; default square.
        ncols: tiles per row (default up to 10).
        title: the figure title; default describes the grid.

    Raises:
        TypeError / ValueError: not an image array, lengths that differ, non-int labels,
            predictions without labels.
    """
    arr = _as_images(images, image_shape)
    n = len(arr)
    true = _labels(labels, n, "labels")
    guess = _labels(predictions, n, "predictions")
    if guess is not None and true is None:
        raise ValueError("predictions need labels to tell the mistakes: pass labels too")
    grid_rows, grid_cols = _grid(n, ncols, 10)
    fig, axes = new_figure(grid_rows, grid_cols,
                           figsize=(1.0 * grid_cols + 0.4, 1.15 * grid_rows + 0.6),
                           squeeze=False)
    wrong = 0
    for i, ax in enumerate(axes.flat):
        _bare(ax)
        if i >= n:
            ax.set_axis_off()
            continue
        ax.imshow(arr[i], cmap="gray_r", vmin=0.0, vmax=1.0, interpolation="nearest")
        for spine in ax.spines.values():
            spine.set_color("#bbbbbb")
        if guess is not None:
            if guess[i] == true[i]:
                ax.set_title(str(guess[i]), fontsize=10)
            else:
                wrong += 1
                ax.set_title(f"{guess[i]} (is {true[i]})", fontsize=10, color=_MISTAKE,
                             fontweight="bold")
                for spine in ax.spines.values():
                    spine.set_color(_MISTAKE)
                    spine.set_linewidth(3)
        elif true is not None:
            ax.set_title(str(true[i]), fontsize=10)
    if title is None:
        if guess is not None:
            title = (f"Predicted digits of {n} test images: {wrong} wrong "
                     f"(framed in red: predicted digit, true label in brackets)")
        else:
            title = f"{n} digit images" + (" with their labels" if true is not None else "")
    fig.suptitle(title)
    return fig


# --------------------------------------------------------------------------- activations
def plot_activations(names: Sequence[str] = ("sigmoid", "relu"), *, lo: float = -6.0,
                     hi: float = 6.0, points: int = 241) -> "Figure":
    """Each activation function and its derivative, side by side, as the engine computes them.

    The curves are ``Value(x).<name>().data`` and its local derivative ``.local_grads[0]``,
    so they show exactly what the network uses (including ReLU's derivative 0 at x = 0).

    Args:
        names: any of ``"sigmoid"``, ``"relu"``, ``"tanh"`` (methods of
            :class:`~tinygrad_lite.engine.Value`).
        lo, hi: the x range (lo < hi).
        points: how many x values (at least 2).

    Raises:
        ValueError: an unknown name, an empty list, ``lo >= hi`` or too few points.
    """
    if isinstance(names, str):
        names = [names]
    names = list(names)
    if not names:
        raise ValueError("names is empty: give at least one activation, e.g. 'sigmoid'")
    for name in names:
        if name not in _ACTIVATIONS:
            raise ValueError(f"unknown activation {name!r}; valid: {', '.join(_ACTIVATIONS)}")
    lo, hi = float(lo), float(hi)
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"need finite lo < hi, got lo={lo}, hi={hi}")
    xs = np.linspace(lo, hi, positive_int(points, "points"))
    if len(xs) < 2:
        raise ValueError("points must be at least 2")
    fig, axes = new_figure(1, len(names), figsize=(4.2 * len(names), 3.6), squeeze=False)
    for ax, name in zip(axes.flat, names):
        outs = [getattr(Value(float(x)), name)() for x in xs]
        ax.plot(xs, [o.data for o in outs], color="#1f77b4", lw=2, label=f"{name}(x)")
        ax.plot(xs, [o.local_grads[0] for o in outs], color="#ff7f0e", lw=2, ls="--",
                label=f"{name}'(x)")
        ax.axhline(0, color="#888888", lw=0.8)
        ax.axvline(0, color="#888888", lw=0.8)
        ax.set_title(name)
        ax.set_xlabel("x")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left")
    fig.suptitle("Activation functions (solid) and their derivatives (dashed)")
    return fig
