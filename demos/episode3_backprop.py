"""Episode 3, "What is backpropagation really doing?": backprop, and SGD in mini-batches.

For one digit and an untrained 64 → 16 → 16 → 10 network, prints how strongly each output
neuron "wants" to change (−∂C₀/∂aⱼ), checks ``backward()`` against the textbook
backpropagation equations written with NumPy matrices, checks that a mini-batch's gradient is
the mean of its examples' gradients, and then races gradient descent (one step per pass over
the data) against stochastic gradient descent (one step per mini-batch of 10). Draws:

* ``episode3_backprop.svg`` (and ``.png`` when Graphviz ``dot`` is installed) — one box per
  neuron with its activation and ∂C₀/∂(activation) after ``backward()`` (draw_collapsed);
* ``episode3_sgd_vs_gd.png/.svg`` — the cost against the number of examples processed.

Run:  python demos/episode3_backprop.py [--out DIR] [--passes N] [--quick]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np

from tinygrad_lite import (
    MLP,
    SGD,
    batch_cost,
    evaluate,
    iterate_minibatches,
    load_digits,
    quadratic_cost,
    subset,
    to_arrays,
)
from tinygrad_lite.plots import plot_cost, save_figure
from tinygrad_lite.viz import draw_collapsed

sys.path.insert(0, str(Path(__file__).resolve().parent))  # demos/ is no package: find _common.py
import _common  # noqa: E402  (the demos' shared plumbing: options, output folder, graph files)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = _common.argument_parser(
        "Episode 3: backpropagation checked against the matrix equations, mini-batch "
        "gradients, and SGD against gradient descent. Writes two pictures.", out="out/episode3")
    parser.add_argument("--passes", type=int, default=10,
                        help="passes over the training digits in the SGD-vs-GD race")
    parser.add_argument("--seed", type=int, default=0, help="seed of the weights and shuffling")
    parser.add_argument("--quick", action="store_true",
                        help="a run of a few seconds: fewer digits and passes")
    return _common.parse_args(parser, argv, positive=["passes"])


def numpy_backprop(model: MLP, x: np.ndarray, label: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(∂C₀/∂W, ∂C₀/∂b) of every layer by the backpropagation equations, for a sigmoid MLP.

    δ⁽ᴸ⁾ = 2(a⁽ᴸ⁾ − y) ⊙ σ'(z⁽ᴸ⁾),  δ⁽ˡ⁾ = (W⁽ˡ⁺¹⁾)ᵀ δ⁽ˡ⁺¹⁾ ⊙ σ'(z⁽ˡ⁾),
    ∂C₀/∂W⁽ˡ⁾ = δ⁽ˡ⁾ (a⁽ˡ⁻¹⁾)ᵀ,  ∂C₀/∂b⁽ˡ⁾ = δ⁽ˡ⁾,  with σ'(z) = a(1 − a).
    """
    arrays = to_arrays(model)
    Ws = [W for W, _ in arrays]
    bs = [b for _, b in arrays]
    activations = [np.asarray(x, dtype=float)]
    for W, b in zip(Ws, bs):
        activations.append(1.0 / (1.0 + np.exp(-(W @ activations[-1] + b))))
    y = np.eye(Ws[-1].shape[0])[label]
    a = activations[-1]
    delta = 2.0 * (a - y) * a * (1.0 - a)
    grads = []
    for layer in range(len(Ws) - 1, -1, -1):
        grads.append((np.outer(delta, activations[layer]), delta))
        if layer:
            a_prev = activations[layer]
            delta = (Ws[layer].T @ delta) * a_prev * (1.0 - a_prev)
    return grads[::-1]


def engine_grads(model: MLP) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(np.array([[w.grad for w in n.w] for n in layer.neurons]),
             np.array([n.b.grad for n in layer.neurons])) for layer in model.layers]


