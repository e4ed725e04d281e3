"""The chain of 3Blue1Brown's episode 4 ("Backpropagation calculus") as real Values, drawn.

The last layer of a network, one neuron per layer::

    w⁽ᴸ⁾, a⁽ᴸ⁻¹⁾, b⁽ᴸ⁾ → z⁽ᴸ⁾ = w⁽ᴸ⁾a⁽ᴸ⁻¹⁾ + b⁽ᴸ⁾ → a⁽ᴸ⁾ = σ(z⁽ᴸ⁾) → C₀ = (a⁽ᴸ⁾ − y)²

so that ∂C₀/∂w⁽ᴸ⁾ = ∂z⁽ᴸ⁾/∂w⁽ᴸ⁾ · ∂a⁽ᴸ⁾/∂z⁽ᴸ⁾ · ∂C₀/∂a⁽ᴸ⁾ = a⁽ᴸ⁻¹⁾ · σ'(z⁽ᴸ⁾) · 2(a⁽ᴸ⁾ − y).
``depth`` adds layers further back, ``widths`` several neurons per layer (indices j, k).
"""

from __future__ import annotations

import numbers
import os
import random
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Union

from tinygrad_lite._checks import positive_int
from tinygrad_lite.autodiff import grad
from tinygrad_lite.engine import Value
from tinygrad_lite.viz._text import dot_text, dot_tooltip, fmt, sub, sup
from tinygrad_lite.viz.graph import check_rankdir, formula
from tinygrad_lite.viz.style import FONT, RING, STYLES
from tinygrad_lite.viz.rendering import GraphView, save_graph

__all__ = ["episode4_chain", "episode4_svg", "MAX_DEPTH", "MAX_WIDTH", "EPISODE4_VALUES"]

#: The deepest chain :func:`episode4_chain` draws (the video goes two layers back).
MAX_DEPTH = 4
#: The most neurons per layer :func:`episode4_chain` draws.
MAX_WIDTH = 6

#: The numbers of the chain unless a user gives others: the same in the CLI, the demo, the
#: docs and the README (w⁽ᴸ⁾ = 0.8, a⁽ᴸ⁻¹⁾ = 0.6, b⁽ᴸ⁾ = −0.2, y = 1), and for ``depth=2`` the
#: layer before (a⁽ᴸ⁻²⁾ = 0.9, w⁽ᴸ⁻¹⁾ = 0.5, b⁽ᴸ⁻¹⁾ = 0.1). Other leaves come from ``seed``.
EPISODE4_VALUES: dict[str, float] = {"w(L)": 0.8, "a(L-1)": 0.6, "b(L)": -0.2, "y": 1.0,
                                     "w(L-1)": 0.5, "b(L-1)": 0.1, "a(L-2)": 0.9}

_W_PATH = RING  # orange: the path of ∂C₀/∂w⁽ᴸ⁾
_A_PATHS = "#7048e8"  # purple: the paths that add up to ∂C₀/∂a₀⁽ᴸ⁻¹⁾
_DEEP_PATH = "#0c8599"  # teal: one layer further back
_TARGET = {"shape": "box", "style": "rounded,dashed", "color": "#777777", "fontcolor": "#444444"}


class _Names:
    """Keys (ASCII, for ``values=``) and pretty labels of the chain's quantities."""

    def __init__(self, indexed: bool) -> None:
        self.indexed = indexed

    @staticmethod
    def _layer(k: int) -> tuple[str, str]:
        return ("L", "⁽ᴸ⁾") if k == 0 else (f"L-{k}", sup(f"(L-{k})"))

    def _name(self, letter: str, k: int, *idx: int) -> tuple[str, str]:
        tag, upper = self._layer(k)
        if not self.indexed:
            return f"{letter}({tag})", f"{letter}{upper}"
        key = f"{letter}({tag})[{','.join(map(str, idx))}]"
        return key, f"{letter}{sub(''.join(map(str, idx)))}{upper}"

    def a(self, k: int, j: int) -> tuple[str, str]:
        return self._name("a", k, j)

    def z(self, k: int, j: int) -> tuple[str, str]:
        return self._name("z", k, j)

    def b(self, k: int, j: int) -> tuple[str, str]:
        return self._name("b", k, j)

    def w(self, k: int, j: int, m: int) -> tuple[str, str]:
        return self._name("w", k, j, m)

    def y(self, j: int) -> tuple[str, str]:
        return (f"y[{j}]", f"y{sub(str(j))}") if self.indexed else ("y", "y")


