"""Train 3Blue1Brown's digit network on the embedded 8×8 digits and draw what it learned.

The network is 64 → 16 → 16 → 10 with sigmoid neurons and the quadratic cost, trained by
mini-batch SGD with the defaults of ``tinygrad-lite train`` (15 epochs, mini-batches of 10,
learning rate 3). It prints one line per epoch and the final test accuracy, and writes into
``--out``:

* ``model.json`` — the trained model (``tinygrad-lite predict model.json`` reads it);
* ``training_curves.png/.svg`` — cost and train/test accuracy after every epoch;
* ``first_layer_weights.png/.svg`` — each of the 16 first-layer neurons' weights as an 8×8
  image ("what is each neuron looking for?");
* ``test_predictions.png/.svg`` — 50 test digits with the predicted labels, mistakes in red;
* ``episode4_chain.svg`` — the episode-4 chain with its chain-rule factors;
* ``network.svg`` — the trained network lit up by the first test digit;
* ``explore_episode4.html``, ``explore_network.html``, ``explore_training.html`` — interactive
  pages to open in a browser: step through backpropagation, nudge, replay the training;

and ``episode4_chain.png``/``network.png`` too when the Graphviz ``dot`` program is installed
(without it the graphs are rendered to SVG by the WebAssembly Graphviz).

Run:  python demos/train_digits.py [--epochs N] [--seed S] [--out DIR] [--quick]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from tinygrad_lite import MLP, load_digits, predict, save_model, subset, train
from tinygrad_lite.plots import (
    plot_digits,
    plot_first_layer_weights,
    plot_training_curves,
    save_figure,
)
from tinygrad_lite.train import DEFAULTS
from tinygrad_lite.viz import available_backends, draw_network, episode4_chain

sys.path.insert(0, str(Path(__file__).resolve().parent))  # demos/ is no package: find _common.py
import _common  # noqa: E402  (the demos' shared plumbing: options, output folder, graph files)
from explore_pages import write_explore_pages  # noqa: E402

#: How many test digits the prediction grid shows.
GRID = 50


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = _common.argument_parser(
        "Train the 64-16-16-10 sigmoid network (quadratic cost, mini-batch SGD) on the "
        "embedded 8×8 digits; save the model and pictures of the training curves, first-layer "
        "weights, test predictions, the episode-4 chain and the network.", out="out",
        out_help="folder for the model and the pictures (created if missing)")
    parser.add_argument("--epochs", type=int, default=DEFAULTS["epochs"],
                        help="passes over the 1,438 training digits")
    parser.add_argument("--seed", type=int, default=DEFAULTS["seed"],
                        help="seed of the initial weights and of the mini-batch shuffling")
    parser.add_argument("--quick", action="store_true",
                        help="a few-second run (300 training and 100 test digits, 2 epochs) "
                             "that writes the same files, for tests")
    return _common.parse_args(parser, argv, positive=["epochs"])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Exits at once if matplotlib is missing; says where the files go once training starts.
    out = _common.prepare_output(__file__, args.out, announce=False)
    start = time.perf_counter()

    split = load_digits()
    epochs = args.epochs
    if args.quick:
        split, epochs = subset(split, 300, 100), 2
    model = MLP(split.train.n_inputs, [16, 16, 10], seed=args.seed)
    print(f"{model} on {len(split.train)} training / {len(split.test)} test digits; quadratic "
          f"cost, mini-batches of {DEFAULTS['batch_size']}, learning rate {DEFAULTS['lr']}, "
          f"seed {args.seed}")
    print(f"writing the model and pictures to {out}/")
    history = train(model, split, epochs=epochs, seed=args.seed, record=20)
    accuracy = history.test_accuracy[-1] if history.epochs else 0.0
    print(f"final test accuracy: {100 * accuracy:.1f}% ({len(history)} epochs, "
          f"{history.seconds:.1f}s)")
    if not history.epochs:
        print("interrupted before the first epoch ended: nothing to draw")
        return 130

    written = [out / "model.json"]
    save_model(model, written[0])
    written += save_figure(plot_training_curves(history), out / "training_curves")
    written += save_figure(plot_first_layer_weights(model, image_shape=split.train.image_shape),
                           out / "first_layer_weights")
    images, labels = split.test.images[:GRID], split.test.labels[:GRID]
    written += save_figure(plot_digits(images, labels, predict(model, images),
                                       image_shape=split.test.image_shape),
                           out / "test_predictions")
    chain, _ = episode4_chain(values={"w(L)": 0.8, "a(L-1)": 0.6, "b(L)": -0.2, "y": 1.0})
    written += _common.save_graph_files(chain, out / "episode4_chain")
    written += _common.save_graph_files(draw_network(model, split.test.images[0]), out / "network")
    if "dot" not in available_backends():
        print("(no PNG of the graphs: the Graphviz 'dot' program is not installed)")
    written += write_explore_pages(model, history, split.test, out)  # interactive pages

    print(f"wrote {len(written)} files in {time.perf_counter() - start:.1f}s:")
    for path in written:
        print(f"  {path}")
    return 130 if history.interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
