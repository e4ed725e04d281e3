"""Derivatives of derivatives: gradients as graphs, Newton's method, a Hessian, forward mode.

Uses ``grad(..., create_graph=True)``, whose result is an ordinary ``Value`` graph (built from
the op table's derivatives, σ' = s·(1 − s) and so on), to go one order further than episode 4:

* ``derivatives_grad_graph.svg`` — the graph of ∂C₀/∂w⁽ᴸ⁾ for episode 4's chain: the
  backpropagation of the chain rule, drawn (also ``.png`` when Graphviz ``dot`` is installed);
* ``derivatives_newton_vs_gd.png/.svg`` — Newton's method (step f'/f'') against gradient
  descent on f(x) = eˣ − 2x, and how many steps each takes;
* ``derivatives_hessian.png/.svg`` — C₀(w, b) around episode 4's point with the directions
  of its Hessian: one curved, one perfectly flat, and the learning rate the curvature allows;
* ``derivatives_modes.png/.svg`` — forward mode (one pass per input) against reverse mode
  (one pass per output) on ``MLP(784, [16, 16, 10])``, measured.

Run:  python demos/derivatives.py [--out DIR] [--quick]
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from pathlib import Path

import numpy as np

from tinygrad_lite import MLP, Value, draw_graph, grad, hessian, jvp_graph
from tinygrad_lite.losses import one_hot, quadratic_cost
from tinygrad_lite.plots import new_figure, save_figure

sys.path.insert(0, str(Path(__file__).resolve().parent))  # demos/ is no package: find _common.py
import _common  # noqa: E402  (the demos' shared plumbing: options, output folder, graph files)

#: Episode 4's chain: w⁽ᴸ⁾, a⁽ᴸ⁻¹⁾, b⁽ᴸ⁾ and the target y.
W, A, B, Y = 0.8, 0.6, -0.2, 1.0
X0 = 2.5  # where both minimisers of f(x) = eˣ − 2x start
GD_RATE = 0.3
TOLERANCE = 1e-10  # stop when |f'(x)| is below this


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = _common.argument_parser(
        "Derivatives of derivatives: the graph of a gradient, Newton's method against "
        "gradient descent, the Hessian of episode 4's cost, forward against reverse mode. "
        "Writes four pictures.", out="out/derivatives")
    parser.add_argument("--quick", action="store_true",
                        help="time fewer forward-mode passes (the counts are extrapolated)")
    return _common.parse_args(parser, argv)


def chain_cost(w: Value, b: Value) -> Value:
    """C₀ = (σ(w·a + b) − y)² with episode 4's a and y."""
    z = w * A + b
    z.label = "z"
    s = z.sigmoid()
    s.label = "s"
    cost = (s - Y) ** 2
    cost.label = "C₀"
    return cost


def draw_gradient_graph(out: Path) -> list[Path]:
    w, b = Value(W, label="w"), Value(B, label="b")
    (dw,) = grad(chain_cost(w, b), [w], create_graph=True)
    s = 1 / (1 + math.exp(-(W * A + B)))
    print(f"∂C₀/∂w as a graph: {dw.data:.6f}  (closed form a·s(1 − s)·2(s − y) = "
          f"{A * s * (1 - s) * 2 * (s - Y):.6f})")
    assert abs(dw.data - A * s * (1 - s) * 2 * (s - Y)) < 1e-12
    return _common.save_graph_files(draw_graph(dw), out / "derivatives_grad_graph")


# ----------------------------------------------------------------------------- Newton vs GD
def f(x: Value) -> Value:
    """f(x) = eˣ − 2x, smallest at x = ln 2."""
    return x.exp() - 2 * x


def slope_and_curvature(x: float) -> tuple[float, float]:
    """f'(x) and f''(x), the second from the graph of the first."""
    leaf = Value(x)
    (d1,) = grad(f(leaf), [leaf], create_graph=True)
    (d2,) = grad(d1, [leaf])
    return d1.data, d2


def minimise(newton: bool) -> list[float]:
    xs = [X0]
    while len(xs) < 500:
        d1, d2 = slope_and_curvature(xs[-1])
        if abs(d1) < TOLERANCE:
            break
        xs.append(xs[-1] - (d1 / d2 if newton else GD_RATE * d1))
    return xs


