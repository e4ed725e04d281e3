"""Node for node: the scalar engine's graph building and ``backward()`` against micrograd's.

The MLP benchmark (``bench_scalar.py``) gains most of its lead from the fused ``affine`` node;
this one measures the engine per node, on graphs both engines build the same way:

* **chain**: x₀ a leaf, xₖ₊₁ = xₖ + cₖ with a fresh leaf cₖ: n two-parent ``+`` nodes;
* **random**: n/4 leaves in [−1, 1], then n nodes, each ``a + b`` (40%), ``a * b`` (40%) or
  ``relu(a)`` (20%), with ``a`` one of the 16 newest entries and ``b`` any earlier one (a
  product that would exceed 1e6 in size becomes a sum, so every value stays finite); the
  recipe is drawn once with a seeded ``random.Random`` and replayed by both engines.

Building is timed from the first leaf to the last node and counted per node built (leaves are
part of the work, not of the count); ``backward()`` from the last node is counted per node it
reaches (``Value`` leaves excluded). Graphs of 1e3, 1e4 and 1e5 nodes; small graphs are built
several times per measurement, so every measurement covers ~1e5 nodes. Each setting runs
``--rounds`` times, interleaved, the two engines side by side in each round (in reverse order
every other round, each from a freshly collected heap); the table gives each engine's median
ns per node and, as the speed-up, the median over the rounds of the two engines' ratio in the
same round (the fastest round of each, as this script took before, put two moments of a
drifting machine side by side). Time is the process's CPU time.

Both with ``gc`` on (as users run it: micrograd's nodes are reference cycles, so the collector
has work) and off (the engines' own cost; garbage collected untimed afterwards).

Targets (issue 14): ``backward()`` ≥ 2× micrograd per node and building ≥ 2.5×, on every
graph; printed as met / not met for the worst graph, with ``gc`` on and off.

Usage::

    python benchmarks/bench_nodes.py [--rounds 7] [--quick]
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from _args import positive_int  # noqa: E402

from tinygrad_lite import Value  # noqa: E402

SIZES = (1_000, 10_000, 100_000)
ADD, MUL, RELU = 0, 1, 2
WINDOW = 16
BACKWARD_TARGET, BUILD_TARGET = 2.0, 2.5

Recipe = tuple[list[float], list[tuple[int, int, int]]]  # (leaf values, (op, a, b) per node)


def chain_recipe(n: int) -> Recipe:
    """x₀ = leaf 0; node k = (node k−1, or leaf 0) + leaf k+1."""
    leaves = [0.5 + 1e-6 * k for k in range(n + 1)]
    recipe = [(ADD, 0 if k == 0 else n + k, k + 1) for k in range(n)]
    return leaves, recipe


def random_recipe(n: int, seed: int = 0) -> Recipe:
    """A random expression graph of ``n`` nodes over ``n // 4`` leaves (see the module doc)."""
    rng = random.Random(seed)
    values = [rng.uniform(-1.0, 1.0) for _ in range(max(2, n // 4))]
    leaves = list(values)
    recipe = []
    for _ in range(n):
        m = len(values)
        a, b = rng.randrange(max(0, m - WINDOW), m), rng.randrange(m)
        r = rng.random()
        if r < 0.2:
            op, v = RELU, max(values[a], 0.0)
        elif r < 0.6 or abs(values[a] * values[b]) > 1e6:
            op, v = ADD, values[a] + values[b]
        else:
            op, v = MUL, values[a] * values[b]
        recipe.append((op, a, b))
        values.append(v)
    return leaves, recipe


def reached(recipe: Recipe) -> int:
    """How many nodes (not leaves) ``backward()`` from the last node reaches."""
    leaves, ops = recipe
    first, seen, stack = len(leaves), set(), [len(leaves) + len(ops) - 1]
    while stack:
        k = stack.pop()
        if k in seen or k < first:
            continue
        seen.add(k)
        op, a, b = ops[k - first]
        stack.append(a)
        if op != RELU:
            stack.append(b)
    return len(seen)


def build(value_type: Callable[[float], Any], recipe: Recipe) -> Any:
    """Replay ``recipe`` with ``value_type``; the last node."""
    leaves, ops = recipe
    nodes = [value_type(x) for x in leaves]
    append = nodes.append
    for op, a, b in ops:
        if op == ADD:
            append(nodes[a] + nodes[b])
        elif op == MUL:
            append(nodes[a] * nodes[b])
        else:
            append(nodes[a].relu())
    return nodes[-1]


def engines() -> dict[str, Callable[[float], Any]]:
    """The ``Value`` classes to compare: tinygrad_lite's, and micrograd's if installed."""
    found: dict[str, Callable[[float], Any]] = {"tinygrad_lite": Value}
    try:
        from micrograd.engine import Value as MicroValue  # type: ignore[import-not-found]
    except ImportError:
        print("micrograd: not installed (pip install micrograd==0.1.0); its columns are empty")
    else:
        found["micrograd"] = MicroValue
        sys.setrecursionlimit(max(sys.getrecursionlimit(), 1_000_000))  # its recursive sort
    return found


def check_same_gradients(found: dict[str, Callable[[float], Any]]) -> None:
    """Both engines give the same leaf gradients on a small random graph (or raise)."""
    leaves, ops = random_recipe(300, seed=1)
    grads = []
    for value_type in found.values():
        nodes = [value_type(x) for x in leaves]
        for op, a, b in ops:
            nodes.append(nodes[a] + nodes[b] if op == ADD else nodes[a] * nodes[b]
                         if op == MUL else nodes[a].relu())
        nodes[-1].backward()
        grads.append([v.grad for v in nodes[:len(leaves)]])
    for other in grads[1:]:
        worst = max(abs(x - y) / max(abs(x), 1.0) for x, y in zip(grads[0], other))
        if worst > 1e-9:
            raise AssertionError(f"the engines' gradients differ by {worst:.3g}")


def measure(value_type: Callable[[float], Any], recipe: Recipe, reps: int,
            gc_off: bool) -> tuple[float, float]:
    """CPU seconds of (building, backward) ``reps`` graphs from ``recipe``."""
    built, back = 0.0, 0.0
    for _ in range(reps):
        if gc_off:
            gc.disable()
        try:
            t0 = time.process_time()
            root = build(value_type, recipe)
            t1 = time.process_time()
            root.backward()
            t2 = time.process_time()
        finally:
            gc.enable()
        built, back = built + t1 - t0, back + t2 - t1
        del root
        if gc_off:
            gc.collect()
    return built, back


Rounds = dict[tuple[str, int, str, str], list[tuple[float, float]]]


def run(found: dict[str, Callable[[float], Any]], sizes: tuple[int, ...],
        rounds: int) -> Rounds:
    """(kind, n, gc, engine) → (build, backward) ns per node of each interleaved round.

    In each round each setting runs both engines one after the other (in reverse order every
    other round), each from a heap just collected, untimed, so neither pays for the other's
    garbage.
    """
    recipes = {(kind, n): (chain_recipe(n) if kind == "chain" else random_recipe(n))
               for kind in ("chain", "random") for n in sizes}
    counts = {key: (len(r[1]), reached(r)) for key, r in recipes.items()}
    results: Rounds = {}
    for r in range(rounds):
        for (kind, n), recipe in recipes.items():
            reps = max(1, 100_000 // n)
            for mode in ("on", "off"):
                names = list(found) if r % 2 == 0 else list(found)[::-1]
                for name in names:
                    gc.collect()
                    built, back = measure(found[name], recipe, reps, gc_off=mode == "off")
                    nodes, reach = counts[(kind, n)]
                    ns = (1e9 * built / (reps * nodes), 1e9 * back / (reps * reach))
                    results.setdefault((kind, n, mode, name), []).append(ns)
    return results


def _median_ns(results: Rounds, key: tuple[str, int, str, str], which: int) -> float | None:
    rounds = results.get(key)
    return None if rounds is None else statistics.median(ns[which] for ns in rounds)


def _ratio(results: Rounds, kind: str, n: int, mode: str, which: int) -> float | None:
    """micrograd's ns ÷ ours, the median over the rounds of the two measured side by side."""
    ours = results.get((kind, n, mode, "tinygrad_lite"))
    theirs = results.get((kind, n, mode, "micrograd"))
    if ours is None or theirs is None:
        return None
    return statistics.median(t[which] / o[which] for o, t in zip(ours, theirs))


def print_table(results: Rounds, sizes: tuple[int, ...]) -> None:
    """A Markdown table of ns per node and the speed-up over micrograd."""
    print("| graph | nodes | gc | build ns/node: tinygrad_lite | micrograd | speed-up "
          "| backward ns/node: tinygrad_lite | micrograd | speed-up |")
    print("| --- | ---: | --- |" + " ---: |" * 6)
    for kind in ("chain", "random"):
        for n in sizes:
            for mode in ("on", "off"):
                cells = []
                for which in (0, 1):
                    ours = _median_ns(results, (kind, n, mode, "tinygrad_lite"), which)
                    theirs = _median_ns(results, (kind, n, mode, "micrograd"), which)
                    r = _ratio(results, kind, n, mode, which)
                    cells += [f"{ours:,.0f}", "—" if theirs is None else f"{theirs:,.0f}",
                              "—" if r is None else f"{r:.2f}×"]
                print(f"| {kind} | {n:,} | {mode} | " + " | ".join(cells) + " |")


def print_targets(results: Rounds, sizes: tuple[int, ...]) -> None:
    """The worst graph's speed-up against each target, with gc on and off."""
    for which, what, limit in ((1, "backward()", BACKWARD_TARGET), (0, "building", BUILD_TARGET)):
        for mode in ("on", "off"):
            ratios = {(k, n): _ratio(results, k, n, mode, which)
                      for k in ("chain", "random") for n in sizes}
            label = f"{what} ≥ {limit:g}× micrograd per node on every graph, gc {mode}"
            if any(r is None for r in ratios.values()):
                print(f"target: {label:<62} not measured (micrograd missing)")
                continue
            (kind, n), worst = min(ratios.items(), key=lambda item: item[1])
            print(f"target: {label:<62} worst {worst:5.2f}× ({kind}, {n:,})  "
                  f"{'met' if worst >= limit else 'not met'}")


def main(argv: list[str] | None = None) -> int:
    """Measure and print the table and the targets."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=positive_int, default=7,
                        help="interleaved rounds; the medians of each setting count")
    parser.add_argument("--quick", action="store_true", help="1 round, graphs up to 1e4 nodes")
    args = parser.parse_args(argv)
    sizes = SIZES[:2] if args.quick else SIZES
    rounds = 1 if args.quick else args.rounds
    found = engines()
    check_same_gradients(found)
    print(f"Python {sys.version.split()[0]}; ns per node, CPU time, median of {rounds} "
          "interleaved rounds; speed-up: median of the rounds' ratios; the engines' leaf "
          "gradients agree on a test graph")
    results = run(found, sizes, rounds)
    print()
    print_table(results, sizes)
    print()
    print_targets(results, sizes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