def _check_widths(depth: int, widths: Optional[Sequence[int]]) -> list[int]:
    if widths is None:
        return [1] * (depth + 1)
    if isinstance(widths, (str, bytes)) or not isinstance(widths, Sequence):
        raise TypeError(f"widths must be a list of ints, got {type(widths).__name__}")
    if len(widths) != depth + 1:
        raise ValueError(f"widths must give {depth + 1} layer sizes for depth={depth} (from "
                         f"a{sup(f'(L-{depth})')} up to a⁽ᴸ⁾), got {len(widths)}: {list(widths)}")
    out = [positive_int(n, f"widths[{i}]") for i, n in enumerate(widths)]
    if max(out) > MAX_WIDTH:
        raise ValueError(f"widths[{out.index(max(out))}] = {max(out)}: at most {MAX_WIDTH} "
                         "neurons per layer stay readable; draw bigger networks with "
                         "draw_network or draw_collapsed")
    return out


class _Chain:
    """Builds the Values layer by layer and remembers what the picture needs."""

    def __init__(self, depth: int, widths: list[int], values: Mapping[str, Any], seed: int):
        self.depth = depth
        self.widths = widths  # widths[i] = size of layer a^(L−depth+i)
        self.names = _Names(any(n > 1 for n in widths))
        self.values = dict(values)
        self.rng = random.Random(seed)
        self.named: dict[str, Value] = {}
        self.kind: dict[int, str] = {}
        self.leaf_keys: list[str] = []
        self.edges: list[tuple[Value, Value, str, float]] = []  # parent, child, formula, factor

    def width(self, k: int) -> int:
        return self.widths[self.depth - k]

    def leaf(self, key_pretty: tuple[str, str], default: float, kind: str) -> Value:
        key, pretty = key_pretty
        self.leaf_keys.append(key)
        number = self.values.pop(key, EPISODE4_VALUES.get(key, default))
        try:
            v = Value(number, label=pretty)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"values[{key!r}]: {exc}") from None
        self.named[key] = v
        self.kind[id(v)] = kind
        return v

    def computed(self, key_pretty: tuple[str, str], v: Value) -> Value:
        key, v.label = key_pretty
        self.named[key] = v
        self.kind[id(v)] = "value"
        return v

    def build(self) -> Value:
        n = self.names
        rng = self.rng
        acts = [self.leaf(n.a(self.depth, m), round(rng.uniform(0.1, 0.9), 2), "input")
                for m in range(self.width(self.depth))]
        for k in range(self.depth - 1, -1, -1):
            new = []
            for j in range(self.width(k)):
                ws = [self.leaf(n.w(k, j, m), round(rng.uniform(-1.5, 1.5), 2), "param")
                      for m in range(len(acts))]
                b = self.leaf(n.b(k, j), round(rng.uniform(-1.0, 1.0), 2), "param")
                z = self.computed(n.z(k, j), Value.affine(ws, acts, b))
                local = dict(zip(map(id, z.parents), z.local_grads))
                for w, a in zip(ws, acts):
                    self.edges.append((w, z, f"∂{z.label}/∂{w.label} = {a.label}", local[id(w)]))
                    self.edges.append((a, z, f"∂{z.label}/∂{a.label} = {w.label}", local[id(a)]))
                self.edges.append((b, z, f"∂{z.label}/∂{b.label}", local[id(b)]))
                a = self.computed(n.a(k, j), z.sigmoid())
                self.edges.append((z, a, f"∂{a.label}/∂{z.label} = σ'({z.label})",
                                   a.local_grads[0]))
                new.append(a)
            acts = new
        ys = [self.leaf(n.y(j), 1.0 if j == 0 else 0.0, "target") for j in range(len(acts))]
        diffs = [a - y for a, y in zip(acts, ys)]
        squares = [d**2 for d in diffs]
        cost = self.computed(("C0", "C₀"), Value.sum(squares))
        self.kind[id(cost)] = "root"
        for a, y, d, s, local in zip(acts, ys, diffs, squares, cost.local_grads):
            # The factor through the unnamed nodes a − y and (a − y)²: a product of the
            # engine's own local derivatives.
            through = s.local_grads[0] * local
            self.edges.append((a, cost, f"∂C₀/∂{a.label} = 2({a.label} − {y.label})",
                               d.local_grads[0] * through))
            self.edges.append((y, cost, f"∂C₀/∂{y.label} = −2({a.label} − {y.label})",
                               d.local_grads[1] * through))
        self.cost_formula = (f"C₀ = Σⱼ (aⱼ{sup('(L)')} − yⱼ)²" if n.indexed
                             else f"C₀ = ({acts[0].label} − {ys[0].label})²")
        if self.values:
            self.unknown_keys(list(self.values))
        cost.backward()
        return cost

    def unknown_keys(self, keys: list[Any]) -> None:
        bad = keys[0]
        if bad in self.named:
            raise ValueError(f"values[{bad!r}]: {bad} is computed from the other values; "
                             f"set only the leaves: {', '.join(self.leaf_keys)}")
        raise ValueError(f"values: unknown name {bad!r}; the leaves are: "
                         f"{', '.join(self.leaf_keys)}")


