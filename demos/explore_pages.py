"""Watch it happen: the interactive explore pages, and screenshots of them for the guide.

Trains the 64-16-16-10 digit network while recording snapshots, then writes four pages, each
one self-contained HTML file to open in a browser (no network, no server):

* ``explore_episode4.html`` — episode 4's chain, stepped forward and backward;
* ``explore_graph.html`` — the graph of one sigmoid neuron's cost, a value used twice;
* ``explore_network.html`` — the trained network on a test digit: forward, backward, nudge;
* ``explore_training.html`` — a replay of the training run with an epoch slider;

and, when Chromium is installed, screenshots of them made by headless Chromium:
``explore_episode4.png`` (a backward step), ``explore_episode4_paths.png`` (a weight
clicked: its paths), ``explore_graph.png``, ``explore_network.png`` (backward, with a hidden
neuron's weight tiles), ``explore_network_nudge.png`` and ``explore_training.png``.

Run:  python demos/explore_pages.py [--out DIR] [--quick]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, Callable

from tinygrad_lite import (
    MLP,
    Value,
    explore,
    explore_training,
    load_digits,
    predict,
    subset,
    train,
)
from tinygrad_lite.explore.browser import find_chromium, screenshot
from tinygrad_lite.viz import GraphvizUnavailable, episode4_chain

sys.path.insert(0, str(Path(__file__).resolve().parent))  # demos/ is no package: find _common.py
import _common  # noqa: E402  (the demos' shared plumbing: options, output folder, graph files)

#: The chain's numbers, as in chapter 4.
VALUES = {"w(L)": 0.8, "a(L-1)": 0.6, "b(L)": -0.2, "y": 1.0}
#: Snapshots kept while training.
RECORD = 20

#: Each screenshot: (file, page, URL fragment: the state to show, window height).
SCREENSHOTS = [
    ("explore_episode4.png", "explore_episode4.html", "step=6", 520),
    ("explore_episode4_paths.png", "explore_episode4.html", "step=10&select=n1", 520),
    ("explore_graph.png", "explore_graph.html", "step=14", 520),
    ("explore_network.png", "explore_network.html", "step=5&neuron=n0_3", 760),
    ("explore_network_nudge.png", "explore_network.html", "step=6&nudge=1", 760),
    ("explore_training.png", "explore_training.html", "snapshot=3&digit=0", 760),
]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = _common.argument_parser(
        "Write the interactive explore pages (episode-4 chain, a neuron's graph, the trained "
        "network, a training replay) and screenshots of them.", out="out/explore")
    parser.add_argument("--quick", action="store_true",
                        help="train on 300 digits for 2 epochs (a few seconds), for tests")
    return _common.parse_args(parser, argv)


def write_explore_pages(model: Any, history: Any, test: Any, out: Path) -> list[Path]:
    """The episode-4, network and training pages of a trained ``model`` into ``out``.

    ``history`` should come from ``train(..., record=N)`` (without snapshots the training
    page is left out); ``test`` is the test set. The network page shows the first test digit
    the model gets wrong (a nudge has something to fix there), or the first one if it gets
    them all right. Returns the paths written.
    """
    written = save_graph_page(lambda: explore(episode4_chain(values=VALUES)),
                              out / "explore_episode4.html")
    guesses = predict(model, test.images[:500])
    wrong = [i for i, (g, y) in enumerate(zip(guesses, test.labels[:500])) if g != y]
    i = wrong[0] if wrong else 0
    written.append(explore(model, test.images[i], int(test.labels[i]),
                           image_shape=test.image_shape).save(out / "explore_network.html"))
    if history.snapshots:
        written.append(explore_training(history, model, test).save(
            out / "explore_training.html"))
    return written


def save_graph_page(make: Callable[[], Any], path: Path) -> list[Path]:
    """``[make().save(path)]``, or ``[]`` with a ``(skipped ...)`` line when no Graphviz can
    lay the graph out."""
    try:
        return [make().save(path)]
    except GraphvizUnavailable as exc:
        print(f"  (skipped {path.name}: {exc})")
        return []


def neuron_cost() -> Value:
    """One sigmoid neuron and its quadratic cost; x feeds two places (w·x and the penalty x²)."""
    x = Value(0.6, label="x")
    w = Value(0.8, label="w")
    b = Value(-0.2, label="b")
    a = (w * x + b).sigmoid()
    a.label = "a"
    cost = (a - 1.0) ** 2 + 0.1 * x * x
    cost.label = "C"
    return cost


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out = _common.prepare_output(__file__, args.out)
    start = time.perf_counter()
    split, epochs = load_digits(), 15
    if args.quick:
        split, epochs = subset(split, 300, 100), 2
    model = MLP(64, [16, 16, 10], seed=0)
    history = train(model, split, epochs=epochs, record=RECORD, verbose=False, progress=False)
    print(f"trained {model} for {epochs} epochs: test accuracy "
          f"{100 * history.test_accuracy[-1]:.1f}%, {len(history.snapshots)} snapshots")
    written = write_explore_pages(model, history, split.test, out)
    written += save_graph_page(lambda: explore(neuron_cost()), out / "explore_graph.html")
    if find_chromium() is None:
        print("(no screenshots: Chromium is not installed; apt-get install chromium)")
    else:
        for png, page, fragment, height in SCREENSHOTS:
            if (out / page) in written:
                written.append(screenshot(out / page, out / png, fragment=fragment,
                                          size=(1400, height)))
    _common.report_written(written, out, start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
