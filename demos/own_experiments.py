"""Your own experiments: XOR with one sigmoid output, and a 1-D regression, in a few lines each.

Trains ``MLP(2, [2, 1])`` on the four XOR points from plain lists, and ``MLP(1, [16, 1])``
(tanh, linear output) on y = sin(x) from NumPy arrays, both with ``train(net, X, y)``. Draws:

* ``xor_learned.png/.svg`` — the network's output over the plane with the four points, and the
  cost from the untrained network (epoch 0) on;
* ``xor_network.svg`` (and ``.png`` when Graphviz ``dot`` is installed) — the trained network
  looking at the input (1, 0);
* ``regression_fit.png/.svg`` — the data, the untrained and the trained network's curve, and
  the training and validation cost.

Run:  python demos/own_experiments.py [--out DIR] [--quick]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from tinygrad_lite import MLP, History, draw_network, no_grad, predict, train
from tinygrad_lite.plots import new_figure, save_figure

sys.path.insert(0, str(Path(__file__).resolve().parent))  # demos/ is no package: find _common.py
import _common  # noqa: E402  (the demos' shared plumbing: options, output folder, graph files)

XOR_X = [[0, 0], [0, 1], [1, 0], [1, 1]]
XOR_Y = [0, 1, 1, 0]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = _common.argument_parser(
        "Your own experiments: XOR and a 1-D regression trained from plain arrays. Writes "
        "three pictures.", out="out/own")
    parser.add_argument("--quick", action="store_true",
                        help="a run of a few seconds: fewer epochs")
    return _common.parse_args(parser, argv)


def outputs(net: MLP, xs: np.ndarray) -> np.ndarray:
    """The single output of ``net`` for each row of ``xs``."""
    with no_grad():
        return np.array([net(x)[0].data for x in xs.tolist()])


def cost_panel(ax: Any, history: History, title: str) -> None:
    epochs = [p.epoch for p in history.points]
    ax.plot(epochs, [p.cost for p in history.points], color="#444444", label="training cost")
    if history.points[0].test_cost is not None:
        ax.plot(epochs, [p.test_cost for p in history.points], color="#d62728",
                linestyle="--", label="validation cost")
    ax.set_xlabel("epoch (0 = untrained)")
    ax.set_ylabel("mean cost C")
    ax.set_yscale("log")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()


def xor_figure(net: MLP, history: History) -> Any:
    grid = np.linspace(-0.25, 1.25, 61)
    plane = np.array([[a, b] for b in grid for a in grid])
    fig, (ax_map, ax_cost) = new_figure(1, 2, figsize=(10, 4))
    image = ax_map.imshow(outputs(net, plane).reshape(len(grid), len(grid)), origin="lower",
                          extent=(-0.25, 1.25, -0.25, 1.25), cmap="coolwarm", vmin=0, vmax=1)
    ax_map.contour(grid, grid, outputs(net, plane).reshape(len(grid), len(grid)), levels=[0.5],
                   colors="black", linewidths=1)
    for (a, b), label in zip(XOR_X, XOR_Y):
        ax_map.scatter([a], [b], s=160, c="white" if label else "black", edgecolors="black",
                       zorder=3)
        ax_map.annotate(f"y = {label}", (a, b), xytext=(8, 8), textcoords="offset points")
    fig.colorbar(image, ax=ax_map, label="output a (black line: a = 0.5)")
    ax_map.set_xlabel("input 1")
    ax_map.set_ylabel("input 2")
    ax_map.set_title("XOR learned: the output over the plane")
    cost_panel(ax_cost, history, "Cost from the untrained network on")
    fig.suptitle(f"MLP(2 → 2 → 1) on XOR: {len(history)} epochs, predictions "
                 f"{predict(net, XOR_X).tolist()}")
    return fig


def regression_figure(untrained: MLP, net: MLP, x: np.ndarray, history: History) -> Any:
    fine = np.linspace(x.min(), x.max(), 200).reshape(-1, 1)
    fig, (ax_fit, ax_cost) = new_figure(1, 2, figsize=(10, 4))
    ax_fit.scatter(x, np.sin(x), s=18, color="#444444", label="data: y = sin(x)", zorder=3)
    ax_fit.plot(fine[:, 0], outputs(untrained, fine), color="#999999", linestyle=":",
                label="untrained network")
    ax_fit.plot(fine[:, 0], outputs(net, fine), color="#1f77b4", label="trained network")
    ax_fit.set_xlabel("x")
    ax_fit.set_ylabel("y")
    ax_fit.set_title("A 1-D regression: the fitted curve")
    ax_fit.grid(alpha=0.3)
    ax_fit.legend()
    cost_panel(ax_cost, history, "Training and validation cost")
    fig.suptitle(f"MLP(1 → 16 → 1, tanh, linear output): {len(history)} epochs")
    return fig


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    out = _common.prepare_output(__file__, args.out)

    # XOR: four points, labels 0/1, one sigmoid output classified by a 0.5 threshold.
    net = MLP(2, [2, 1], seed=0)
    xor = train(net, XOR_X, XOR_Y, epochs=200 if args.quick else 1000, batch_size=4, lr=5.0,
                verbose=False, progress=False)
    print(f"XOR: {xor!r}\n  predictions {predict(net, XOR_X).tolist()} for targets {XOR_Y}")
    written = save_figure(xor_figure(net, xor), out / "xor_learned")
    written += _common.save_graph_files(draw_network(net, [1, 0]), out / "xor_network")

    # A regression: real-valued targets, no accuracy; a validation set between the points.
    x = np.linspace(-3, 3, 40)
    fit = MLP(1, [16, 1], "tanh", output_activation="linear", seed=0)
    untrained = MLP(1, [16, 1], "tanh", output_activation="linear", seed=0)
    sine = train(fit, x, np.sin(x), validation=(x + 0.075, np.sin(x + 0.075)),
                 epochs=100 if args.quick else 600, batch_size=4, lr=0.005, momentum=0.9,
                 engine="compiled", verbose=False, progress=False)
    print(f"sin(x): {sine!r}")
    written += save_figure(regression_figure(untrained, fit, x, sine), out / "regression_fit")

    _common.report_written(written, out, start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
