"""Episode 1, "But what is a neural network?": neurons hold numbers, a layer is σ(W a + b).

Prints what one 28×28 digit looks like to the network (784 numbers), computes the first
hidden layer a⁽¹⁾ = σ(W a⁽⁰⁾ + b) with the engine and again with NumPy matrices, counts the
784 → 16 → 16 → 10 network's 13,002 parameters, and draws:

* ``episode1_digits.png/.svg`` — ten training digits, as the 28×28 grids the network reads;
* ``episode1_activations.png/.svg`` — sigmoid and ReLU with their derivatives;
* ``episode1_neuron_graph.svg`` — one neuron a = σ(w·x + b) and its cost as a computation
  graph with the legend of node shapes (draw_graph);
* ``episode1_network.svg`` (and ``.png`` when Graphviz ``dot`` is installed) — the untrained
  network lit up by one digit (draw_network); the neuron graph gets a ``.png`` likewise;
* ``episode1_network_8x8.svg`` (and ``.png``) — the same picture for an 8×8 digit, the
  64 → 16 → 16 → 10 network the 8×8 digits train.

Run:  python demos/episode1_neurons.py [--out DIR]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from tinygrad_lite import MLP, Layer, Value, load_digits
from tinygrad_lite.plots import plot_activations, plot_digits, save_figure
from tinygrad_lite.viz import draw_graph, draw_network

sys.path.insert(0, str(Path(__file__).resolve().parent))  # demos/ is no package: find _common.py
import _common  # noqa: E402  (the demos' shared plumbing: options, output folder, graph files)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = _common.argument_parser(
        "Episode 1: neurons, layers, sigmoid vs ReLU and the 784-16-16-10 network's 13,002 "
        "parameters. Writes five pictures.", out="out/episode1")
    parser.add_argument("--seed", type=int, default=0, help="seed of the network's weights")
    parser.add_argument("--quick", action="store_true",
                        help="accepted for symmetry with the other demos (this one takes a "
                             "second either way)")
    return _common.parse_args(parser, argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out = _common.prepare_output(__file__, args.out)  # exits at once if matplotlib is missing
    start = time.perf_counter()

    # 1. Neurons hold numbers: a 28×28 digit is 784 activations in [0, 1].
    split = load_digits(size=28)
    image, label = split.train.images[0], int(split.train.labels[0])
    print(f"\nA {split.train.image_shape[0]}×{split.train.image_shape[1]} image of a {label}: "
          f"{image.size} input neurons, each holding a brightness in [0, 1]; "
          f"{int(np.sum(image > 0))} of them are non-zero, the brightest is {image.max():.2f}.")

    # 2. One neuron: a = σ(w1·x1 + w2·x2 + w3·0.7 + b), its cost (a − 1)², and backward().
    ws = [Value(0.5, "w1"), Value(-1.0, "w2"), Value(2.0, "w3")]
    xs = [Value(0.9, "x1"), Value(0.3, "x2"), 0.7]  # a plain number is a constant input
    z = Value.affine(ws, xs, Value(0.2, "b"))
    z.label = "z"
    a = z.sigmoid()
    a.label = "a"
    neuron_cost = (a - 1.0) ** 2
    neuron_cost.label = "C"
    neuron_cost.backward()
    print(f"\nOne neuron: z = Σ wᵢxᵢ + b = {z.data:.4f}, a = σ(z) = {a.data:.4f}, "
          f"C = (a − 1)² = {neuron_cost.data:.5f}; ∂C/∂w1 = {ws[0].grad:.5f}")
    neuron_graph = draw_graph(neuron_cost, legend=True, edge_labels=True)

    # 3. A layer: a(1) = σ(W a(0) + b), with the engine and with NumPy matrices.
    layer = Layer(784, 16, seed=args.seed)
    a1 = [v.data for v in layer(image)]
    W = np.array([[w.data for w in n.w] for n in layer.neurons])  # 16 × 784
    b = np.array([n.b.data for n in layer.neurons])
    by_matrix = 1.0 / (1.0 + np.exp(-(W @ image + b)))
    gap = float(np.max(np.abs(by_matrix - a1)))
    print(f"\nFirst hidden layer a(1) = σ(W a(0) + b): W is {W.shape[0]}×{W.shape[1]}, "
          f"b has {b.size} entries.")
    print("  a(1) = [" + ", ".join(f"{v:.2f}" for v in a1) + "]")
    print(f"  engine vs NumPy matrix form: largest difference {gap:.1e}")
    assert gap < 1e-12

    # 4. The whole network and its parameters.
    net = MLP(784, [16, 16, 10], seed=args.seed)
    sizes = [784, 16, 16, 10]
    print(f"\n{net}")
    for i, layer_ in enumerate(net.layers, start=1):
        print(f"  layer {i}: {sizes[i]} neurons × {sizes[i - 1]} weights + {sizes[i]} biases "
              f"= {len(layer_.parameters()):,}")
    assert len(net.parameters()) == net.num_parameters() == 13_002
    outputs = [v.data for v in net(image)]
    print("  untrained outputs: [" + ", ".join(f"{v:.2f}" for v in outputs) + "] -> it says "
          f"{int(np.argmax(outputs))} (the image is a {label})")

    # 5. Pictures.
    written = []
    labels = split.train.labels[:10]
    written += save_figure(plot_digits(split.train.images[:10], labels, ncols=10,
                                       title="Ten training digits: 28×28 = 784 input neurons "
                                             "each"), out / "episode1_digits")
    written += save_figure(plot_activations(("sigmoid", "relu")), out / "episode1_activations")
    written += _common.save_graph_files(neuron_graph, out / "episode1_neuron_graph")
    written += _common.save_graph_files(draw_network(net, image), out / "episode1_network")
    small = load_digits(size=8).train
    net8 = MLP(64, [16, 16, 10], seed=args.seed)
    written += _common.save_graph_files(draw_network(net8, small.images[0]),
                                        out / "episode1_network_8x8")
    _common.report_written(written, out, start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
