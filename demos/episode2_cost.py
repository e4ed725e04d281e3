"""Episode 2, "Gradient descent, how neural networks learn": the cost C and the step along −∇C.

Prints the quadratic cost C₀ = Σⱼ (aⱼ − yⱼ)² of one digit for an untrained 64 → 16 → 16 → 10
network, the average cost C over many digits, its gradient ∇C (1,482 numbers, one per weight and
bias), and what a step along −∇C does: C drops by about η·|∇C|², as calculus predicts. Then it
trains the network and draws:

* ``episode2_downhill.png/.svg`` — the cost along the line through the weights in the
  direction −∇C: downhill, with slope −|∇C| at the start;
* ``episode2_cost_curve.png/.svg`` — the cost after every gradient step of a training run.

Run:  python demos/episode2_cost.py [--out DIR] [--epochs N] [--quick]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

from tinygrad_lite import MLP, batch_cost, load_digits, no_grad, quadratic_cost, subset, train
from tinygrad_lite.plots import new_figure, plot_cost, save_figure
from tinygrad_lite.train import DEFAULTS

sys.path.insert(0, str(Path(__file__).resolve().parent))  # demos/ is no package: find _common.py
import _common  # noqa: E402  (the demos' shared plumbing: options, output folder, graph files)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = _common.argument_parser(
        "Episode 2: the cost function, its gradient, a step along −∇C, and a training run "
        "with its cost curve. Writes two pictures.", out="out/episode2")
    parser.add_argument("--epochs", type=int, default=5, help="epochs of the training run")
    parser.add_argument("--seed", type=int, default=0, help="seed of the weights and shuffling")
    parser.add_argument("--quick", action="store_true",
                        help="a run of a few seconds: fewer digits and one short epoch")
    return _common.parse_args(parser, argv, positive=["epochs"])


def cost_at(model: MLP, params, start: list[float], direction: list[float], t: float,
            xs, ys) -> float:
    """C at the weights start + t·direction (the model is left at ``start``)."""
    for p, s, d in zip(params, start, direction):
        p.data = s + t * d
    try:
        with no_grad():
            return batch_cost(model, xs, ys).data
    finally:
        for p, s in zip(params, start):
            p.data = s


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out = _common.prepare_output(__file__, args.out)  # exits at once if matplotlib is missing
    start_time = time.perf_counter()

    split = load_digits()  # 8×8 digits: 64 inputs
    model = MLP(64, [16, 16, 10], seed=args.seed)
    params = model.parameters()

    # 1. The cost of one example.
    x, label = split.train.images[0], int(split.train.labels[0])
    outputs = model(x)
    c0 = quadratic_cost(outputs, label)
    print(f"\nOne training digit, a {label}. The untrained {model}:")
    print("   j   output aⱼ   wanted yⱼ   (aⱼ − yⱼ)²")
    for j, a in enumerate(outputs):
        y = 1.0 if j == label else 0.0
        print(f"  {j:2d}    {a.data:.4f}      {y:.0f}          {(a.data - y) ** 2:.4f}")
    print(f"  C₀ = Σⱼ (aⱼ − yⱼ)² = {c0.data:.4f}")

    # 2. The average cost C over n digits, and its gradient.
    n = 50 if args.quick else 200
    xs, ys = split.train.images[:n], split.train.labels[:n]
    cost = batch_cost(model, xs, ys)
    model.zero_grad()
    cost.backward()
    grad = [p.grad for p in params]
    norm2 = math.fsum(g * g for g in grad)
    print(f"\nC = mean cost over {n} training digits = {cost.data:.4f}")
    print(f"∇C has {len(grad)} components (one per weight and bias); |∇C| = {math.sqrt(norm2):.4f}")

    # 3. One step along −∇C lowers C by about η|∇C|² (first-order Taylor); +∇C raises it.
    start = [p.data for p in params]
    print("\nStep every weight and bias by −η ∂C/∂w:")
    print("     η      C after the step   predicted C − η|∇C|²   step along +∇C instead")
    for eta in (0.01, 0.1, 1.0):
        down = cost_at(model, params, start, grad, -eta, xs, ys)
        up = cost_at(model, params, start, grad, +eta, xs, ys)
        print(f"  {eta:5.2f}      {down:.6f}           {cost.data - eta * norm2:.6f}"
              f"             {up:.6f}")
        assert down < cost.data < up

    # 4. Picture: the cost along the line through the weights in the direction −∇C.
    unit = [-g / math.sqrt(norm2) for g in grad]
    ts = np.linspace(-3.0, 3.0, 13 if args.quick else 25)
    along = [cost_at(model, params, start, unit, float(t), xs, ys) for t in ts]
    fig, ax = new_figure(figsize=(7, 4))
    ax.plot(ts, along, marker="o", markersize=3, color="#1f77b4",
            label="C(w − t·∇C/|∇C|): the cost along −∇C")
    near = np.abs(ts) <= 1.0
    ax.plot(ts[near], cost.data - math.sqrt(norm2) * ts[near], color="#d62728", lw=2,
            label=f"tangent at t = 0, slope −|∇C| = {-math.sqrt(norm2):.3f}")
    ax.axvline(0.0, color="#888888", lw=0.8)
    ax.set_xlabel(f"t: distance moved along −∇C (all {len(params):,} weights and biases at once)")
    ax.set_ylabel(f"mean cost C over {n} digits")
    ax.set_title("Moving against the gradient is the fastest way downhill")
    ax.grid(alpha=0.3)
    ax.legend()
    written = save_figure(fig, out / "episode2_downhill")

    # 5. A training run: one step down −∇C per mini-batch (chapter 3 says why mini-batches).
    data = subset(split, 300, 100) if args.quick else split
    epochs = 1 if args.quick else args.epochs
    steps: list[float] = []
    print(f"\nTraining on {len(data.train)} digits, {epochs} epoch(s) of mini-batches of "
          f"{DEFAULTS['batch_size']} (lr {DEFAULTS['lr']}):")
    model = MLP(64, [16, 16, 10], seed=args.seed)
    history = train(model, data, epochs=epochs, seed=args.seed, progress=False,
                    on_batch=lambda i, c: steps.append(c))
    per_epoch = len(steps) // epochs
    ends = [per_epoch * (e + 1) for e in range(epochs)]
    fig = plot_cost({"cost of the mini-batch at each step": steps,
                     "mean cost over the training set, after each epoch": (ends, history.cost)},
                    xlabel="gradient-descent step", ylabel="cost C",
                    title=f"Training: {len(steps)} steps, test accuracy "
                          f"{100 * history.test_accuracy[-1]:.1f}%")
    written += save_figure(fig, out / "episode2_cost_curve")
    print(f"final test accuracy: {100 * history.test_accuracy[-1]:.1f}%")

    _common.report_written(written, out, start_time)
    return 0


if __name__ == "__main__":
    sys.exit(main())
