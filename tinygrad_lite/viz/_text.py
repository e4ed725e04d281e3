"""Text for Graphviz: user labels made safe, DOT escaping, number formatting, Unicode indices.

Labels are plain DOT strings (not HTML-like labels: the WebAssembly build of Graphviz has no
HTML-label support), so every piece of user text goes through :func:`dot_text` or
:func:`dot_tooltip`, which make Graphviz show it literally.
"""

from __future__ import annotations

import math
import re

from graphviz import nohtml

__all__ = ["clean_text", "dot_text", "dot_tooltip", "fmt", "short", "sup", "sub", "shorten",
           "MINUS", "MAX_LABEL_LENGTH", "MAX_TOOLTIP_LENGTH"]

#: The minus sign of every number in a picture, the same as in the formulas (U+2212).
MINUS = "−"
#: A user's label longer than this many characters is shortened in a picture (with "…");
#: the whole label is in the node's tooltip. Graphviz ``dot`` refuses quoted strings over
#: 16,384 characters, which the WebAssembly build accepts: shortening keeps the two alike.
MAX_LABEL_LENGTH = 60
#: A tooltip (hover text) longer than this is cut, saying how many characters were left out.
MAX_TOOLTIP_LENGTH = 4000

# Characters XML 1.0 cannot hold (or that Graphviz would cut a string at), except the line
# feed, which becomes a line break.
_UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code == 0x09:
        return " "
    if code < 0x20:
        return chr(0x2400 + code)  # the Unicode "control picture": ␀, ␁, ...
    if code == 0x7F:
        return "\u2421"  # ␡
    return "\ufffd"


def clean_text(text: str) -> str:
    """``text`` with line breaks as ``\\n``, tabs as spaces, other control characters visible.

    C0 control characters become their Unicode control pictures (``"\\x01"`` → ``"␁"``); C1
    controls, lone surrogates and U+FFFE/U+FFFF (which XML cannot hold) become ``"�"``.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _UNSAFE.sub(_visible, text)


def _escaped_lines(text: str, backslash: str) -> list[str]:
    lines = clean_text(text).split("\n")
    # Blank lines at the top show nothing, and the WebAssembly Graphviz (16.1) can crash on
    # a filled node whose label starts with one.
    while len(lines) > 1 and not lines[0].strip():
        del lines[0]
    # Graphviz decodes HTML entities such as "&amp;" in plain labels: escaping "&" keeps
    # "&lt;" showing as the four characters "&lt;".
    return [line.replace("\\", backslash).replace("&", "&amp;") for line in lines]


def dot_text(text: str, *, justify: str = "c") -> str:
    """A DOT label (or xlabel) that Graphviz shows literally, whatever ``text`` contains.

    Blank lines at the top are dropped. Backslashes are doubled (``\\N``, ``\\l`` ... would
    otherwise be Graphviz escapes), ``&`` becomes ``&amp;``, line breaks become ``\\n``
    (centred) or ``\\l`` (``justify="l"``), and the result is marked as not-HTML so that
    ``graphviz`` quotes it even if it looks like ``<...>``. Quotes are escaped by ``graphviz``
    when it writes the attribute.
    """
    lines = _escaped_lines(text, "\\\\")
    if justify == "l":
        return nohtml("".join(line + "\\l" for line in lines))
    return nohtml("\\n".join(lines))


def shorten(text: str, limit: int = MAX_LABEL_LENGTH) -> str:
    """``text`` if it has at most ``limit`` characters, else its start and ``"…"`` (``limit``
    characters in all)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def dot_tooltip(text: str) -> str:
    """A DOT ``tooltip`` that shows ``text`` literally (cut after :data:`MAX_TOOLTIP_LENGTH`).

    Graphviz unescapes tooltips twice (once as an escString, once when substituting ``\\N``
    and friends), so a literal backslash needs four.
    """
    if len(text) > MAX_TOOLTIP_LENGTH:
        text = f"{text[:MAX_TOOLTIP_LENGTH]}… ({len(text) - MAX_TOOLTIP_LENGTH:,} more characters)"
    return nohtml("\\n".join(_escaped_lines(text, "\\\\\\\\")))


def fmt(x: float, precision: int = 4) -> str:
    """``x`` with ``precision`` significant digits: ``0.8808``, ``−0.105``, ``1.2e−05``, ``0``.

    Negative numbers use the minus sign of the formulas, :data:`MINUS` (not a hyphen).
    """
    if x == 0.0:
        return "0"  # also for -0.0
    return f"{x:.{precision}g}".replace("-", MINUS)


def short(x: float, decimals: int = 2) -> str:
    """``x`` in at most ``decimals + 2`` characters (plus a minus sign), for small circles.

    Zero is ``0``; other numbers that round below 10 get ``decimals`` decimals (``0.73``,
    ``1.00`` for 1 and for 0.99999, ``0.00`` for 3.4e-07, never ``−0.00``); larger ones three
    significant digits (``12.3``, ``123``), then ``k``/``M``/``G``/``T`` (``1.5k``, ``99k``,
    ``4.2M``), then a power of ten (``3e15``).
    """
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else MINUS + "inf"
    if x == 0.0:
        return "0"
    sign = MINUS if x < 0 else ""
    a = abs(x)
    text = f"{a:.{decimals}f}"
    if float(text) < 10:
        return (sign if float(text) else "") + text
    if a < 99.95:
        return f"{sign}{a:.1f}"
    if a < 999.5:
        return f"{sign}{a:.0f}"
    for suffix, scale in (("k", 1e3), ("M", 1e6), ("G", 1e9), ("T", 1e12)):
        m = a / scale
        if m < 9.95:
            return f"{sign}{m:.1f}{suffix}"
        if m < 999.5:
            return f"{sign}{m:.0f}{suffix}"
    mantissa, exponent = f"{a:.0e}".split("e")
    return f"{sign}{mantissa}e{int(exponent)}"


_SUP = str.maketrans("0123456789+-=()Lnijk", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ᴸⁿⁱʲᵏ")
_SUB = str.maketrans("0123456789+-=()ijk", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ᵢⱼₖ")


def sup(text: str) -> str:
    """``text`` in Unicode superscripts (digits, ``+ - = ( )`` and ``L n i j k``)."""
    return text.translate(_SUP)


def sub(text: str) -> str:
    """``text`` in Unicode subscripts (digits, ``+ - = ( )`` and ``i j k``)."""
    return text.translate(_SUB)
