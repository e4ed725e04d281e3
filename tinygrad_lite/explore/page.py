"""One self-contained HTML page: SVG, data as JSON, a small script and CSS, a strict CSP.

Every page :func:`explore` makes is assembled here. The page loads nothing: the script and the
style sheet are inlined and allowed by their SHA-256 hashes in a Content-Security-Policy that
forbids every other source (``default-src 'none'``), so it works from ``file://`` with no
network and no server. The data rides in a ``<script type="application/json">`` block whose
``<``, ``>`` and ``&`` are escaped, so no label can end the block; user text reaches the
page only through that JSON (read with ``JSON.parse`` and written with ``textContent``) or
through the SVG, where Graphviz and :func:`svg_escape` escape it.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Union

import numpy as np

from tinygrad_lite._files import atomic_write, check_target

__all__ = ["ExplorePage", "build_page", "svg_escape", "pack_floats", "clean_svg", "CSP_SOURCES"]

#: The Content-Security-Policy directives besides the script and style hashes.
CSP_SOURCES = "default-src 'none'; img-src data:; base-uri 'none'; form-action 'none'"

_XML_PROLOGUE = re.compile(r"<\?xml[^>]*\?>|<!DOCTYPE[^>]*>|<!--.*?-->", re.DOTALL)


@lru_cache(maxsize=None)
def _static(name: str) -> str:
    """The text of ``static/<name>``, shipped as package data."""
    return resources.files("tinygrad_lite.explore").joinpath("static", name).read_text("utf-8")


def _sha256(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def svg_escape(text: str) -> str:
    """``text`` safe inside SVG/HTML text and double-quoted attributes."""
    return html.escape(text, quote=True)


def clean_svg(svg: str) -> str:
    """Graphviz's SVG without its XML declaration, DOCTYPE and comments, ready to inline."""
    return _XML_PROLOGUE.sub("", svg).strip()


def pack_floats(values: Any, dtype: str = "<f8") -> str:
    """``values`` as base64 of little-endian floats (``"<f8"`` or ``"<f4"``), for the page."""
    return base64.b64encode(np.asarray(values, dtype=dtype).tobytes()).decode("ascii")


def _json_for_script(data: Any) -> str:
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    # Inside <script> only "</script" or "<!--" could end or confuse the block; escaping
    # every <, > and & (valid JSON escapes) rules both out.
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def build_page(title: str, kind: str, svg: str, data: dict[str, Any], intro: str = "") -> str:
    """The full HTML text of a page of ``kind`` ("graph", "network" or "training").

    ``svg`` is the finished picture (shown as is when scripts are off); ``data`` is what the
    script needs; ``intro`` a plain-text line under the title.
    """
    script, style = _static("explore.js"), _static("explore.css")
    csp = f"{CSP_SOURCES}; script-src {_sha256(script)}; style-src {_sha256(style)}"
    payload = _json_for_script({"kind": kind, "title": title, **data})
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{svg_escape(csp)}\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{svg_escape(title)}</title>\n<style>{style}</style>\n</head>\n"
        f"<body class=\"page-{kind}\">\n<header><h1>{svg_escape(title)}</h1>"
        f"<p class=\"intro\">{svg_escape(intro)}</p></header>\n"
        "<noscript><p class=\"note\">Scripts are off: this is the finished picture. Turn "
        "scripts on to step through it.</p></noscript>\n"
        "<div id=\"controls\" class=\"needs-js\"></div>\n"
        f"<main><div id=\"picture\">{svg}</div>\n<aside id=\"panel\" class=\"needs-js\"></aside>"
        "</main>\n"
        f"<script type=\"application/json\" id=\"explore-data\">{payload}</script>\n"
        f"<script>{script}</script>\n</body>\n</html>\n"
    )


class ExplorePage:
    """An interactive page made by :func:`~tinygrad_lite.explore.explore`: save it or show it.

    :attr:`html` is the whole page, one self-contained HTML file;
    :meth:`save` writes it; in Jupyter the page shows inline (in a sandboxed ``iframe``).

    Attributes:
        html: the page's HTML text.
        kind: ``"graph"``, ``"network"`` or ``"training"``.
        steps: how many steps the slider has (0 for a training replay).
    """

    def __init__(self, html_text: str, kind: str, steps: int = 0) -> None:
        self.html = html_text
        self.kind = kind
        self.steps = steps

    def save(self, path: Union[str, "os.PathLike[str]"]) -> Path:
        """Write the page to ``path`` (atomically) and return the path.

        Raises:
            ValueError: ``path`` does not end in ``.html`` or ``.htm``.
            FileNotFoundError / NotADirectoryError / IsADirectoryError: a bad folder.
        """
        target = check_target(path, "page")
        if target.suffix.lower() not in (".html", ".htm"):
            raise ValueError(f"an explore page is HTML: save it as .html, not "
                             f"{target.suffix or '(no suffix)'!r} ({str(target)!r})")
        atomic_write(target, self.html)
        return target

    def __len__(self) -> int:
        """The size of the page in bytes (UTF-8)."""
        return len(self.html.encode("utf-8"))

    def _repr_html_(self) -> str:
        height = 760 if self.kind != "graph" else 640
        return (f"<iframe title=\"tinygrad_lite explore\" sandbox=\"allow-scripts\" "
                f"style=\"width:100%;height:{height}px;border:1px solid #ddd\" "
                f"srcdoc=\"{html.escape(self.html, quote=True)}\"></iframe>")

    def __repr__(self) -> str:
        return f"ExplorePage({self.kind}, {len(self):,} bytes, {self.steps} steps)"
