"""The look every picture shares: the font, the colours and the node style of each kind of value.

One place for them, so that a parameter is the same blue box in :func:`draw_graph`,
:func:`draw_collapsed` and :func:`episode4_chain`, and a positive contribution the same blue in
:func:`draw_network` and the weight plots.
"""

from __future__ import annotations

__all__ = ["FONT", "STYLES", "POSITIVE", "NEGATIVE", "ZERO", "RING", "LEGEND_FRAME",
           "blend", "grey"]

#: The font of every label.
FONT = "Helvetica,Arial,sans-serif"

#: A positive weight or contribution (blue), a negative one (red), and zero (grey).
POSITIVE = "#2563eb"
NEGATIVE = "#dc2626"
ZERO = "#aaaaaa"
#: The orange ring of the network's answer, and the colour of legend frames.
RING = "#e8590c"
LEGEND_FRAME = "#bbbbbb"

#: Node attributes per kind of value (shared by every view).
STYLES: dict[str, dict[str, str]] = {
    "value": {"shape": "box", "style": "rounded"},
    "param": {"shape": "box", "style": "rounded,filled", "fillcolor": "#cfe2ff",
              "color": "#1c5fb4"},
    "input": {"shape": "parallelogram", "style": "filled", "fillcolor": "#d3f0d3",
              "color": "#2b8a3e", "margin": "0.02,0.02"},
    "root": {"shape": "box", "style": "rounded,filled,bold", "fillcolor": "#ffe3a3",
             "color": "#b35c00", "peripheries": "2"},
    "const": {"shape": "box", "style": "rounded,filled", "fillcolor": "#f1f3f5",
              "color": "#adb5bd", "fontsize": "9", "fontcolor": "#444444", "width": "0.2",
              "height": "0.2", "margin": "0.03,0.01"},
    "op": {"shape": "circle", "style": "filled", "fillcolor": "#eeeeee", "color": "#888888",
           "fontsize": "11", "width": "0.3", "margin": "0.02"},
}

#: The boxes of draw_collapsed (and of the collapsed explore pages): a neuron, a cost.
NEURON_STYLE: dict[str, str] = {"shape": "box", "style": "rounded,filled",
                                "fillcolor": "#eee8ff", "color": "#5f3dc4"}
COST_STYLE: dict[str, str] = {"shape": "box", "style": "rounded,filled",
                              "fillcolor": "#ffe8cc", "color": "#b35c00"}


def _hex(rgb: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{round(c):02x}" for c in rgb)


def blend(colour: str, amount: float) -> str:
    """``colour`` (``"#rrggbb"``) mixed with white: ``amount`` 0 is white, 1 the colour itself."""
    amount = min(1.0, max(0.0, amount))
    rgb = [int(colour[i:i + 2], 16) for i in (1, 3, 5)]
    return _hex(tuple(255 + (c - 255) * amount for c in rgb))


def grey(shade: float) -> str:
    """The grey of an activation ``shade`` in [0, 1]: 0 is white, 1 is black (3Blue1Brown's)."""
    level = round(255 * (1.0 - min(1.0, max(0.0, shade))))
    return f"#{level:02x}{level:02x}{level:02x}"