def _factor(chain: _Chain, parent: Value, child: Value) -> float:
    for p, c, _, f in chain.edges:
        if p is parent and c is child:
            return f
    raise KeyError((parent.label, child.label))  # pragma: no cover - built together


class _Paths:
    """The coloured paths of the picture and the chain-rule equations along them."""

    def __init__(self, chain: _Chain) -> None:
        self.chain = chain
        self.colours: dict[tuple[int, int], list[str]] = {}

    def _get(self, key_pretty: tuple[str, str]) -> Value:
        return self.chain.named[key_pretty[0]]

    def paint(self, pairs: Sequence[tuple[Value, Value]], colour: str) -> None:
        for parent, child in pairs:
            painted = self.colours.setdefault((id(parent), id(child)), [])
            if colour not in painted:
                painted.append(colour)

    def path_of_w(self, k: int) -> tuple[Value, Value, Value, Value]:
        """(w, z, a, a of the layer before) of neuron 0 in layer L − k."""
        n = self.chain.names
        return (self._get(n.w(k, 0, 0)), self._get(n.z(k, 0)), self._get(n.a(k, 0)),
                self._get(n.a(k + 1, 0)))

    def w_path(self) -> list[str]:
        """Orange: ∂C₀/∂w⁽ᴸ⁾, three factors."""
        chain, cost = self.chain, self.chain.named["C0"]
        w, z, a, prev = self.path_of_w(0)
        y = self._get(chain.names.y(0))
        f1, f2, f3 = _factor(chain, w, z), _factor(chain, z, a), _factor(chain, a, cost)
        self.paint(((w, z), (z, a), (a, cost)), _W_PATH)
        return [
            f"orange: ∂C₀/∂{w.label} = ∂{z.label}/∂{w.label} · ∂{a.label}/∂{z.label} · "
            f"∂C₀/∂{a.label}",
            f"    = {prev.label} · σ'({z.label}) · 2({a.label} − {y.label})",
            f"    = {fmt(f1)} × {fmt(f2)} × {fmt(f3)} = {fmt(f1 * f2 * f3)}"
            f"    (backward() gave {fmt(w.grad)})",
        ]

    def a_paths(self) -> tuple[list[str], float]:
        """Purple: ∂C₀/∂a₀⁽ᴸ⁻¹⁾, one path through every neuron j of layer L, added up."""
        chain, n, cost = self.chain, self.chain.names, self.chain.named["C0"]
        a_prev = self._get(n.a(1, 0))
        terms, total = [], 0.0
        for j in range(chain.width(0)):
            zj, aj = self._get(n.z(0, j)), self._get(n.a(0, j))
            g1, g2 = _factor(chain, a_prev, zj), _factor(chain, zj, aj)
            g3 = _factor(chain, aj, cost)
            self.paint(((a_prev, zj), (zj, aj), (aj, cost)), _A_PATHS)
            terms.append(f"{fmt(g1)} × {fmt(g2)} × {fmt(g3)}")
            total += g1 * g2 * g3
        _, z, a, _ = self.path_of_w(0)
        sum_j = "Σⱼ " if n.indexed else ""
        w_jk = f"w{sub('j0')}{sup('(L)')}" if n.indexed else n.w(0, 0, 0)[1]
        a_j, z_j, y_j = ((f"aⱼ{sup('(L)')}", f"zⱼ{sup('(L)')}", "yⱼ") if n.indexed
                         else (a.label, z.label, self._get(n.y(0)).label))
        return ["", f"purple: ∂C₀/∂{a_prev.label} = {sum_j}{w_jk} · σ'({z_j}) · 2({a_j} − {y_j})",
                f"    = {' + '.join(terms)}",
                f"    = {fmt(total)}    (backward() gave {fmt(a_prev.grad)})"], total

    def deep_path(self, through_a: float) -> list[str]:
        """Teal: ∂C₀/∂w⁽ᴸ⁻¹⁾, one layer further back."""
        w2, z2, a2, prev2 = self.path_of_w(1)
        h1, h2 = _factor(self.chain, w2, z2), _factor(self.chain, z2, a2)
        self.paint(((w2, z2), (z2, a2)), _DEEP_PATH)
        return ["", f"teal: ∂C₀/∂{w2.label} = {prev2.label} · σ'({z2.label}) · ∂C₀/∂{a2.label}",
                f"    = {fmt(h1)} × {fmt(h2)} × {fmt(through_a)} = {fmt(h1 * h2 * through_a)}"
                f"    (backward() gave {fmt(w2.grad)})"]