def plot_newton_vs_gd(out: Path) -> list[Path]:
    newton, descent = minimise(True), minimise(False)
    best = math.log(2)
    print(f"\nminimising f(x) = eˣ − 2x from x = {X0} to |f'(x)| < {TOLERANCE:g}:")
    print(f"  Newton's method (x ← x − f'/f''):          {len(newton) - 1:3d} steps, "
          f"x = {newton[-1]:.10f}")
    print(f"  gradient descent (x ← x − {GD_RATE}·f'):       {len(descent) - 1:3d} steps, "
          f"x = {descent[-1]:.10f}  (ln 2 = {best:.10f})")
    fig, (left, right) = new_figure(1, 2, figsize=(11, 4.2))
    grid = np.linspace(-0.3, 2.8, 200)
    left.plot(grid, np.exp(grid) - 2 * grid, color="#555555", lw=1.5, label="f(x) = eˣ − 2x")
    for xs, color, name in ((descent, "#1f77b4", f"gradient descent (rate {GD_RATE})"),
                            (newton, "#e8590c", "Newton's method")):
        pts = np.array(xs[:12])
        left.plot(pts, np.exp(pts) - 2 * pts, "o-", color=color, ms=4, lw=1, label=name)
        right.semilogy(range(len(xs)), [max(abs(x - best), 1e-16) for x in xs], "o-",
                       color=color, ms=3, label=f"{name}: {len(xs) - 1} steps")
    left.set_xlabel("x")
    left.set_ylabel("f(x)")
    left.set_title("The first steps of each")
    left.legend()
    right.set_xlabel("step")
    right.set_ylabel("|x − ln 2|")
    right.set_title(f"Steps to |f'(x)| < {TOLERANCE:g}")
    right.legend()
    for ax in (left, right):
        ax.grid(alpha=0.3)
    fig.suptitle("Newton's method divides the slope by the curvature f'' (from grad of grad)")
    return save_figure(fig, out / "derivatives_newton_vs_gd")


# ----------------------------------------------------------------------------- the Hessian
def plot_hessian(out: Path) -> list[Path]:
    h = np.array(hessian(lambda v: chain_cost(v[0], v[1]), [W, B]))
    eigenvalues, vectors = np.linalg.eigh(h)
    top = eigenvalues[-1]
    print(f"\nHessian of C₀(w, b) at w = {W}, b = {B} (a = {A}, y = {Y}):")
    for row in h:
        print("  [" + ", ".join(f"{x:+.6f}" for x in row) + "]")
    print(f"  eigenvalues {eigenvalues[0]:+.2e} and {top:.6f}: flat along "
          f"({vectors[0, 0]:+.3f}, {vectors[1, 0]:+.3f}), curved along "
          f"({vectors[0, 1]:+.3f}, {vectors[1, 1]:+.3f})")
    print(f"  gradient descent is stable along the curved direction for rates below "
          f"2/λ = {2 / top:.2f}")
    ws, bs = np.meshgrid(np.linspace(W - 3, W + 3, 121), np.linspace(B - 3, B + 3, 121))
    costs = (1 / (1 + np.exp(-(ws * A + bs))) - Y) ** 2
    fig, ax = new_figure(figsize=(6.5, 5.5))
    contours = ax.contour(ws, bs, costs, levels=14, cmap="viridis")
    ax.clabel(contours, fontsize=7, fmt="%.2f")
    for k, color, name, end in ((1, "#e8590c", f"curved: λ = {top:.3f}", 1),
                                (0, "#1c5fb4", "flat: λ = 0 (z = w·a + b unchanged)", -1)):
        dx, dy = vectors[:, k] * 1.4
        ax.annotate("", (W + dx, B + dy), (W - dx, B - dy),
                    arrowprops={"arrowstyle": "<->", "color": color, "lw": 2})
        ax.text(W + end * dx, B + end * dy + 0.15 * end, name, color=color, fontsize=9,
                va="top" if end < 0 else "bottom", ha="center" if end < 0 else "left")
    ax.plot([W], [B], "o", color="black")
    ax.set_xlabel("w⁽ᴸ⁾")
    ax.set_ylabel("b⁽ᴸ⁾")
    ax.set_title("C₀(w, b) and its Hessian's directions at (0.8, −0.2)")
    return save_figure(fig, out / "derivatives_hessian")


