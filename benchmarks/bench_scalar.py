"""Training throughput of the scalar engine on 3Blue1Brown's 784 → 16 → 16 → 10 network.

Measures examples/second of one SGD step per example (forward, quadratic cost, backward,
update) for three implementations, in the same run, and prints the ratios:

* **tinygrad_lite**: ``MLP(784, [16, 16, 10])`` (sigmoid) built from ``Value`` objects.
  Its first layer skips the weights of the pixels that are exactly 0 (64% of these digits'
  pixels), whose terms are 0; the row **without zero pixels** trains the same network on the
  same digits with every 0 pixel set to 0.01, which shows the engine's speed without that
  skip;
* **micrograd 0.1.0** (Karpathy's engine, ``pip install micrograd==0.1.0``): its own
  ``MLP(784, [16, 16, 10])``, which uses ReLU on the hidden layers and a *linear* output
  layer (not sigmoid), with the same squared-error cost. The activation differs, the size of
  the graph does not, so the comparison is fair. Skipped with a message if not installed;
* **plain float loops**: the same sigmoid network and quadratic cost written with Python
  floats and hand-derived backpropagation, no graph at all: the ceiling for any pure-Python
  scalar engine.

Python's cycle collector matters: every micrograd node is a reference cycle (its
``_backward`` closure holds the node), so with ``gc`` on (as users run it) the collector
scans the graph again and again, and how often depends on how many objects the process holds.
So tinygrad_lite and micrograd are measured both with ``gc`` on and with ``gc.disable()``
(collected untimed between chunks of a few steps, so memory stays bounded), and each ratio
compares like with like.

Targets: tinygrad_lite ≥ 100× micrograd with ``gc`` on, ≥ 30× with ``gc`` off, and ≥ 0.30×
the float loops (``gc`` on). Also reports the peak memory of one step (``resource.getrusage``
in a fresh process, plus the ``tracemalloc`` peak of the step itself).

Usage::

    python benchmarks/bench_scalar.py [--seconds 4] [--micrograd-seconds 10] [--rounds 15]
                                      [--no-micrograd] [--quick]

The rows with ``gc`` on run first, then those with it off. Within each group the rows run in
``--rounds`` interleaved rounds, each row for ``seconds / rounds`` in each (at least one step;
with ``gc`` off, whole chunks of 4 steps), in reverse order every other round, and each row's
rate counts all its rounds: the machine's speed drifts over seconds, and rows measured at
different moments (the best round of each, as this script did before) gave ratios ±30% apart
between runs of the same code. micrograd's own step varies more: with ``gc`` on the same step
takes 0.18 to 0.6 s, by how much the collector has seen, so its rate rests on every step it
ran. Time is the process's CPU time (``time.process_time``), which does not count what other
processes take from the core.
"""

from __future__ import annotations

import argparse
import gc
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


def _slice(step: Callable[[list[float], int], None], examples: list, seconds: float,
           start: int, gc_off: bool, chunk: int = 4) -> tuple[float, int]:
    """(CPU seconds, steps) of running ``step`` for at least ``seconds`` (one step at least),
    on the examples from index ``start`` on.

    With ``gc_off`` the collector is disabled while timing, and the garbage is collected
    untimed after every ``chunk`` steps (micrograd leaks ~25 MB a step without it).
    """
    n, elapsed = 0, 0.0
    was_enabled = gc.isenabled()
    try:
        while elapsed < seconds:
            if gc_off:
                gc.disable()
            t0 = time.process_time()
            for _ in range(chunk if gc_off else 1):
                step(*examples[(start + n) % len(examples)])
                n += 1
            elapsed += time.process_time() - t0
            if gc_off:
                gc.enable()
                gc.collect()
    finally:
        if was_enabled:
            gc.enable()
    return elapsed, n


# --------------------------------------------------------------------------- #
# the three implementations
# --------------------------------------------------------------------------- #
def without_zero_pixels(step: Callable[[list[float], int], None],
                        examples: list) -> Callable[[list[float], int], None]:
    """``step`` on each example with its 0 pixels set to 0.01 (looked up by the example)."""
    dense = {id(x): [p if p else 0.01 for p in x] for x, _ in examples}

    def dense_step(x: list[float], label: int) -> None:
        step(dense[id(x)], label)

    return dense_step


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

    def peak_mib() -> float:
        # ru_maxrss can carry the parent's peak over fork + exec; VmHWM (Linux) does not
        rusage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale
        try:
            with open("/proc/self/status", encoding="ascii") as status:
                hwm = [int(line.split()[1]) / 1024 for line in status
                       if line.startswith("VmHWM:")]
        except OSError:
            hwm = []
        return min([rusage, *hwm])

    rng = random.Random(0)
    x = [rng.random() for _ in range(784)]
    step = tinygrad_lite_step()
    before = peak_mib()
    step(x, 3)
    after = peak_mib()
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
LABELS = {
    "tinygrad_lite": "tinygrad_lite (Value graph, sigmoid), gc on",
    "tinygrad_lite dense": "tinygrad_lite without zero pixels (0 → 0.01), gc on",
    "tinygrad_lite gc off": "tinygrad_lite, gc off",
    "micrograd": "micrograd 0.1.0 (ReLU, linear output), gc on",
    "micrograd gc off": "micrograd 0.1.0, gc off",
    "float loops": "plain float loops (no graph, sigmoid), gc on",
}


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--seconds", type=positive_float, default=4.0,
                        help="CPU seconds in all per row for tinygrad_lite and the float loops")
    parser.add_argument("--micrograd-seconds", type=positive_float, default=10.0,
                        help="CPU seconds in all per micrograd row (~2-25 steps/s)")
    parser.add_argument("--rounds", type=positive_int, default=15,
                        help="interleaved rounds; each row runs seconds/rounds in each")
    parser.add_argument("--no-micrograd", action="store_true", help="skip micrograd")
    parser.add_argument("--quick", action="store_true", help="3 short rounds, about 10 s in all")
    parser.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.micrograd_seconds, args.rounds = 1.0, 1.5, 3
    return args