def race(split, n: int, passes: int, seed: int, batch_size: int = 10,
         lr: float = 3.0) -> dict[str, tuple[list[int], list[float]]]:
    """Cost on the n training digits against examples processed, for GD and for SGD."""
    data = subset(split, n).train
    xs, ys = data.images.tolist(), data.labels.tolist()
    curves = {}
    for name, size in ((f"gradient descent: 1 step per pass over all {n} digits", n),
                       (f"stochastic gradient descent: 1 step per mini-batch of {batch_size}",
                        batch_size)):
        model = MLP(64, [16, 16, 10], seed=seed)
        opt = SGD(model.parameters(), lr=lr)
        rng = random.Random(seed)
        seen, points, costs = 0, [0], [evaluate(model, data)[0]]
        every = max(size, 100)
        for _ in range(passes):
            for batch in iterate_minibatches(n, size, rng):
                opt.zero_grad()
                batch_cost(model, [xs[k] for k in batch], [ys[k] for k in batch]).backward()
                opt.step()
                seen += len(batch)
                if seen % every == 0:
                    points.append(seen)
                    costs.append(evaluate(model, data)[0])
        curves[name] = (points, costs)
    return curves


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out = _common.prepare_output(__file__, args.out)  # exits at once if matplotlib is missing
    start = time.perf_counter()

    split = load_digits()
    model = MLP(64, [16, 16, 10], seed=args.seed)
    x, label = split.train.images[0], int(split.train.labels[0])

    # 1. One example: how each output wants to change, then backward() for every weight.
    outputs = model(x)
    cost = quadratic_cost(outputs, label)
    cost.backward()
    print(f"\nOne digit, a {label}: C₀ = {cost.data:.4f}. How each output neuron wants to change "
          "(−∂C₀/∂aⱼ = −2(aⱼ − yⱼ)):")
    for j, a in enumerate(outputs):
        arrow = "↑" if -a.grad > 0 else "↓"
        print(f"  output {j}: a = {a.data:.3f}  wants {arrow} {-a.grad:+.3f}"
              + ("   <- the right answer" if j == label else ""))

    # 2. backward() is the backpropagation equations, weight for weight.
    gap = max(float(np.max(np.abs(e - m)))
              for eng, mat in zip(engine_grads(model), numpy_backprop(model, x, label))
              for e, m in zip(eng, mat))
    print(f"\nbackward() vs the matrix equations δ(L) = 2(a − y)⊙σ'(z), "
          f"δ(l) = W(l+1)ᵀδ(l+1)⊙σ'(z(l)), ∂C₀/∂W(l) = δ(l) a(l−1)ᵀ:\n"
          f"  {len(model.parameters()):,} partial derivatives, largest difference {gap:.1e}")
    assert gap < 1e-12
    written = _common.save_graph_files(draw_collapsed(model, x, label), out / "episode3_backprop")

    # 3. A mini-batch's gradient is the mean of its examples' gradients.
    xs, ys = split.train.images[:10], split.train.labels[:10].tolist()
    params = model.parameters()
    mean = np.zeros(len(params))
    for xk, yk in zip(xs, ys):
        model.zero_grad()
        quadratic_cost(model(xk), yk).backward()
        mean += np.array([p.grad for p in params]) / len(ys)
    model.zero_grad()
    batch_cost(model, xs, ys).backward()
    gap = float(np.max(np.abs(np.array([p.grad for p in params]) - mean)))
    print(f"\n∇C of a mini-batch of {len(ys)} vs the mean of its {len(ys)} examples' ∇C₀: "
          f"largest difference {gap:.1e}")
    assert gap < 1e-12

    # 4. The race: the same number of examples processed, very different progress.
    n, passes = (100, 2) if args.quick else (300, args.passes)
    print(f"\nGradient descent vs SGD on {n} digits, {passes} passes each, learning rate 3:")
    curves = race(split, n, passes, args.seed)
    for name, (_, costs) in curves.items():
        print(f"  {name}: cost {costs[0]:.4f} -> {costs[-1]:.4f}")
    fig = plot_cost(curves, xlabel="examples processed (gradients computed)",
                    ylabel=f"mean cost C over the {n} training digits",
                    title="Same work, more steps: SGD goes downhill much sooner")
    written += save_figure(fig, out / "episode3_sgd_vs_gd")

    _common.report_written(written, out, start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