# ----------------------------------------------------------------------------- modes
def seconds_per_pass(run, passes: int) -> float:
    start = time.perf_counter()
    for k in range(passes):
        run(k)
    return (time.perf_counter() - start) / passes


def measure_modes(quick: bool) -> dict[str, tuple[int, float]]:
    """{task: (passes needed, seconds per pass)} for both modes on MLP(784, [16, 16, 10])."""
    net = MLP(784, [16, 16, 10], seed=0)
    params = net.parameters()
    rng = random.Random(0)
    pixels = [Value(rng.random()) for _ in range(784)]
    outputs = net(pixels)
    cost = quadratic_cost(outputs, one_hot(3))
    sample = 5 if quick else 40

    def unit(n: int, k: int) -> list[float]:
        return [1.0 if i == k else 0.0 for i in range(n)]

    reverse_param = seconds_per_pass(lambda k: cost.derivatives(params), 3)
    forward_param = seconds_per_pass(lambda k: jvp_graph(cost, params, unit(len(params), k)),
                                     sample)
    reverse_pixel = seconds_per_pass(lambda k: outputs[k].derivatives(pixels), 10)
    forward_pixel = seconds_per_pass(lambda k: jvp_graph(outputs, pixels, unit(784, k)), sample)
    # Both modes give the same numbers: a column of one against a row of the other.
    column = jvp_graph(outputs, pixels, unit(784, 7))
    assert all(abs(c - outputs[j].derivatives([pixels[7]])[0]) < 1e-12
               for j, c in enumerate(column))
    return {"∂C/∂(13,002 parameters)": ((len(params), forward_param), (1, reverse_param)),
            "Jacobian ∂(10 outputs)/∂(784 pixels)": ((784, forward_pixel), (10, reverse_pixel))}


def plot_modes(out: Path, quick: bool) -> list[Path]:
    results = measure_modes(quick)
    print("\nforward mode (one pass per input) against reverse mode (one pass per output), "
          "MLP(784, [16, 16, 10]):")
    fig, ax = new_figure(figsize=(8, 3.8))
    labels, forward_s, reverse_s, passes = [], [], [], []
    for task, ((nf, sf), (nr, sr)) in results.items():
        print(f"  {task}: forward {nf:,} passes × {sf * 1e3:.1f} ms = {nf * sf:.2f} s;  "
              f"reverse {nr} pass{'es' if nr > 1 else ''} × {sr * 1e3:.1f} ms = {nr * sr:.3f} s"
              f"  ({nf * sf / (nr * sr):,.0f}× less)")
        labels.append(task)
        forward_s.append(nf * sf)
        reverse_s.append(nr * sr)
        passes.append((nf, nr))
    y = np.arange(len(labels))
    for k, (nf, nr) in enumerate(passes):
        ax.text(forward_s[k], k + 0.2, f" {nf:,} passes", va="center", fontsize=8)
        ax.text(reverse_s[k], k - 0.2, f" {nr} pass{'es' if nr > 1 else ''}", va="center",
                fontsize=8)
    ax.barh(y + 0.2, forward_s, 0.4, color="#1f77b4", label="forward mode (jvp per input)")
    ax.barh(y - 0.2, reverse_s, 0.4, color="#e8590c", label="reverse mode (backward per output)")
    ax.set_yticks(y, labels)
    ax.set_xscale("log")
    ax.set_xlim(right=max(forward_s) * 30)
    ax.set_xlabel("seconds (measured per pass × passes needed, log scale)")
    ax.set_title("Many inputs, few outputs: reverse mode wins")
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3, axis="x")
    return save_figure(fig, out / "derivatives_modes")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out = _common.prepare_output(__file__, args.out)  # exits at once if matplotlib is missing
    start = time.perf_counter()
    written = draw_gradient_graph(out)
    written += plot_newton_vs_gd(out)
    written += plot_hessian(out)
    written += plot_modes(out, args.quick)
    _common.report_written(written, out, start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