def _rows(args: argparse.Namespace, examples: list) -> dict[
        str, tuple[Callable[[list[float], int], None], float, bool]]:
    """name → (step, seconds, gc off?) of every row to measure."""
    ours, loops = tinygrad_lite_step(), float_loop_step()
    dense = without_zero_pixels(tinygrad_lite_step(), examples)
    rows = {"tinygrad_lite": (ours, args.seconds, False),
            "tinygrad_lite dense": (dense, args.seconds, False),
            "tinygrad_lite gc off": (ours, args.seconds, True),
            "float loops": (loops, args.seconds, False)}
    if args.no_micrograd:
        print("micrograd: skipped (--no-micrograd)")
        return rows
    try:
        micro = micrograd_step()
    except ImportError:
        print("micrograd: not installed, skipped (pip install micrograd==0.1.0)")
        return rows
    rows["micrograd"] = (micro, args.micrograd_seconds, False)
    rows["micrograd gc off"] = (micro, args.micrograd_seconds, True)
    return rows


Results = dict[str, list[tuple[float, int]]]  # row → (CPU seconds, steps) of each round


def _run_rounds(rows: dict, examples: list, rounds: int) -> Results:
    """The rows with ``gc`` on, then those with it off, each group in ``rounds`` rounds of a
    short slice per row (in reverse order every other round), so that the rows compared ran
    interleaved, seconds apart, on the same machine.

    The groups run apart because a ``gc``-off row collects after every few steps, which would
    reset the collector's history that a ``gc``-on micrograd step's cost depends on (the same
    step takes 0.18 to 0.6 s by how much the collector has seen).
    """
    for step, _, _ in rows.values():  # warm-up, untimed
        step(*examples[0])
    results: Results = {key: [] for key in rows}
    for gc_off in (False, True):
        keys = [key for key, (_, _, off) in rows.items() if off is gc_off]
        for r in range(rounds):
            for key in (keys if r % 2 == 0 else keys[::-1]):
                step, seconds, _ = rows[key]
                results[key].append(_slice(step, examples, seconds / rounds,
                                           sum(n for _, n in results[key]), gc_off))
    return results


def rate(slices: list[tuple[float, int]]) -> float:
    """Examples per CPU second over all of a row's slices."""
    return sum(n for _, n in slices) / sum(t for t, _ in slices)


def _print_results(results: Results) -> None:
    print("| implementation | examples/s | n | tinygrad_lite (same gc) is |")
    print("| --- | ---: | ---: | ---: |")
    for key, label in LABELS.items():
        if key not in results:
            continue
        ours = "tinygrad_lite gc off" if key.endswith("gc off") else "tinygrad_lite"
        ratio = ("—" if key.startswith("tinygrad_lite")
                 else f"{rate(results[ours]) / rate(results[key]):.3g}× this")
        n = sum(steps for _, steps in results[key])
        print(f"| {label} | {rate(results[key]):,.1f} | {n} | {ratio} |")
    print()
    for key, ours_key, limit, what in (
            ("micrograd", "tinygrad_lite", 100.0, "micrograd, gc on"),
            ("micrograd gc off", "tinygrad_lite gc off", 30.0, "micrograd, gc off"),
            ("float loops", "tinygrad_lite", 0.30, "the float loops")):
        if key not in results:
            print(f"target: ≥ {limit:g}× {what}: not measured")
            continue
        r = rate(results[ours_key]) / rate(results[key])
        print(f"target: ≥ {limit:g}× {what:<20} {r:8.3g}×  {'met' if r >= limit else 'not met'}")
    dense = results.get("tinygrad_lite dense")
    if dense:
        others = [f"{rate(dense) / rate(results[key]):.3g}× {what}" for key, what in
                  (("micrograd", "micrograd (gc on)"), ("float loops", "the float loops"))
                  if key in results]
        print(f"without zero pixels (no pixel skipped): {', '.join(others)}; "
              f"{rate(results['tinygrad_lite']) / rate(dense):.2f}× faster with them")


def main(argv: list[str] | None = None) -> int:
    """Measure every row, print the table, the targets and the memory of one step."""
    args = _parse(argv)
    if args.memory_child:
        _memory_child()
        return 0
    examples = _examples()
    print(f"network {' → '.join(map(str, SIZES))}, one example per SGD step "
          f"(forward + quadratic cost + backward + update), Python {sys.version.split()[0]}, "
          f"CPU time, {args.rounds} interleaved rounds per gc setting")
    results = _run_rounds(_rows(args, examples), examples, args.rounds)
    print()
    _print_results(results)
    mem = _memory()
    if mem is not None:
        before, after, peak = mem
        print(f"peak RSS (getrusage), fresh process: {before:.2f} MiB with the model built, "
              f"{after:.2f} MiB after one step (+{1024 * (after - before):.0f} KiB); "
              f"tracemalloc peak of one step: {peak:.2f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
