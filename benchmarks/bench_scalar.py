"""Training throughput of the scalar engine on 3Blue1Brown's 784 → 16 → 16 → 10 network.

Measures examples/second of one SGD step per example (forward, quadratic cost, backward,
update) for three implementations, in the same run, and prints the ratios:

* **tinygrad_lite**: ``MLP(784, [16, 16, 10])`` (sigmoid) built from ``Value``s;
* **micrograd 0.1.0** (Karpathy's engine, ``pip install micrograd==0.1.0``): its own
  ``MLP(784, [16, 16, 10])``, which uses ReLU on the hidden layers and a *linear* output
  layer (not sigmoid), with the same squared-error cost. The activation differs, the size of
  the graph does not, so the comparison is fair. Skipped with a message if not installed;
* **plain float loops**: the same sigmoid network and quadratic cost written with Python
  floats and hand-derived backpropagation, no graph at all: the ceiling for any pure-Python
  scalar engine.

Targets: tinygrad_lite ≥ 100× micrograd and ≥ 1/4 of the float-loop ceiling.
Also reports the peak memory of one step (``resource.getrusage`` in a fresh process, plus the
``tracemalloc`` peak of the step itself).

Usage::

    python benchmarks/bench_scalar.py [--seconds 3] [--rounds 3] [--micrograd-seconds 3]
                                      [--no-micrograd]

The implementations run in ``--rounds`` alternating rounds (each its ``seconds / rounds``);
the best round of each is reported (n counts all rounds), so load from other processes hits
all of them alike instead of skewing a ratio.
"""

from __future__ import annotations

import argparse
import math
import operator
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from _args import positive_float, positive_int  # noqa: E402

from tinygrad_lite.losses import quadratic_cost  # noqa: E402
from tinygrad_lite.nn import MLP  # noqa: E402
from tinygrad_lite.optim import SGD  # noqa: E402

SIZES = [784, 16, 16, 10]
LR = 0.1


def _examples(n: int = 64, seed: int = 0) -> list[tuple[list[float], int]]:
    """Digit-like inputs: the embedded digits in the 28×28 layout (random pixels as fallback)."""
    try:
        from tinygrad_lite.data import load_digits

        split = load_digits(28)
        return list(zip(split.train.images[:n].tolist(), split.train.labels[:n].tolist()))
    except Exception:  # pragma: no cover - data module unavailable
        rng = random.Random(seed)
        return [([rng.random() for _ in range(784)], rng.randrange(10)) for _ in range(n)]


def _measure(step: Callable[[list[float], int], None], examples: list, seconds: float,
             warmup: int = 2) -> tuple[float, int]:
    """(examples per second, examples run) of ``step`` over at least ``seconds``."""
    for i in range(warmup):
        step(*examples[i % len(examples)])
    n = 0
    t0 = time.perf_counter()
    while True:
        step(*examples[n % len(examples)])
        n += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds:
            return n / elapsed, n


# --------------------------------------------------------------------------- #
# the three implementations
# --------------------------------------------------------------------------- #
def tinygrad_lite_step() -> Callable[[list[float], int], None]:
    model = MLP(784, SIZES[1:], seed=0)
    opt = SGD(model.parameters(), lr=LR)

    def step(x: list[float], label: int) -> None:
        opt.zero_grad()
        quadratic_cost(model(x), label).backward()
        opt.step()

    return step


def micrograd_step() -> Callable[[list[float], int], None]:
    import micrograd.nn  # type: ignore[import-not-found]

    random.seed(0)
    model = micrograd.nn.MLP(784, SIZES[1:])
    params = model.parameters()
    # micrograd's recursive topological sort goes ~1,600 frames deep on this network.
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20_000))

    def step(x: list[float], label: int) -> None:
        out = model(x)
        loss = sum((o - (1.0 if j == label else 0.0)) ** 2 for j, o in enumerate(out))
        model.zero_grad()
        loss.backward()
        for p in params:
            p.data -= LR * p.grad

    return step


def float_loop_step() -> Callable[[list[float], int], None]:
    rng = random.Random(0)
    layers = []
    for nin, nout in zip(SIZES, SIZES[1:]):
        bound = 1.0 / math.sqrt(nin)
        layers.append(([[rng.uniform(-bound, bound) for _ in range(nin)] for _ in range(nout)],
                       [rng.uniform(-bound, bound) for _ in range(nout)]))
    mul, exp = operator.mul, math.exp

    def sigmoid(z: float) -> float:
        return 1.0 / (1.0 + exp(-z)) if z >= 0.0 else exp(z) / (1.0 + exp(z))

    def step(x: list[float], label: int) -> None:
        acts = [x]
        a = x
        for w, b in layers:
            a = [sigmoid(sum(map(mul, row, a), bj)) for row, bj in zip(w, b)]
            acts.append(a)
        # δ^(L) = 2(a − y)·σ'(z), with σ'(z) = a(1 − a)
        delta = [2.0 * (o - (1.0 if j == label else 0.0)) * o * (1.0 - o)
                 for j, o in enumerate(a)]
        for li in range(len(layers) - 1, -1, -1):
            w, b = layers[li]
            a_prev = acts[li]
            if li > 0:  # δ^(l−1) = σ'(z^(l−1)) ⊙ Wᵀ δ^(l), with W before its update
                back = [sum(map(mul, col, delta)) for col in zip(*w)]
                next_delta = [ap * (1.0 - ap) * s for ap, s in zip(a_prev, back)]
            for j, d in enumerate(delta):
                k = LR * d
                w[j] = [wi - k * ai for wi, ai in zip(w[j], a_prev)]
                b[j] -= k
            if li > 0:
                delta = next_delta

    return step


