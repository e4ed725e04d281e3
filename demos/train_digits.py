"""Train 3Blue1Brown's digit network on real MNIST handwriting and draw what it learned.

The network is the videos' own: 784 → 16 → 16 → 10 sigmoid neurons, the quadratic cost,
mini-batch SGD (compiled: the scalar graph traced once and run with NumPy). It trains on the
4,000 training digits of the 5,000 real MNIST digits that ship with the library, each also
moved one pixel up, down, left and right (20,000 images; ``--no-shift`` trains on the 4,000
as they are), for 10 epochs in mini-batches of 20 with learning rate 1, and reaches about
93% on the 1,000 held-out test digits in seconds (README.md: 93.1% ± 0.5 over five seeds).
``--dataset digits`` trains 64 → 16 → 16 → 10 on the embedded 8×8 digits instead (the
defaults of ``tinygrad-lite train``). It prints one line per epoch and the final test
accuracy, and writes into ``--out``:

* ``model.json`` — the trained model (``tinygrad-lite predict model.json`` reads it);
* ``training_curves.png/.svg`` — cost and train/test accuracy after every epoch;
* ``first_layer_weights.png/.svg`` — each of the 16 first-layer neurons' weights as an image
  ("what is each neuron looking for?");
* ``test_predictions.png/.svg`` — 50 test digits with the predicted labels, mistakes in red;
* ``episode4_chain.svg`` — the episode-4 chain with its chain-rule factors;
* ``network.svg`` — the trained network lit up by the first test digit;
* ``explore_episode4.html``, ``explore_network.html``, ``explore_training.html`` — interactive
  pages to open in a browser: step through backpropagation, nudge, replay the training;

and ``episode4_chain.png``/``network.png`` too when the Graphviz ``dot`` program is installed
(without it the graphs are rendered to SVG by the WebAssembly Graphviz).

Run:  python demos/train_digits.py [--dataset mnist|digits] [--epochs N] [--seed S]
                                   [--out DIR] [--quick]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

# The matrix products of a 784-16-16-10 network on mini-batches of 20 are too small to share
# among threads: spread over BLAS threads that mostly wait, training took 7× the CPU time
# (23.6 s against 3.2 s, measured) and far longer on a busy machine. So one thread, unless the
# user chose otherwise; this must happen before NumPy is first imported.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

from tinygrad_lite import (  # noqa: E402
    MLP,
    DatasetSplit,
    History,
    load_dataset,
    predict,
    save_model,
    shifted_copies,
    subset,
    train,
)
from tinygrad_lite.plots import (  # noqa: E402
    plot_digits,
    plot_first_layer_weights,
    plot_training_curves,
    save_figure,
)
from tinygrad_lite.train import DEFAULTS  # noqa: E402
from tinygrad_lite.viz import available_backends, draw_network, episode4_chain  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))  # demos/ is no package: find _common.py
import _common  # noqa: E402  (the demos' shared plumbing: options, output folder, graph files)
from explore_pages import write_explore_pages  # noqa: E402

#: How many test digits the prediction grid shows.
GRID = 50

#: The default recipe for each dataset. For MNIST it was chosen on 800 digits held out of the
#: 4,000 training digits (never on the test digits); README.md gives its test accuracy over
#: five seeds. The 8×8 digits use the defaults of ``tinygrad-lite train``.
RECIPES = {
    "mnist": {"epochs": 10, "batch_size": 20, "lr": 1.0, "shift": True},
    "digits": {"epochs": DEFAULTS["epochs"], "batch_size": DEFAULTS["batch_size"],
               "lr": DEFAULTS["lr"], "shift": False},
}


def describe(recipe: dict) -> str:
    """``"10 epochs, batches of 20, lr 1, one-pixel shifts"``."""
    shifts = ", one-pixel shifts" if recipe["shift"] else ""
    return (f"{recipe['epochs']} epochs, batches of {recipe['batch_size']}, "
            f"lr {recipe['lr']:g}{shifts}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    recipes = "; ".join(f"{name}: {describe(recipe)}" for name, recipe in RECIPES.items())
    parser = _common.argument_parser(
        "Train the videos' 784-16-16-10 sigmoid network (quadratic cost, mini-batch SGD) on "
        "the 5,000 real MNIST digits shipped with the library (4,000 to train, 1,000 to test); "
        "save the model and pictures of the training curves, first-layer weights, test "
        "predictions, the episode-4 chain and the network. Options not given follow the "
        f"recipe of the dataset ({recipes}).",
        out="out", out_help="folder for the model and the pictures (created if missing)")
    parser.add_argument("--dataset", choices=list(RECIPES), default="mnist",
                        help="mnist: 28×28 real MNIST digits, 784 inputs; digits: the embedded "
                             "8×8 UCI digits, 64 inputs")
    from_recipe = {"default": argparse.SUPPRESS}  # absent unless given: the recipe decides
    parser.add_argument("--epochs", type=int, help="passes over the training set", **from_recipe)
    parser.add_argument("--batch-size", type=int, help="examples per SGD step", **from_recipe)
    parser.add_argument("--lr", type=float, help="learning rate η", **from_recipe)
    parser.add_argument("--no-shift", action="store_true",
                        help="train on the training digits only, without their copies moved "
                             "one pixel up, down, left and right")
    parser.add_argument("--seed", type=int, default=DEFAULTS["seed"],
                        help="seed of the initial weights and of the mini-batch shuffling")
    parser.add_argument("--quick", action="store_true",
                        help="a few-second run (300 training and 100 test digits, 2 epochs) "
                             "that writes the same files, for tests")
    return with_recipe(parser, parser.parse_args(argv))


def with_recipe(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.Namespace:
    """``args`` with the dataset's recipe for the options not given, checked (usage errors
    exit with status 2 before anything is written)."""
    recipe = RECIPES[args.dataset]
    for option in ("epochs", "batch_size", "lr"):
        if not hasattr(args, option):
            setattr(args, option, recipe[option])
    args.shift = recipe["shift"] and not args.no_shift
    for option in ("epochs", "batch_size"):
        if getattr(args, option) < 1:
            parser.error(f"--{option.replace('_', '-')} must be a positive integer, "
                         f"got {getattr(args, option)}")
    if not 0 < args.lr < float("inf"):
        parser.error(f"--lr must be a positive number, got {args.lr}")
    return args


def load_training_data(args: argparse.Namespace) -> tuple[DatasetSplit, DatasetSplit, int]:
    """``(split as loaded, split trained on, epochs)``: ``--quick`` cuts the data and the
    epochs; the shifted copies are made after cutting, so a quick run stays quick."""
    split = load_dataset(args.dataset)
    epochs = args.epochs
    if args.quick:
        split, epochs = subset(split, 300, 100), 2
    trained_on = split
    if args.shift:
        trained_on = DatasetSplit(shifted_copies(split.train), split.test)
    return split, trained_on, epochs


def write_pictures(model: MLP, split: DatasetSplit, history: History, out: Path) -> list[Path]:
    """The model and every picture of the run; returns the paths written."""
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
    return written


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Exits at once if matplotlib is missing; says where the files go once training starts.
    out = _common.prepare_output(__file__, args.out, announce=False)
    start = time.perf_counter()

    split, trained_on, epochs = load_training_data(args)
    model = MLP(split.train.n_inputs, [16, 16, 10], seed=args.seed)
    shifts = f" (+ {len(trained_on.train) - len(split.train):,} shifted copies)" if args.shift \
        else ""
    print(f"{model} on {len(split.train):,} training{shifts} / {len(split.test):,} test digits "
          f"({args.dataset}); quadratic cost, mini-batches of {args.batch_size}, learning rate "
          f"{args.lr:g}, {epochs} epochs, seed {args.seed}")
    print(f"writing the model and pictures to {out}/")
    history = train(model, trained_on, epochs=epochs, batch_size=args.batch_size, lr=args.lr,
                    seed=args.seed, engine="compiled", record=20)
    accuracy = history.test_accuracy[-1] if history.epochs else 0.0
    print(f"final test accuracy: {100 * accuracy:.1f}% on {len(split.test):,} test digits "
          f"({len(history)} epochs, {history.seconds:.1f}s)")
    if not history.epochs:
        print("interrupted before the first epoch ended: nothing to draw")
        return 130

    written = write_pictures(model, split, history, out)
    print(f"wrote {len(written)} files in {time.perf_counter() - start:.1f}s:")
    for path in written:
        print(f"  {path}")
    return 130 if history.interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
