"""Episode 4, "Backpropagation calculus": the chain rule on w⁽ᴸ⁾ → z⁽ᴸ⁾ → a⁽ᴸ⁾ → C₀, checked.

Builds the episode's chain with real Values (w⁽ᴸ⁾ = 0.8, a⁽ᴸ⁻¹⁾ = 0.6, b⁽ᴸ⁾ = −0.2, y = 1) and
computes ∂C₀/∂w⁽ᴸ⁾ three ways — ``backward()``, the closed form a⁽ᴸ⁻¹⁾ σ'(z⁽ᴸ⁾) 2(a⁽ᴸ⁾ − y)
and a central finite difference — then one layer further back, and ∂C/∂w⁽ᴸ⁾ over several
training examples as the mean of the per-example derivatives. Draws:

* ``episode4_chain.svg`` — the chain, every edge labelled with its chain-rule factor;
* ``episode4_chain_depth2.svg`` — one more layer: w⁽ᴸ⁻¹⁾ → z⁽ᴸ⁻¹⁾ → a⁽ᴸ⁻¹⁾ → z⁽ᴸ⁾ ...;
* ``episode4_chain_wide.svg`` — two neurons per layer: ∂C₀/∂a₀⁽ᴸ⁻¹⁾ sums over paths;
* (each also as ``.png`` when Graphviz ``dot`` is installed)
* ``episode4_slope.png/.svg`` — C₀ as a function of w⁽ᴸ⁾ alone, and the tangent whose slope is
  ∂C₀/∂w⁽ᴸ⁾.

Run:  python demos/episode4_chain_rule.py [--out DIR]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

from tinygrad_lite import Value
from tinygrad_lite.plots import new_figure, save_figure
from tinygrad_lite.viz import episode4_chain

sys.path.insert(0, str(Path(__file__).resolve().parent))  # demos/ is no package: find _common.py
import _common  # noqa: E402  (the demos' shared plumbing: options, output folder, graph files)

#: The numbers of the chain (the same as the README's first example).
VALUES = {"w(L)": 0.8, "a(L-1)": 0.6, "b(L)": -0.2, "y": 1.0}
#: One more layer back: a(L-2) → w(L-1), b(L-1) → z(L-1) → a(L-1).
VALUES_DEPTH2 = {"a(L-2)": 0.9, "w(L-1)": 0.5, "b(L-1)": 0.1, "w(L)": 0.8, "b(L)": -0.2,
                 "y": 1.0}
#: Several training examples (a⁽ᴸ⁻¹⁾ₖ, yₖ) sharing w⁽ᴸ⁾ and b⁽ᴸ⁾.
EXAMPLES = [(0.6, 1.0), (0.2, 0.0), (0.9, 1.0), (0.4, 0.0)]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = _common.argument_parser(
        "Episode 4: the chain rule on the episode's chain, checked by backward(), the closed "
        "form and finite differences. Writes four pictures.", out="out/episode4")
    parser.add_argument("--quick", action="store_true",
                        help="accepted for symmetry with the other demos (this one takes a "
                             "second or two either way)")
    return _common.parse_args(parser, argv)


def chain_cost(values: dict[str, float], depth: int = 1) -> float:
    """C₀ of the chain with these leaf values (for finite differences)."""
    _, named = episode4_chain(depth, values=values)
    return named["C0"].data


def central_difference(values: dict[str, float], key: str, depth: int = 1,
                       h: float = 1e-6) -> float:
    up = chain_cost({**values, key: values[key] + h}, depth)
    down = chain_cost({**values, key: values[key] - h}, depth)
    return (up - down) / (2 * h)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out = _common.prepare_output(__file__, args.out)  # exits at once if matplotlib is missing
    start = time.perf_counter()

    # 1. The chain w, a(L-1), b -> z = w·a(L-1) + b -> a = σ(z) -> C₀ = (a − y)², three ways.
    graph, named = episode4_chain(values=VALUES)
    w, a_prev, b, z, a, y, cost = (named[k] for k in
                                   ("w(L)", "a(L-1)", "b(L)", "z(L)", "a(L)", "y", "C0"))
    sigma_prime = a.data * (1 - a.data)
    print(f"\nz(L) = w(L)·a(L-1) + b(L) = {w.data}·{a_prev.data} + ({b.data}) = {z.data:.4f}")
    print(f"a(L) = σ(z(L)) = {a.data:.6f},  C₀ = (a(L) − y)² = {cost.data:.6f}")
    checks = [
        ("∂C₀/∂w(L)", w.grad, a_prev.data * sigma_prime * 2 * (a.data - y.data),
         "a(L-1)·σ'(z)·2(a − y)", central_difference(VALUES, "w(L)")),
        ("∂C₀/∂b(L)", b.grad, sigma_prime * 2 * (a.data - y.data),
         "1·σ'(z)·2(a − y)", central_difference(VALUES, "b(L)")),
        ("∂C₀/∂a(L-1)", a_prev.grad, w.data * sigma_prime * 2 * (a.data - y.data),
         "w(L)·σ'(z)·2(a − y)", central_difference(VALUES, "a(L-1)")),
    ]
    print(f"\n  {'':12s}  {'backward()':13s}   {'closed form':36s}   finite difference")
    for name, by_backward, closed, formula, by_fd in checks:
        print(f"  {name:12s}  {by_backward:+.10f}   {formula:22s} {closed:+.10f}   {by_fd:+.10f}")
        assert abs(by_backward - closed) < 1e-12 and abs(by_backward - by_fd) < 1e-8
    written = _common.save_graph_files(graph, out / "episode4_chain")

    # 2. One layer further back: the chain rule just gets longer.
    graph2, named2 = episode4_chain(2, values=VALUES_DEPTH2)
    a2, z1, a1 = named2["a(L-2)"], named2["z(L-1)"], named2["a(L-1)"]
    aL = named2["a(L)"]
    closed = (a2.data * a1.data * (1 - a1.data) * named2["w(L)"].data
              * aL.data * (1 - aL.data) * 2 * (aL.data - 1.0))
    by_backward = named2["w(L-1)"].grad
    by_fd = central_difference(VALUES_DEPTH2, "w(L-1)", depth=2)
    print(f"\nOne layer back: ∂C₀/∂w(L-1) = a(L-2)·σ'(z(L-1))·w(L)·σ'(z(L))·2(a(L) − y)\n"
          f"  backward() {by_backward:+.10f}   closed form {closed:+.10f}   "
          f"finite difference {by_fd:+.10f}")
    assert abs(by_backward - closed) < 1e-12 and abs(by_backward - by_fd) < 1e-8
    assert z1.data == named2["w(L-1)"].data * a2.data + named2["b(L-1)"].data
    written += _common.save_graph_files(graph2, out / "episode4_chain_depth2")
    wide, _ = episode4_chain(1, widths=[2, 2], seed=1)
    written += _common.save_graph_files(wide, out / "episode4_chain_wide")

    # 3. Over n training examples C = (1/n) Σₖ C₀ₖ, so ∂C/∂w is the mean of the ∂C₀ₖ/∂w.
    w_shared, b_shared = Value(VALUES["w(L)"], "w"), Value(VALUES["b(L)"], "b")
    costs = [((w_shared * ak + b_shared).sigmoid() - yk) ** 2 for ak, yk in EXAMPLES]
    mean_cost = Value.sum(costs) * (1 / len(EXAMPLES))
    mean_cost.backward()
    per_example = []
    for ak, yk in EXAMPLES:
        s = 1 / (1 + math.exp(-(VALUES["w(L)"] * ak + VALUES["b(L)"])))
        per_example.append(ak * s * (1 - s) * 2 * (s - yk))
    print(f"\nOver {len(EXAMPLES)} examples: ∂C₀ₖ/∂w = "
          + ", ".join(f"{g:+.6f}" for g in per_example)
          + f"\n  mean {sum(per_example) / len(per_example):+.10f};  "
            f"backward() of C = (1/n) Σ C₀ₖ gives {w_shared.grad:+.10f}")
    assert abs(w_shared.grad - sum(per_example) / len(per_example)) < 1e-12

    # 4. Picture: the derivative is the slope of C₀ as w(L) alone changes.
    ws = np.linspace(-4.0, 6.0, 201)
    zs = ws * a_prev.data + b.data
    fig, ax = new_figure(figsize=(7, 4))
    ax.plot(ws, (1 / (1 + np.exp(-zs)) - y.data) ** 2, color="#1f77b4", lw=2,
            label="C₀(w) = (σ(w·a⁽ᴸ⁻¹⁾ + b) − y)²")
    near = np.abs(ws - w.data) <= 1.5
    ax.plot(ws[near], cost.data + w.grad * (ws[near] - w.data), color="#e8590c", lw=2,
            label=f"tangent: slope ∂C₀/∂w⁽ᴸ⁾ = {w.grad:.4f}")
    ax.plot([w.data], [cost.data], "o", color="#e8590c")
    ax.annotate(f"w⁽ᴸ⁾ = {w.data}, C₀ = {cost.data:.4f}", (w.data, cost.data),
                textcoords="offset points", xytext=(10, 10))
    ax.set_xlabel("w⁽ᴸ⁾ (a⁽ᴸ⁻¹⁾, b⁽ᴸ⁾ and y held fixed)")
    ax.set_ylabel("C₀")
    ax.set_ylim(bottom=0)
    ax.set_title("∂C₀/∂w⁽ᴸ⁾ is the slope of the cost as that one weight changes")
    ax.grid(alpha=0.3)
    ax.legend()
    written += save_figure(fig, out / "episode4_slope")

    _common.report_written(written, out, start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