# --------------------------------------------------------------------------- #
# memory of one step, in a fresh process
# --------------------------------------------------------------------------- #
def _memory_child() -> None:
    import resource
    import tracemalloc

    scale = 1024 if sys.platform != "darwin" else 1024 * 1024  # ru_maxrss: KiB (bytes on macOS)
    rng = random.Random(0)
    x = [rng.random() for _ in range(784)]
    step = tinygrad_lite_step()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale
    step(x, 3)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale
    tracemalloc.start()
    step(x, 3)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{before:.4f} {after:.4f} {peak / 2**20:.4f}")


def _memory() -> tuple[float, float, float] | None:
    try:
        out = subprocess.run([sys.executable, __file__, "--memory-child"], capture_output=True,
                             text=True, check=True, timeout=120).stdout.split()
        return float(out[0]), float(out[1]), float(out[2])
    except (subprocess.SubprocessError, OSError, ValueError, IndexError) as exc:
        print(f"(memory measurement failed: {exc})")
        return None


# --------------------------------------------------------------------------- #
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--seconds", type=positive_float, default=3.0,
                        help="measuring time for tinygrad_lite and the float loops (default 3)")
    parser.add_argument("--micrograd-seconds", type=positive_float, default=3.0,
                        help="measuring time for micrograd, ~1.7 examples/s (default 3)")
    parser.add_argument("--rounds", type=positive_int, default=3,
                        help="alternating rounds of every implementation; the best round of "
                             "each counts (default 3)")
    parser.add_argument("--no-micrograd", action="store_true", help="skip micrograd")
    parser.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        _memory_child()
        return 0

    examples = _examples()
    print(f"network {' → '.join(map(str, SIZES))}, one example per SGD step "
          f"(forward + quadratic cost + backward + update), Python {sys.version.split()[0]}")
    results: dict[str, tuple[float, int]] = {}
    # Alternate short rounds and keep each one's best, so that load from other processes
    # hits every implementation alike instead of skewing a ratio.
    steps = {"tinygrad_lite": tinygrad_lite_step(), "float loops": float_loop_step()}
    seconds = {"tinygrad_lite": args.seconds, "float loops": args.seconds,
               "micrograd": args.micrograd_seconds}
    if args.no_micrograd:
        print("micrograd: skipped (--no-micrograd)")
    else:
        try:
            steps["micrograd"] = micrograd_step()
        except ImportError:
            print("micrograd: not installed, skipped (pip install micrograd==0.1.0)")
    for _ in range(args.rounds):
        for key, step in steps.items():
            warmup = 0 if key in results else (1 if key == "micrograd" else 2)
            rate, n = _measure(step, examples, seconds[key] / args.rounds, warmup=warmup)
            best, total = results.get(key, (0.0, 0))
            results[key] = (max(best, rate), total + n)

    ours = results["tinygrad_lite"][0]
    labels = {
        "tinygrad_lite": "tinygrad_lite (Value graph, sigmoid)",
        "micrograd": "micrograd 0.1.0 (ReLU, linear output)",
        "float loops": "plain float loops (no graph, sigmoid)",
    }
    print()
    print(f"{'implementation':<40} {'examples/s':>11} {'n':>6} {'tinygrad_lite is':>18}")
    print("-" * 78)
    for key in ("tinygrad_lite", "micrograd", "float loops"):
        if key not in results:
            continue
        rate, n = results[key]
        ratio = "" if key == "tinygrad_lite" else f"{ours / rate:.3g}× this"
        print(f"{labels[key]:<40} {rate:>11.1f} {n:>6} {ratio:>18}")
    print()
    if "micrograd" in results:
        r = ours / results["micrograd"][0]
        print(f"target ≥ 100× micrograd:       {r:8.1f}×  {'met' if r >= 100 else 'NOT met'}")
    r = ours / results["float loops"][0]
    print(f"target ≥ 1/4 of float loops:   {r:8.3f}   {'met' if r >= 0.25 else 'NOT met'}")

    mem = _memory()
    if mem is not None:
        before, after, peak = mem
        print(f"peak RSS (getrusage), fresh process: {before:.2f} MiB with the model built, "
              f"{after:.2f} MiB after one step (+{1024 * (after - before):.0f} KiB); "
              f"tracemalloc peak of one step: {peak:.2f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
