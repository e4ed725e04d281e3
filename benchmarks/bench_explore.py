"""How big the explore pages are, how fast they are made, and how fast they start in a browser.

Prints, each against the target of issue 16 (met / not met):

* the **episode-4 page** (``explore(episode4_chain())``): its size, target ≤ 200 KB;
* the **network page** of 3Blue1Brown's 784 → 16 → 16 → 10 network on one 28×28 digit: its
  size, target ≤ 3 MB, and the time until its script has set it up (``data-ready``, measured
  by the page itself from the start of navigation) in headless Chromium, target ≤ 1 s;
* a **300-value graph** (the cost of a small MLP on one example): the time ``explore(cost)``
  takes to make the page, Graphviz layout included, target ≤ 2 s;
* the **training replay** with 20 snapshots of the 13,002 parameters: its size (a few MB).

Times are the fastest of ``--repeats`` runs (the machine is shared: the minimum is the least
disturbed). The browser timing needs Chromium, chromedriver and selenium; without them that
line says "not measured".

Usage::

    python benchmarks/bench_explore.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Optional

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
from _args import positive_int  # noqa: E402

from tinygrad_lite import MLP, History, Snapshot, load_dataset, quadratic_cost  # noqa: E402
from tinygrad_lite.engine import topological_order  # noqa: E402
from tinygrad_lite.explore import explore, explore_training  # noqa: E402
from tinygrad_lite.explore.browser import (  # noqa: E402
    chromium_driver,
    find_chromedriver,
    find_chromium,
)
from tinygrad_lite.train import EpochStats  # noqa: E402
from tinygrad_lite.viz import episode4_chain  # noqa: E402


def best_of(repeats: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    """(fastest time in seconds, the last result) of ``repeats`` calls."""
    best, result = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def graph_of_about(n_values: int) -> Any:
    """The quadratic cost of an MLP(8, [w, 4]) on one example, w chosen for ≥ n_values."""
    for width in range(2, 64):
        model = MLP(8, [width, 4], seed=0)
        cost = quadratic_cost(model([0.1 * i for i in range(8)]), 1)
        if len(topological_order(cost)) >= n_values:
            return cost
    raise AssertionError("no width gives that many values")  # pragma: no cover


def browser_ready_ms(page_path: Path, repeats: int) -> Optional[float]:
    """The page's own ``data-ready`` time (ms from navigation start), fastest of ``repeats``;
    None without selenium, Chromium or chromedriver."""
    if importlib.util.find_spec("selenium") is None:
        return None
    if find_chromium() is None or find_chromedriver() is None:
        return None
    with chromium_driver() as driver:
        times = []
        for _ in range(repeats):
            driver.get("about:blank")
            driver.get(page_path.resolve().as_uri())
            times.append(float(driver.execute_script(
                "return document.documentElement.getAttribute('data-ready')")))
        return min(times)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=positive_int, default=3,
                        help="runs per measurement (the fastest counts)")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-explore-pages-"))

    chain_page = explore(episode4_chain())
    kb = len(chain_page) / 1024
    print(f"episode-4 page: {kb:.0f} KB (target ≤ 200 KB: {verdict(kb <= 200)})")

    test = load_dataset("digits28").test
    model = MLP(784, [16, 16, 10], seed=0)
    seconds, net_page = best_of(args.repeats, lambda: explore(model, test.images[0],
                                                              int(test.labels[0])))
    mb = len(net_page) / 1e6
    print(f"784-16-16-10 network page: {mb:.2f} MB, made in {seconds:.2f} s "
          f"(target ≤ 3 MB: {verdict(mb <= 3)})")
    ready = browser_ready_ms(net_page.save(work / "network.html"), args.repeats)
    if ready is None:
        print("  interactive in headless Chromium: not measured (needs chromium, chromedriver, "
              "selenium)")
    else:
        print(f"  interactive in headless Chromium after {ready:.0f} ms "
              f"(target ≤ 1000 ms: {verdict(ready <= 1000)})")

    cost = graph_of_about(300)
    n_values = len(topological_order(cost))
    seconds, _ = best_of(args.repeats, lambda: explore(cost))
    print(f"graph page of {n_values} values made in {seconds:.2f} s, Graphviz layout included "
          f"(target ≤ 2 s: {verdict(seconds <= 2)})")

    rng = np.random.default_rng(0)
    history = History(epochs=[EpochStats(e, 1.0 / e, 0.9, 0.9, 1.0) for e in range(1, 20)])
    history.snapshots = [Snapshot(e, rng.normal(size=model.num_parameters()).astype("float32"))
                         for e in range(20)]
    replay = explore_training(history, model, test)
    print(f"training replay, 20 snapshots of {model.num_parameters():,} parameters: "
          f"{len(replay) / 1e6:.2f} MB (a few MB: {verdict(len(replay) <= 5e6)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
