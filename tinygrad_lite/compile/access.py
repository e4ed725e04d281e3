"""Operands of a vectorised instruction: where its m values live, how to read them, and where
their gradients go.

A value lives in one of four places (:class:`Kind`), and :class:`Loc` says where:

* ``VALUE``: a row of the workspace ``V`` (an op node's value, one column per example);
* ``INPUT``: a column of an input array ("bank") given per call, read through its transpose;
* ``PARAM``: an entry of the flat parameter vector ``theta`` (the same for every example);
* ``CONST``: a constant.

:class:`Access` picks the cheapest way to read an operand (a slice of ``V`` or ``theta`` is a view;
anything else is gathered into a buffer) and to send contributions back: into rows of the
gradient workspace ``D``, or summed over the batch into the flat gradient ``G``. Whether a
contribution may *assign* or must *add* is decided once, at compile time, by :class:`Planner`.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any, Callable, NamedTuple, Sequence

import numpy as np

__all__ = ["Kind", "Loc", "Access", "GradPart", "Planner", "arith_range"]


class Kind(IntEnum):
    """Where an operand value lives."""

    VALUE = 0  #: a row of the value workspace V
    INPUT = 1  #: a column of an input array
    PARAM = 2  #: an entry of the flat parameter vector
    CONST = 3  #: a number baked into the program


class Loc(NamedTuple):
    """The place of one value: ``Loc(Kind.VALUE, row)``, ``Loc(Kind.INPUT, column, bank)``,
    ``Loc(Kind.PARAM, index)`` or ``Loc(Kind.CONST, value=x)``."""

    kind: Kind
    index: int = 0
    bank: int = 0
    value: float = 0.0


V, B, P, C = Kind.VALUE, Kind.INPUT, Kind.PARAM, Kind.CONST  # short names inside compile/
KIND_NAMES = {V: "v", B: "in", P: "θ", C: "const"}


def arith_range(idx: Sequence[int]) -> tuple[int, int] | None:
    """``(start, step)`` if ``idx`` is start, start+step, ... with step ≥ 1, else None."""
    m = len(idx)
    if m == 0:
        return None
    if m == 1:
        return int(idx[0]), 1
    step = int(idx[1]) - int(idx[0])
    if step < 1:
        return None
    arr = np.asarray(idx, dtype=np.int64)
    if np.array_equal(np.diff(arr), np.full(m - 1, step)):
        return int(arr[0]), step
    return None


def _span(idx: Sequence[int]) -> str:
    r = arith_range(idx)
    if r is None:
        return f"[{len(idx)} gathered]"
    start, step = r
    stop = start + step * len(idx)
    return f"[{start}:{stop}]" if step == 1 else f"[{start}:{stop}:{step}]"


class GradPart:
    """One group of gradient targets of an operand: rows of ``D`` or entries of ``G``, and
    whether contributions to them assign or add (:attr:`mode`, set by the :class:`Planner`)."""

    def __init__(self, target: str, positions: np.ndarray | None, index: np.ndarray,
                 reduce_rows: bool = False) -> None:
        self.target = target  # "D" or "G"
        self.positions = positions  # operand positions, None = all of them in order
        self.index = index  # rows of D or entries of G
        self.reduce_rows = reduce_rows  # every position is the same row: sum them first
        self.mode = "assign"  # "assign", "add" or "addat" (duplicates), set by the Planner


class Planner:
    """Decides, in backward order, whether each gradient contribution assigns or adds.

    The first contribution to a row of ``D`` (or entry of ``G``) assigns, later ones add, so
    neither array needs zeroing per step; targets that cannot be told apart that way (a
    contribution that is first for some rows and not for others, or repeats a row) are zeroed
    at the start of the backward pass instead (:attr:`zero_rows`, :attr:`zero_params`).
    """

    def __init__(self, seeded_rows: Sequence[int], n_rows: int, n_params: int) -> None:
        # One flag per row of D / entry of G (arrays, so planning a layer of a million
        # weights costs a few vectorised operations, not a million set insertions).
        self.written = {"D": np.zeros(n_rows, bool), "G": np.zeros(n_params, bool)}
        self.written["D"][np.asarray(seeded_rows, dtype=np.int64)] = True
        self.zero = {"D": np.zeros(n_rows, bool), "G": np.zeros(n_params, bool)}

    def plan(self, part: GradPart) -> None:
        """Set ``part.mode``: "assign" if it is the first write of each of its (distinct)
        targets, else "add" ("addat" if a target repeats), zeroing what it finds unwritten."""
        targets = part.index[:1] if part.reduce_rows else part.index
        written = self.written[part.target]
        unique = bool((targets[1:] > targets[:-1]).all()) or len(np.unique(targets)) == len(targets)
        fresh = ~written[targets]
        if unique and fresh.all():
            part.mode = "assign"
        else:
            part.mode = "add" if unique else "addat"
            self.zero[part.target][targets[fresh]] = True
        written[targets] = True

    @property
    def zero_rows(self) -> np.ndarray:
        """Rows of ``D`` to zero before each backward pass."""
        return np.flatnonzero(self.zero["D"]).astype(np.int64)

    @property
    def zero_params(self) -> np.ndarray:
        """Entries of ``G`` to zero before each backward pass."""
        return np.flatnonzero(self.zero["G"]).astype(np.int64)


class Bound:
    """An :class:`Access` bound to one workspace.

    Attributes:
        get: reads the operand (gathering it if needed) and returns an array broadcastable to
            ``(m, b)``; call it once per forward pass.
        value: returns the array of the last ``get`` without reading again (for backward).
        scatter: ``scatter(contrib)`` sends an ``(m, b)`` contribution to the gradients, or
            None if no position needs a gradient.
        direct: a view of ``D`` that a contribution may be written into directly (same effect
            as ``scatter``), or None.
    """

    __slots__ = ("get", "value", "scatter", "direct")

    def __init__(self, get: Callable[[], np.ndarray], value: Callable[[], np.ndarray],
                 scatter: Callable[[np.ndarray], None] | None,
                 direct: np.ndarray | None) -> None:
        self.get, self.value, self.scatter, self.direct = get, value, scatter, direct


class Access:
    """How an instruction reads its ``m`` operand values and returns their gradients.

    Args:
        locs: one location per operand position.
        need: for each position, whether its node needs a gradient.
        full: the consumer needs all ``m`` rows (a reduction); never read one repeated row as a
            broadcast ``(1, b)`` view.
    """

    def __init__(self, locs: Sequence[Loc], need: Sequence[bool], *, full: bool = False) -> None:
        self.m = m = len(locs)
        self.locs = list(locs)
        kinds = {loc.kind for loc in locs}
        self.kind = kinds.pop() if len(kinds) == 1 else None
        banks = {loc.bank for loc in locs if loc.kind == B}
        self.bank = banks.pop() if len(banks) == 1 else None
        if self.kind == B and self.bank is None:
            self.kind = None  # columns of two input arrays: gather them like mixed kinds
        idx = [loc.index for loc in locs]
        self.idx = np.array(idx, dtype=np.int64)
        self.form = "mixed"
        self.start = 0
        self.step = 1
        if self.kind in (V, B):
            if m > 1 and not full and len(set(idx)) == 1:
                self.form = "bcast"
                self.start = idx[0]
            else:
                r = arith_range(idx)
                if r is not None and r[1] == 1:
                    self.form, self.start = "slice", r[0]
                else:
                    self.form = "gather"
        elif self.kind == P:
            r = arith_range(idx)
            if r is not None:
                self.form, (self.start, self.step) = "slice", r
            else:
                self.form = "gather"
        elif self.kind == C:
            self.form = "const"
        self.consts = np.array([loc.value for loc in locs])
        self.parts = self._grad_parts(need)

    # -------------------------------------------------------------- gradients
    def _grad_parts(self, need: Sequence[bool]) -> list[GradPart]:
        parts: list[GradPart] = []
        kinds = np.array([loc.kind for loc in self.locs], dtype=np.int64)
        needs = np.array(need, dtype=bool)
        rows = np.flatnonzero((kinds == V) & needs)
        if len(rows):
            if self.kind == V and self.form == "bcast":
                parts.append(GradPart("D", None, self.idx[:1], reduce_rows=True))
            elif len(rows) == self.m:
                parts.append(GradPart("D", None, self.idx))
            else:
                parts.append(GradPart("D", rows, self.idx[rows]))
        params = np.flatnonzero(kinds == P)
        if len(params):
            positions = None if len(params) == self.m else params
            parts.append(GradPart("G", positions, self.idx[params]))
        return parts

    @property
    def needs_grad(self) -> bool:
        """Whether any position sends a gradient back."""
        return bool(self.parts)

    def plan(self, planner: Planner) -> None:
        """Let ``planner`` decide assign/add for each gradient target (in backward order)."""
        for part in self.parts:
            planner.plan(part)

    # -------------------------------------------------------------- binding
    def bind(self, ws: Any) -> Bound:
        """Read and scatter functions working on workspace ``ws`` (its V, D, banks, theta, G,
        dtype)."""
        get, value = self._bind_read(ws)
        scatter, direct = self._bind_scatter(ws)
        return Bound(get, value, scatter, direct)

    def _bind_read(self, ws: Any) -> tuple[Callable[[], np.ndarray], Callable[[], np.ndarray]]:
        m, b = self.m, ws.b
        form, start = self.form, self.start
        if self.kind == V and form in ("slice", "bcast"):
            view = ws.V[start:start + (m if form == "slice" else 1)]
            return (lambda: view), (lambda: view)
        if self.kind == B and form in ("slice", "bcast"):
            banks, k, stop = ws.banks, self.bank, start + (m if form == "slice" else 1)
            return (lambda: banks[k][start:stop]), (lambda: banks[k][start:stop])
        if self.kind == P and form == "slice":
            view = ws.theta[start:start + self.step * m:self.step][:, None]
            return (lambda: view), (lambda: view)
        if form == "const":
            const = self.consts[:, None].astype(ws.dtype)
            return (lambda: const), (lambda: const)
        idx = self.idx
        if self.kind == P:
            theta = ws.theta
            pbuf = np.empty((m, 1), ws.dtype)
            flat = pbuf[:, 0]

            def get_params() -> np.ndarray:
                np.take(theta, idx, out=flat, mode="clip")
                return pbuf
            return get_params, (lambda: pbuf)
        buf = np.empty((m, b), ws.dtype)
        if self.kind == V:
            V_ = ws.V

            def get_rows() -> np.ndarray:
                np.take(V_, idx, axis=0, out=buf, mode="clip")
                return buf
            return get_rows, (lambda: buf)
        if self.kind == B:
            banks, k = ws.banks, self.bank

            def get_columns() -> np.ndarray:
                np.take(banks[k], idx, axis=0, out=buf, mode="clip")
                return buf
            return get_columns, (lambda: buf)
        return self._bind_mixed(ws, buf)

    def _bind_mixed(self, ws: Any, buf: np.ndarray) -> tuple[Callable, Callable]:
        buf[:] = self.consts[:, None]  # constants stay; the other rows are rewritten per call
        fills: list[Callable[[], None]] = []
        kinds = np.array([loc.kind for loc in self.locs])
        banks_of = np.array([loc.bank if loc.kind == B else -1 for loc in self.locs])
        V_, theta, banks = ws.V, ws.theta, ws.banks
        for kind in (V, P):
            pos = np.flatnonzero(kinds == kind)
            if len(pos):
                idx = self.idx[pos]
                if kind == V:
                    fills.append(lambda pos=pos, idx=idx: buf.__setitem__(pos, V_[idx]))
                else:
                    fills.append(lambda pos=pos, idx=idx:
                                 buf.__setitem__(pos, theta[idx][:, None]))
        for k in sorted(set(banks_of[banks_of >= 0].tolist())):
            pos = np.flatnonzero(banks_of == k)
            idx = self.idx[pos]
            fills.append(lambda pos=pos, idx=idx, k=k: buf.__setitem__(pos, banks[k][idx]))

        def get_mixed() -> np.ndarray:
            for fill in fills:
                fill()
            return buf
        return get_mixed, (lambda: buf)

    def _bind_scatter(self, ws: Any) -> tuple[Callable[[np.ndarray], None] | None,
                                              np.ndarray | None]:
        if not self.parts:
            return None, None
        fns = [self._bind_part(part, ws) for part in self.parts]
        direct = None
        if (len(self.parts) == 1 and self.kind == V and self.form == "slice"
                and self.parts[0].positions is None and self.parts[0].mode == "assign"):
            direct = ws.D[self.start:self.start + self.m]
        if len(fns) == 1:
            return fns[0], direct

        def scatter_all(contrib: np.ndarray) -> None:
            for fn in fns:
                fn(contrib)
        return scatter_all, direct

    def _bind_part(self, part: GradPart, ws: Any) -> Callable[[np.ndarray], None]:
        pos, idx, mode = part.positions, part.index, part.mode
        if part.target == "D":
            D = ws.D
            if part.reduce_rows:
                row = D[int(idx[0]):int(idx[0]) + 1]
                if mode == "assign":
                    return lambda c: np.add.reduce(c, axis=0, keepdims=True, out=row)
                return lambda c: np.add(row, np.add.reduce(c, axis=0, keepdims=True), out=row)
            r = arith_range(idx)
            if pos is None and r is not None and r[1] == 1 and mode != "addat":
                view = D[r[0]:r[0] + len(idx)]
                if mode == "assign":
                    return lambda c: np.copyto(view, c)
                return lambda c: np.add(view, c, out=view)
            return _indexed(D, pos, idx, mode, reduce_batch=False)
        G = ws.G
        r = arith_range(idx)
        if pos is None and r is not None and mode != "addat":
            gview = G[r[0]:r[0] + r[1] * len(idx):r[1]]
            if mode == "assign":
                return lambda c: np.add.reduce(c, axis=1, out=gview)
            return lambda c: np.add(gview, np.add.reduce(c, axis=1), out=gview)
        return _indexed(G, pos, idx, mode, reduce_batch=True)

    # -------------------------------------------------------------- description
    def describe(self) -> str:
        """Where the operand lives, e.g. ``v[16:32]``, ``θ[784:13002:785]``, ``in0[0:784]``."""
        if self.form == "const":
            vals = self.consts
            return f"const {vals[0]:g}" if np.all(vals == vals[0]) else f"{self.m} consts"
        if self.kind is None:
            return f"{self.m} mixed"
        name = KIND_NAMES[self.kind] + (str(self.bank) if self.kind == B else "")
        if self.form == "bcast":
            return f"{name}[{self.start}]×{self.m}"
        return name + _span(self.idx)


def _indexed(target: np.ndarray, pos: np.ndarray | None, idx: np.ndarray, mode: str,
             reduce_batch: bool) -> Callable[[np.ndarray], None]:
    """Scatter through fancy indexing (rows of D, or batch sums into entries of G)."""
    def select(c: np.ndarray) -> np.ndarray:
        c = c if pos is None else c[pos]
        return c.sum(axis=1) if reduce_batch else c

    if mode == "assign":
        def assign(c: np.ndarray) -> None:
            target[idx] = select(c)
        return assign
    if mode == "add":
        def add(c: np.ndarray) -> None:
            target[idx] += select(c)
        return add

    def add_at(c: np.ndarray) -> None:
        np.add.at(target, idx, select(c))
    return add_at