def _explanations(chain: _Chain) -> tuple[list[str], dict[tuple[int, int], list[str]]]:
    """The chain-rule equations with their numbers, and the colours of the edges they use."""
    paths = _Paths(chain)
    lines = paths.w_path()
    if chain.names.indexed or chain.depth > 1:
        more, through_a = paths.a_paths()
        lines += more
        if chain.depth >= 2:
            lines += paths.deep_path(through_a)
    return lines, paths.colours


def _second_derivatives(chain: _Chain) -> list[str]:
    """∂²C₀/∂w⁽ᴸ⁾² and ∂²C₀/∂w⁽ᴸ⁾∂b⁽ᴸ⁾: the gradient's own graph, differentiated again."""
    n, cost = chain.names, chain.named["C0"]
    w, b = chain.named[n.w(0, 0, 0)[0]], chain.named[n.b(0, 0)[0]]
    prev, z = chain.named[n.a(1, 0)[0]], chain.named[n.z(0, 0)[0]]
    dC_dw = grad(cost, [w], create_graph=True)[0]
    d2_ww, d2_wb = grad(dC_dw, [w, b])
    d2_zz = grad(grad(cost, [z], create_graph=True)[0], [z])[0]
    return ["", "second derivatives: grad(∂C₀/∂w, …) of the gradient's own graph",
            f"    ∂²C₀/∂{w.label}² = {prev.label}² · ∂²C₀/∂{z.label}² = {fmt(prev.data)}² × "
            f"{fmt(d2_zz)} = {fmt(d2_ww)}",
            f"    ∂²C₀/∂{w.label}∂{b.label} = {prev.label} · ∂²C₀/∂{z.label}² = {fmt(prev.data)} × "
            f"{fmt(d2_zz)} = {fmt(d2_wb)}"]


def _node_text(v: Value, chain: _Chain) -> str:
    if chain.kind[id(v)] == "root":
        return f"{chain.cost_formula}\n= {fmt(v.data)}"
    return f"{v.label} = {fmt(v.data)}\n∂C₀/∂{v.label} = {fmt(v.grad)}"


