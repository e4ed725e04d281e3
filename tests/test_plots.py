"""Tests for tinygrad_lite.plots: what each figure shows, atomic PNG/SVG files, clear errors."""

from __future__ import annotations

import math
import os
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

pytestmark = pytest.mark.slow  # the everyday run (pytest -m "not slow") leaves these out

matplotlib = pytest.importorskip("matplotlib")  # an optional extra: `pip install .[plots]`

from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from tinygrad_lite import MLP, EpochStats, History, Value  # noqa: E402
from tinygrad_lite import plots  # noqa: E402
from tinygrad_lite.plots import (  # noqa: E402
    new_figure,
    plot_activations,
    plot_cost,
    plot_digits,
    plot_first_layer_weights,
    plot_training_curves,
    require_matplotlib,
    save_figure,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SVG = "{http://www.w3.org/2000/svg}"
MISTAKE = plots._MISTAKE


def svg_text(path) -> str:
    """All text of an SVG file (it must parse as XML)."""
    root = ET.parse(path).getroot()
    assert root.tag == f"{SVG}svg"
    return " ".join(t for el in root.iter() for t in (el.text or "",) if t.strip())


def history(costs, train_acc, test_acc) -> History:
    h = History()
    for i, (c, tr, te) in enumerate(zip(costs, train_acc, test_acc), start=1):
        h.epochs.append(EpochStats(i, c, tr, te, 0.1))
    return h


def titled(fig: Figure) -> list:
    """The axes of ``fig`` that show something (not switched off)."""
    return [ax for ax in fig.axes if ax.axison and ax.get_label() != "<colorbar>"]


# --------------------------------------------------------------------------- matplotlib missing
def test_every_function_names_the_extra_to_install_when_matplotlib_is_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    calls = [
        require_matplotlib,
        lambda: new_figure(),
        lambda: save_figure(object(), "x.png"),
        lambda: plot_training_curves(history([1.0], [0.5], [0.5])),
        lambda: plot_cost([1.0, 0.5]),
        lambda: plot_first_layer_weights(MLP(4, [2], seed=0)),
        lambda: plot_digits(np.zeros((2, 4))),
        lambda: plot_activations(),
    ]
    for call in calls:
        with pytest.raises(ImportError, match=r'pip install "tinygrad-lite\[plots\]"'):
            call()


def test_require_matplotlib_passes_when_it_is_installed():
    assert require_matplotlib() is None


# --------------------------------------------------------------------------- new_figure
def test_new_figure_uses_agg_and_leaves_pyplot_alone():
    fig, axes = new_figure(2, 3)
    assert isinstance(fig, Figure) and isinstance(fig.canvas, FigureCanvasAgg)
    assert axes.shape == (2, 3)
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:  # imported by someone else: our figure is not one it manages
        assert all(pyplot.figure(n) is not fig for n in pyplot.get_fignums())
    fig, ax = new_figure()
    assert hasattr(ax, "plot")


@pytest.mark.parametrize("bad, error", [(0, ValueError), (-1, ValueError), (1.5, TypeError),
                                        (True, TypeError), ("2", TypeError)])
def test_new_figure_rejects_bad_grid_sizes(bad, error):
    with pytest.raises(error, match="nrows"):
        new_figure(bad, 1)


# --------------------------------------------------------------------------- save_figure
def small_figure(title="A title to find") -> Figure:
    fig, ax = new_figure(figsize=(3, 2))
    ax.plot([0, 1, 2], [2, 0, 1])
    ax.set_title(title)
    return fig


def test_save_figure_without_suffix_writes_a_png_and_an_svg_with_real_text(tmp_path):
    written = save_figure(small_figure("Cost after each step"), tmp_path / "curves")
    assert written == [tmp_path / "curves.png", tmp_path / "curves.svg"]
    assert (tmp_path / "curves.png").read_bytes().startswith(PNG_MAGIC)
    assert "Cost after each step" in svg_text(tmp_path / "curves.svg")
    assert sorted(os.listdir(tmp_path)) == ["curves.png", "curves.svg"]  # no temporary files


def test_save_figure_with_a_suffix_writes_that_file_only(tmp_path):
    assert save_figure(small_figure(), tmp_path / "a.svg") == [tmp_path / "a.svg"]
    assert save_figure(small_figure(), tmp_path / "b.PNG") == [tmp_path / "b.PNG"]
    assert save_figure(small_figure(), str(tmp_path / "c.pdf")) == [tmp_path / "c.pdf"]
    assert (tmp_path / "c.pdf").read_bytes().startswith(b"%PDF")
    assert save_figure(small_figure(), tmp_path / "d", formats=["svg"]) == [tmp_path / "d.svg"]
    assert save_figure(small_figure(), tmp_path / "e.png", formats="svg") == [tmp_path / "e.svg"]
    assert sorted(os.listdir(tmp_path)) == ["a.svg", "b.PNG", "c.pdf", "d.svg", "e.svg"]


def test_saving_the_same_figure_twice_gives_the_same_svg(tmp_path):
    fig = small_figure()
    save_figure(fig, tmp_path / "one.svg")
    save_figure(fig, tmp_path / "two.svg")
    assert (tmp_path / "one.svg").read_bytes() == (tmp_path / "two.svg").read_bytes()


def test_save_figure_errors_are_clear(tmp_path):
    fig = small_figure()
    with pytest.raises(ValueError, match=r"unknown file type '\.jpg'.*\.png, \.svg, \.pdf"):
        save_figure(fig, tmp_path / "x.jpg")
    with pytest.raises(ValueError, match="unknown figure format 'gif'"):
        save_figure(fig, tmp_path / "x", formats=["png", "gif"])
    with pytest.raises(ValueError, match="formats is empty"):
        save_figure(fig, tmp_path / "x", formats=[])
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save_figure(fig, tmp_path / "missing" / "x.png")
    (tmp_path / "file").write_text("")
    with pytest.raises(NotADirectoryError, match="is not a folder"):
        save_figure(fig, tmp_path / "file" / "x.png")
    (tmp_path / "folder.png").mkdir()
    with pytest.raises(IsADirectoryError, match="it is a folder"):
        save_figure(fig, tmp_path / "folder.png")
    with pytest.raises(TypeError, match="expects a matplotlib Figure, got str"):
        save_figure("not a figure", tmp_path / "x.png")
    with pytest.raises(TypeError, match="path must be a str or os.PathLike, got int"):
        save_figure(fig, 3)
    assert sorted(os.listdir(tmp_path)) == ["file", "folder.png"]


def test_a_failed_save_leaves_the_old_file_and_no_temporary_file(tmp_path, monkeypatch):
    target = tmp_path / "curves.png"
    target.write_bytes(b"old picture")
    fig = small_figure()

    def broken_savefig(fname, **kwargs):
        with open(fname, "wb") as f:
            f.write(b"half a pic")
        raise OSError("disk full")

    monkeypatch.setattr(fig, "savefig", broken_savefig)
    with pytest.raises(OSError, match="disk full"):
        save_figure(fig, target)
    assert target.read_bytes() == b"old picture"
    assert os.listdir(tmp_path) == ["curves.png"]


# --------------------------------------------------------------------------- training curves
def test_training_curves_show_the_history():
    h = history([0.9, 0.5, 0.2], [0.1, 0.6, 0.95], [0.12, 0.55, 0.9])
    fig = plot_training_curves(h)
    ax_cost, ax_acc = fig.axes
    (cost_line,) = ax_cost.get_lines()
    assert list(cost_line.get_xdata()) == [1, 2, 3]
    assert list(cost_line.get_ydata()) == [0.9, 0.5, 0.2]
    train_line, test_line = ax_acc.get_lines()
    np.testing.assert_allclose(train_line.get_ydata(), [10, 60, 95])
    np.testing.assert_allclose(test_line.get_ydata(), [12, 55, 90])
    assert [t.get_text() for t in ax_acc.get_legend().get_texts()] == ["training set", "test set"]
    assert fig._suptitle.get_text() == "Training: 3 epochs, final test accuracy 90.0%"
    assert ax_cost.get_xlabel() == "epoch" and "accuracy" in ax_acc.get_title().lower()


def test_training_curves_take_a_real_training_history(tmp_path):
    from tinygrad_lite import load_digits, subset, train

    data = subset(load_digits(), 40, 20)
    h = train(MLP(64, [6, 10], seed=1), data, epochs=2, verbose=False, progress=False)
    paths = save_figure(plot_training_curves(h, title="Two short epochs"), tmp_path / "t")
    assert "Two short epochs" in svg_text(paths[1])


@pytest.mark.parametrize("h, error, match", [
    (history([], [], []), ValueError, "empty"),
    (history([1.0, math.nan], [0.1, 0.2], [0.1, 0.2]), ValueError, "nan"),
    (object(), TypeError, "expects a History"),
])
def test_training_curves_reject_bad_histories(h, error, match):
    with pytest.raises(error, match=match):
        plot_training_curves(h)


def test_training_curves_reject_lists_of_different_lengths():
    class Fake:
        cost = [1.0, 0.5]
        train_accuracy = [0.1, 0.2]
        test_accuracy = [0.1]

    with pytest.raises(ValueError, match="2 costs, 2 train and 1 test"):
        plot_training_curves(Fake())


# --------------------------------------------------------------------------- cost curves
def test_plot_cost_draws_one_curve_or_several_on_their_own_x():
    fig = plot_cost([3.0, 2.0, 1.5], title="Gradient descent", xlabel="step")
    (line,) = fig.axes[0].get_lines()
    assert list(line.get_xdata()) == [1, 2, 3] and list(line.get_ydata()) == [3.0, 2.0, 1.5]
    assert fig.axes[0].get_legend() is None
    fig = plot_cost({"SGD": [2.0, 1.0, 0.5, 0.2], "GD": ([0, 40], [2.0, 1.8])}, logy=True)
    sgd, gd = fig.axes[0].get_lines()
    assert list(gd.get_xdata()) == [0, 40] and list(gd.get_ydata()) == [2.0, 1.8]
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["SGD", "GD"]
    assert fig.axes[0].get_yscale() == "log"


@pytest.mark.parametrize("costs, error, match", [
    ([], ValueError, "empty"),
    ({}, ValueError, "empty mapping"),
    ({"a": ([1, 2, 3], [1.0, 2.0])}, ValueError, "3 xs but 2 ys"),
    ([1.0, math.inf], ValueError, "nan or infinite"),
    ("123", TypeError, "sequence of numbers"),
    ([[1.0, 2.0]], ValueError, "1-D"),
    ({1: [1.0]}, TypeError, "labels must be str"),
])
def test_plot_cost_rejects_bad_curves(costs, error, match):
    with pytest.raises(error, match=match):
        plot_cost(costs)


# --------------------------------------------------------------------------- weights as images
def test_first_layer_weights_are_drawn_as_images_with_a_shared_scale():
    model = MLP(64, [16, 10], seed=3)
    fig = plot_first_layer_weights(model)
    tiles = [ax for ax in fig.axes if ax.images and ax.get_label() != "<colorbar>"]
    assert len(tiles) == 16
    top = max(abs(w.data) for n in model.layers[0].neurons for w in n.w)
    for j, ax in enumerate(tiles):
        image = ax.images[0]
        expected = np.array([w.data for w in model.layers[0].neurons[j].w]).reshape(8, 8)
        np.testing.assert_array_equal(image.get_array(), expected)
        assert image.get_clim() == (-top, top)
        assert ax.get_title() == f"neuron {j}"
    assert any(ax.get_label() == "<colorbar>" for ax in fig.axes)


def test_first_layer_weights_can_scale_each_tile_and_take_any_image_shape():
    model = MLP(12, [3, 2], seed=0)
    fig = plot_first_layer_weights(model, image_shape=(3, 4), shared_scale=False, ncols=2)
    tiles = [ax for ax in fig.axes if ax.images]
    assert len(tiles) == 3 and tiles[0].images[0].get_array().shape == (3, 4)
    for j, ax in enumerate(tiles):
        top = max(abs(w.data) for w in model.layers[0].neurons[j].w)
        assert ax.images[0].get_clim() == (-top, top)
    assert not any(ax.get_label() == "<colorbar>" for ax in fig.axes)
    assert len(fig.axes) == 4  # a 2×2 grid, the spare one switched off
    assert sum(ax.axison for ax in fig.axes) == 3


def test_first_layer_weights_errors():
    with pytest.raises(ValueError, match="12 pixels is not a square image; pass image_shape"):
        plot_first_layer_weights(MLP(12, [3], seed=0))
    with pytest.raises(ValueError, match="5×4 = 20 pixels, but there are 12"):
        plot_first_layer_weights(MLP(12, [3], seed=0), image_shape=(5, 4))
    with pytest.raises(TypeError, match="expects an MLP"):
        plot_first_layer_weights([1, 2, 3])


# --------------------------------------------------------------------------- digit grids
@given(st.integers(1, 12).flatmap(lambda n: st.tuples(
    st.lists(st.integers(0, 9), min_size=n, max_size=n),
    st.lists(st.integers(0, 9), min_size=n, max_size=n))))
def test_exactly_the_wrong_predictions_are_framed_in_red(labels_and_predictions):
    labels, predictions = labels_and_predictions
    n = len(labels)
    images = np.linspace(0, 1, n * 16).reshape(n, 16)
    fig = plot_digits(images, labels, np.array(predictions))
    tiles = [ax for ax in fig.axes if ax.axison]
    assert len(tiles) == n
    wrong = 0
    for i, ax in enumerate(tiles):
        np.testing.assert_array_equal(ax.images[0].get_array(), images[i].reshape(4, 4))
        red = matplotlib.colors.same_color(ax.spines["top"].get_edgecolor(), MISTAKE)
        if labels[i] == predictions[i]:
            assert ax.get_title() == str(labels[i]) and not red
        else:
            wrong += 1
            assert ax.get_title() == f"{predictions[i]} (is {labels[i]})" and red
            assert matplotlib.colors.same_color(ax.title.get_color(), MISTAKE)
    assert f": {wrong} wrong" in fig._suptitle.get_text()


def test_digits_with_labels_only_and_three_dimensional_images(tmp_path):
    images = np.zeros((3, 5, 7))
    images[:, 2, 3] = 1.0
    fig = plot_digits(images, [4, 0, 9], ncols=2)
    tiles = [ax for ax in fig.axes if ax.axison]
    assert [ax.get_title() for ax in tiles] == ["4", "0", "9"]
    assert tiles[0].images[0].get_array().shape == (5, 7)
    assert fig._suptitle.get_text() == "3 digit images with their labels"
    svg = svg_text(save_figure(fig, tmp_path / "d.svg")[0])
    assert "3 digit images with their labels" in svg
    fig = plot_digits(np.zeros(64), title="one image")  # a single flat image
    assert len([ax for ax in fig.axes if ax.axison]) == 1


@pytest.mark.parametrize("kwargs, error, match", [
    ({"predictions": [1, 2]}, ValueError, "need labels"),
    ({"labels": [1, 2, 3]}, ValueError, "3 labels for 2 images"),
    ({"labels": [1, 2], "predictions": [1]}, ValueError, "1 predictions for 2 images"),
    ({"labels": [1.0, 2]}, TypeError, r"labels\[0\] must be an int, got float"),
    ({"labels": "12"}, TypeError, "labels must be a sequence of ints"),
    ({"image_shape": (4, 4)}, ValueError, "4×4 = 16 pixels, but there are 64"),
])
def test_digit_grid_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        plot_digits(np.zeros((2, 64)), **kwargs)


def test_digit_grid_rejects_bad_images():
    with pytest.raises(ValueError, match="not a square image"):
        plot_digits(np.zeros((2, 10)))
    with pytest.raises(ValueError, match="nan or infinite"):
        plot_digits(np.full((1, 4), np.nan))
    with pytest.raises(ValueError, match="empty"):
        plot_digits(np.zeros((0, 4)))
    with pytest.raises(TypeError, match="array of images"):
        plot_digits(42)
    with pytest.raises(ValueError, match=r"shape \(n, pixels\) or \(n, rows, columns\)"):
        plot_digits(np.zeros((1, 2, 2, 2)))


# --------------------------------------------------------------------------- activations
def test_activation_curves_are_the_engines_values_and_derivatives():
    fig = plot_activations(("sigmoid", "relu", "tanh"), lo=-2.0, hi=2.0, points=41)
    assert [ax.get_title() for ax in fig.axes] == ["sigmoid", "relu", "tanh"]
    for ax, name in zip(fig.axes, ("sigmoid", "relu", "tanh")):
        value, slope = ax.get_lines()[:2]
        xs = value.get_xdata()
        assert len(xs) == 41 and xs[0] == -2.0 and xs[-1] == 2.0
        for x, y, d in zip(xs, value.get_ydata(), slope.get_ydata()):
            h = 1e-6
            numeric = (getattr(Value(x + h), name)().data
                       - getattr(Value(x - h), name)().data) / (2 * h)
            assert y == getattr(Value(float(x)), name)().data
            if x != 0.0 or name != "relu":  # relu has no derivative at 0; the engine says 0
                assert abs(d - numeric) < 1e-6
    relu_slope = fig.axes[1].get_lines()[1]
    assert relu_slope.get_ydata()[20] == 0.0  # x = 0: derivative 0, as in PyTorch


@pytest.mark.parametrize("kwargs, match", [
    ({"names": ("sigmoid", "softmax")}, "unknown activation 'softmax'"),
    ({"names": ()}, "names is empty"),
    ({"lo": 1.0, "hi": 1.0}, "lo < hi"),
    ({"lo": -math.inf}, "lo < hi"),
    ({"points": 1}, "at least 2"),
])
def test_activation_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot_activations(**kwargs)


def test_training_curves_start_at_the_untrained_network():
    from tinygrad_lite import load_digits, subset, train

    data = subset(load_digits(), 40, 20)
    h = train(MLP(64, [6, 10], seed=1), data, epochs=2, verbose=False, progress=False)
    fig = plot_training_curves(h)
    cost_line = fig.axes[0].lines[0]
    assert list(cost_line.get_xdata()) == [0, 1, 2]
    assert list(cost_line.get_ydata()) == [h.initial.cost, *h.cost]
    assert "Training: 2 epochs" in fig._suptitle.get_text()


def test_training_curves_of_a_regression_say_there_is_no_accuracy():
    from tinygrad_lite import train

    x = np.linspace(-1, 1, 8)
    h = train(MLP(1, [3, 1], seed=0), x, x ** 2, epochs=1, verbose=False, progress=False)
    with pytest.raises(ValueError, match="no accuracy to plot .* plot_cost"):
        plot_training_curves(h)
