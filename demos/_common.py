"""The plumbing every demo shares, so that each demo script can read as the story of its episode.

Each demo imports this file as ``_common`` (``demos/`` is a folder of scripts, not a package, so
each script first puts its own folder on ``sys.path``):

* :func:`argument_parser` and :func:`parse_args` — the command line (``--out DIR`` and checked
  positive counts such as ``--epochs``);
* :func:`prepare_output` — stop at once if matplotlib is missing, then create the output folder;
* :func:`save_graph_files` — a computation graph as SVG, and as PNG when Graphviz ``dot`` exists;
* :func:`report_written` — the closing list of the files written.

Importing it also makes Ctrl-C end a demo with one line (``episode2_cost.py: interrupted``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, Optional, Sequence

from tinygrad_lite.plots import require_matplotlib
from tinygrad_lite.viz import GraphvizUnavailable, available_backends, save_graph


def _one_line_interrupt(kind: type[BaseException], value: BaseException, tb: Any) -> None:
    """Ctrl-C ends a demo with one line, as the command line does, instead of a traceback."""
    if issubclass(kind, KeyboardInterrupt):
        sys.stderr.write(f"{Path(sys.argv[0]).name}: interrupted\n")
    else:
        sys.__excepthook__(kind, value, tb)


if sys.excepthook is sys.__excepthook__:  # leave a hook someone else installed (IPython) alone
    sys.excepthook = _one_line_interrupt


def argument_parser(description: str, out: str,
                    out_help: str = "folder for the pictures (created if missing)",
                    ) -> argparse.ArgumentParser:
    """A parser whose ``--help`` shows the defaults, with ``--out DIR`` defaulting to ``out``.

    The demo adds its own options (``--seed``, ``--quick``...) and then calls :func:`parse_args`.
    """
    parser = argparse.ArgumentParser(description=description,
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--out", default=out, metavar="DIR", help=out_help)
    return parser


def parse_args(parser: argparse.ArgumentParser, argv: Optional[Sequence[str]],
               positive: Sequence[str] = ()) -> argparse.Namespace:
    """``parser.parse_args(argv)``, where each option named in ``positive`` must be at least 1.

    A smaller value is a usage error (message ``--epochs must be a positive integer, got 0``,
    exit status 2), reported before the demo does anything.
    """
    args = parser.parse_args(argv)
    for name in positive:
        value = getattr(args, name)
        if value < 1:
            parser.error(f"--{name} must be a positive integer, got {value}")
    return args


def prepare_output(script: str, folder: str, announce: bool = True) -> Path:
    """Check that matplotlib is installed, then create ``folder`` (and its parents) if missing.

    Without matplotlib the demo exits at once, before any slow work and before creating the
    folder, with status 1 and a one-line message: the name of ``script`` (pass ``__file__``)
    and the install command. With ``announce``, prints ``writing pictures to FOLDER/``.
    Returns the folder as a Path.
    """
    try:
        require_matplotlib()
    except ImportError as exc:
        sys.exit(f"{Path(script).name}: {exc}")
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    if announce:
        print(f"writing pictures to {out}/")
    return out


def save_graph_files(graph: Any, stem: Path) -> list[Path]:
    """Write ``graph`` to ``stem.svg``, and to ``stem.png`` too when Graphviz ``dot`` is installed.

    The SVG is rendered by ``dot`` or, without it, by the WebAssembly Graphviz. When neither
    can render, prints a ``(skipped ...)`` line and writes nothing. Returns the paths written.
    """
    try:
        written = [save_graph(graph, stem.with_name(stem.name + ".svg"))]
        if "dot" in available_backends():
            written.append(save_graph(graph, stem.with_name(stem.name + ".png")))
    except GraphvizUnavailable as exc:
        print(f"  (skipped {stem.name}: {exc})")
        return []
    return written


def report_written(written: Sequence[Path], out: Path, start: float) -> None:
    """Print how many files went to ``out`` and the seconds since ``start``, then each path."""
    print(f"\nwrote {len(written)} files to {out}/ in {time.perf_counter() - start:.1f}s:")
    for path in written:
        print(f"  {path}")