def _node_tooltip(v: Value, chain: _Chain) -> str:
    kind = chain.kind[id(v)]
    if kind == "root":
        parts = [f"{chain.cost_formula} = {fmt(v.data)}"]
        parts += [f"∂C₀/∂{p.label} = {fmt(f)}" for p, c, _, f in chain.edges if c is v]
        return "\n".join(parts)
    if v.is_leaf:
        what = {"param": "a parameter", "input": "an input activation",
                "target": "the desired output"}[kind]
        return f"{v.label} = {fmt(v.data)} ({what})\n∂C₀/∂{v.label} = {fmt(v.grad)}"
    names = {id(p): p.label for p in v.parents}
    names[id(v)] = v.label
    head, lines = formula(v, names)
    return "\n".join([f"{head} = {fmt(v.data)}", *lines, f"∂C₀/∂{v.label} = {fmt(v.grad)}"])


def episode4_chain(
    depth: int = 1,
    widths: Optional[Sequence[int]] = None,
    *,
    values: Optional[Mapping[str, float]] = None,
    seed: int = 0,
    rankdir: str = "LR",
    second_derivatives: bool = False,
) -> tuple[GraphView, dict[str, Value]]:
    """Build episode 4's chain as real Values, run ``backward()``, and draw it.

    With the defaults, the last layer of a one-neuron-per-layer network::

        w⁽ᴸ⁾, a⁽ᴸ⁻¹⁾, b⁽ᴸ⁾ → z⁽ᴸ⁾ → a⁽ᴸ⁾ = σ(z⁽ᴸ⁾) → C₀ = (a⁽ᴸ⁾ − y)²  ← y

    ``z`` is one ``Value.affine`` node, ``a`` a ``sigmoid`` node and ``C₀`` the quadratic cost,
    so every number comes from the engine. Each node shows its value and ∂C₀/∂(that node);
    each edge is labelled with its chain-rule factor and its number, e.g.
    ``∂z⁽ᴸ⁾/∂w⁽ᴸ⁾ = a⁽ᴸ⁻¹⁾``, ``∂a⁽ᴸ⁾/∂z⁽ᴸ⁾ = σ'(z⁽ᴸ⁾)``, ``∂C₀/∂a⁽ᴸ⁾ = 2(a⁽ᴸ⁾ − y)``. The
    orange path and the caption multiply those three factors and compare the product with
    what ``backward()`` stored in ``w⁽ᴸ⁾.grad``.

    ``depth=2`` adds the layer before (w⁽ᴸ⁻¹⁾, a⁽ᴸ⁻²⁾, b⁽ᴸ⁻¹⁾ → z⁽ᴸ⁻¹⁾ → a⁽ᴸ⁻¹⁾, which
    feeds z⁽ᴸ⁾). Widths above 1 give layers of several neurons with indices j (layer L) and
    k (layer L−1): every aₖ⁽ᴸ⁻¹⁾ feeds every zⱼ⁽ᴸ⁾, and the purple paths show the terms of
    ∂C₀/∂a₀⁽ᴸ⁻¹⁾ = Σⱼ wⱼ₀⁽ᴸ⁾ σ'(zⱼ⁽ᴸ⁾) 2(aⱼ⁽ᴸ⁾ − yⱼ) that add up.

    Args:
        depth: how many layers of weights (1 to :data:`MAX_DEPTH`).
        widths: neurons per layer from the first, a⁽ᴸ⁻ᵈᵉᵖᵗʰ⁾, up to the last, a⁽ᴸ⁾
            (``depth + 1`` ints, each 1 to :data:`MAX_WIDTH`); default all 1.
        values: numbers for some leaves by ASCII name, e.g. ``{"w(L)": 0.8, "a(L-1)": 0.6,
            "b(L)": -0.2, "y": 1.0}``; with widths above 1 the names carry indices:
            ``"w(L)[j,k]"``, ``"a(L-1)[k]"``, ``"b(L)[j]"``, ``"y[j]"``. Leaves not given take
            :data:`EPISODE4_VALUES` (w⁽ᴸ⁾ = 0.8, a⁽ᴸ⁻¹⁾ = 0.6, b⁽ᴸ⁾ = −0.2, y = 1...); the
            others are drawn from ``seed`` (weights in [−1.5, 1.5], biases in [−1, 1],
            activations in [0.1, 0.9], rounded to 2 decimals) and y is 1 for neuron 0, 0 for
            the others.
        seed: seed of the numbers not in :data:`EPISODE4_VALUES`.
        rankdir: "LR" (default), "RL", "TB" or "BT".
        second_derivatives: add ∂²C₀/∂w⁽ᴸ⁾² and ∂²C₀/∂w⁽ᴸ⁾∂b⁽ᴸ⁾ to the caption, computed by
            differentiating the graph of ∂C₀/∂w⁽ᴸ⁾ again (:func:`tinygrad_lite.autodiff.grad`
            with ``create_graph=True``); both equal a power of a⁽ᴸ⁻¹⁾ times ∂²C₀/∂z⁽ᴸ⁾².

    Returns:
        ``(graph, named)``: the :class:`GraphView`, and the Values by the names above (plus
        ``"z(L)"``, ``"a(L)"``... and ``"C0"``), after ``C0.backward()``.

    Raises:
        TypeError / ValueError: a bad depth or widths, an unknown name in ``values`` (the
            message lists the valid ones), a computed name, or a number that is not finite.
    """
    depth = positive_int(depth, "depth")
    if depth > MAX_DEPTH:
        raise ValueError(f"depth must be at most {MAX_DEPTH} (the picture gets unreadable), "
                         f"got {depth}")
    sizes = _check_widths(depth, widths)
    check_rankdir(rankdir)
    if values is None:
        values = {}
    if not isinstance(values, Mapping):
        raise TypeError(f"values must be a dict of name → number, got {type(values).__name__}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")

    chain = _Chain(depth, sizes, values, int(seed))
    chain.build()
    caption, colours = _explanations(chain)
    if second_derivatives:
        caption += _second_derivatives(chain)

    g = GraphView(name="episode4",
                  graph_attr={"rankdir": rankdir, "fontname": FONT, "fontsize": "12",
                              "nodesep": "0.3", "ranksep": "1.1", "labelloc": "b",
                              "labeljust": "l", "label": dot_text("\n".join(caption), justify="l")},
                  node_attr={"fontname": FONT, "fontsize": "12"},
                  edge_attr={"fontname": FONT, "fontsize": "10", "arrowsize": "0.7"})
    ids = {id(v): f"n{i}" for i, v in enumerate(chain.named.values())}
    for v in chain.named.values():
        kind = chain.kind[id(v)]
        style = _TARGET if kind == "target" else STYLES[kind]
        g.node(ids[id(v)], dot_text(_node_text(v, chain)),
               tooltip=dot_tooltip(_node_tooltip(v, chain)), **style)
    for parent, child, text, factor in chain.edges:
        label = f"{text}\n= {fmt(factor)}"
        attrs = {"label": dot_text(label), "tooltip": dot_tooltip(label.replace("\n", " "))}
        painted = colours.get((id(parent), id(child)))
        if painted:
            attrs.update(color=":".join(painted), fontcolor=painted[0], penwidth="2.2")
        elif chain.kind[id(parent)] == "target":
            attrs.update(color="#777777", fontcolor="#555555", style="dashed")
        g.edge(ids[id(parent)], ids[id(child)], **attrs)
    return g, dict(chain.named)


def episode4_svg(
    path: Union[str, "os.PathLike[str]"],
    depth: int = 1,
    widths: Optional[Sequence[int]] = None,
    *,
    values: Optional[Mapping[str, float]] = None,
    seed: int = 0,
    backend: str = "auto",
) -> Path:
    """Draw :func:`episode4_chain` and save it to ``path`` (.svg, or .png/.pdf/.dot); returns it.

    This is what ``tinygrad-lite graph episode4 -o chain.svg`` runs. See :func:`save_graph`
    for the formats, ``backend`` and the errors.
    """
    graph, _ = episode4_chain(depth, widths, values=values, seed=seed)
    return save_graph(graph, path, backend)
