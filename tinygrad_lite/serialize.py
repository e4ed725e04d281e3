"""Save and load an :class:`~tinygrad_lite.nn.MLP` as JSON, and move its weights to NumPy.

The file is plain JSON, readable by any tool and never executed on load (no pickle)::

    {"format": "tinygrad_lite.mlp", "version": 1,
     "nin": 64, "nouts": [16, 16, 10], "activations": ["sigmoid", "sigmoid", "sigmoid"],
     "notation": "layers[l-1].weights[j][k] is w⁽ˡ⁾ⱼ,ₖ ...",
     "layers": [{"weights": [[...64 floats...], ...16 rows...], "biases": [...16 floats...]},
                ...]}

``weights[j][i]`` is the weight from input i to neuron j of that layer (the matrix W of
a = σ(W x + b)). Floats are written with ``repr`` precision, so a round trip is exact.
Saving is atomic: the JSON goes to a temporary file in the same folder that then replaces the
target, so an interrupted save never leaves a half-written model.

For NumPy (and anything that reads ``.npz``), :func:`save_npz` writes the same model as arrays
``W0, b0, W1, b1, ...`` plus ``activations``; :func:`load_npz` reads it back with
``allow_pickle=False``, so loading never runs code either.
"""

from __future__ import annotations

import io
import json
import math
import numbers
import zipfile
from os import PathLike
from pathlib import Path
from typing import Any, Sequence, Union

import numpy as np

from tinygrad_lite._files import atomic_write, check_target
from tinygrad_lite.nn import ACTIVATIONS, MLP, weight_label

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "NOTATION", "save_model", "load_model", "model_to_dict",
           "model_from_dict", "to_arrays", "from_arrays", "save_npz", "load_npz"]

#: The ``"format"`` field of a saved model.
FORMAT_NAME = "tinygrad_lite.mlp"
#: The ``"version"`` field this code writes and reads.
FORMAT_VERSION = 1

StrPath = Union[str, "PathLike[str]"]

#: The ``"notation"`` field of a saved model: which number is which parameter, in the names the
#: videos, the pictures and ``repr`` use (read as documentation; loading ignores it).
NOTATION = ("layers[l-1].weights[j][k] is w⁽ˡ⁾ⱼ,ₖ = w^(l)_{j,k}, the weight from neuron k of "
            "layer l-1 to neuron j of layer l (layers[1].weights[3][5] is "
            f"{weight_label(2, 3, 5)}); layers[l-1].biases[j] is b⁽ˡ⁾ⱼ = b^(l)_j; layer 0 is "
            "the input")


def to_arrays(model: MLP) -> list[tuple[np.ndarray, np.ndarray]]:
    """The weights as NumPy arrays: one ``(W, b)`` per layer, W of shape ``(nout, nin)``.

    The arrays are copies (float64); changing them does not change the model. The network
    computes ``a = act(W @ a_prev + b)`` layer by layer.
    """
    if not isinstance(model, MLP):
        raise TypeError(f"model must be an MLP, got {type(model).__name__}")
    return [
        (np.array([[w.data for w in n.w] for n in layer.neurons], dtype=np.float64),
         np.array([n.b.data for n in layer.neurons], dtype=np.float64))
        for layer in model.layers
    ]


def from_arrays(arrays: Sequence[tuple[Any, Any]],
                activation: str | Sequence[str] = "sigmoid") -> MLP:
    """Build an :class:`MLP` from per-layer ``(W, b)`` arrays (the inverse of :func:`to_arrays`).

    Args:
        arrays: one ``(W, b)`` per layer; W of shape ``(nout, nin)``, b of shape ``(nout,)``;
            each layer's ``nin`` must equal the previous layer's ``nout``.
        activation: one name for every layer or one per layer.

    Raises:
        ValueError: no layers, wrong shapes, mismatched layer sizes, nan/inf entries.
        TypeError: entries that are not real numbers.
    """
    if isinstance(arrays, (str, bytes)) or not isinstance(arrays, Sequence) or not arrays:
        raise ValueError("arrays must be a non-empty list of (W, b) pairs, one per layer")
    weights: list[np.ndarray] = []
    biases: list[np.ndarray] = []
    for i, pair in enumerate(arrays):
        if not isinstance(pair, Sequence) or len(pair) != 2:
            raise ValueError(f"layer {i}: expected a (W, b) pair")
        w, b = (_float_array(a, f"layer {i} {name}") for a, name in zip(pair, ("W", "b")))
        if w.ndim != 2 or w.shape[0] < 1 or w.shape[1] < 1:
            raise ValueError(f"layer {i}: W must be a non-empty 2-D array (nout, nin), "
                             f"got shape {w.shape}")
        if b.shape != (w.shape[0],):
            raise ValueError(f"layer {i}: b must have shape ({w.shape[0]},) to match W "
                             f"{w.shape}, got {b.shape}")
        if weights and w.shape[1] != weights[-1].shape[0]:
            raise ValueError(f"layer {i}: W has {w.shape[1]} inputs but layer {i - 1} has "
                             f"{weights[-1].shape[0]} outputs")
        weights.append(w)
        biases.append(b)
    model = MLP(int(weights[0].shape[1]), [int(w.shape[0]) for w in weights], activation, seed=0)
    _assign(model, [w.tolist() for w in weights], [b.tolist() for b in biases])
    return model


def _float_array(a: Any, what: str) -> np.ndarray:
    try:
        arr = np.asarray(a)
    except Exception as exc:  # ragged nested lists and the like
        raise ValueError(f"{what}: not a rectangular array of numbers ({exc})") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{what}: must hold real numbers, got dtype {arr.dtype}")
    if np.iscomplexobj(arr):
        raise TypeError(f"{what}: must hold real numbers, got complex")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what}: contains nan or infinite values")
    return arr


def _assign(model: MLP, weights: list[list[list[float]]], biases: list[list[float]]) -> None:
    for layer, w_rows, b_row in zip(model.layers, weights, biases):
        for neuron, row, b in zip(layer.neurons, w_rows, b_row):
            for v, x in zip(neuron.w, row):
                v.data = float(x)
                v.grad = 0.0
            neuron.b.data = float(b)
            neuron.b.grad = 0.0


def model_to_dict(model: MLP) -> dict[str, Any]:
    """The JSON-ready description of ``model`` (format, version, architecture, weights)."""
    if not isinstance(model, MLP):
        raise TypeError(f"model must be an MLP, got {type(model).__name__}")
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "nin": model.nin,
        "nouts": list(model.nouts),
        "activations": list(model.activations),
        "notation": NOTATION,
        "layers": [{"weights": w.tolist(), "biases": b.tolist()} for w, b in to_arrays(model)],
    }


def _is_number(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _number_list(values: Any, length: int, where: str) -> list[float]:
    if not isinstance(values, list):
        raise ValueError(f"{where}: expected a list of {length} numbers, got {type(values).__name__}")
    if len(values) != length:
        raise ValueError(f"{where}: expected {length} numbers, got {len(values)}")
    out = []
    for i, x in enumerate(values):
        if not _is_number(x):
            raise ValueError(f"{where}[{i}]: expected a number, got {type(x).__name__} {x!r:.40}")
        try:
            x = float(x)
        except OverflowError:  # a JSON integer beyond any float
            raise ValueError(f"{where}[{i}]: weights must be finite, got an integer of "
                             f"{len(str(abs(x)))} digits") from None
        if not math.isfinite(x):
            raise ValueError(f"{where}[{i}]: weights must be finite, got {x}")
        out.append(x)
    return out


def model_from_dict(d: Any, source: str = "model") -> MLP:
    """Rebuild an :class:`MLP` from :func:`model_to_dict` output, validating everything.

    Raises:
        ValueError: a foreign format, an unsupported version, or a missing, mistyped or
            mis-shaped field; the message starts with ``source`` and names the field.
    """
    if not isinstance(d, dict):
        raise ValueError(f"{source}: not a tinygrad_lite model (expected a JSON object, "
                         f"got {type(d).__name__})")
    fmt = d.get("format")
    if fmt != FORMAT_NAME:
        raise ValueError(f"{source}: not a tinygrad_lite model (format is {fmt!r}, "
                         f"expected {FORMAT_NAME!r})")
    version = d.get("version")
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise ValueError(f"{source}: unsupported model file version {version!r} "
                         f"(this tinygrad_lite reads version {FORMAT_VERSION})")
    for key in ("nin", "nouts", "activations", "layers"):
        if key not in d:
            raise ValueError(f"{source}: missing field {key!r}")
    nin, nouts, acts, layers = d["nin"], d["nouts"], d["activations"], d["layers"]
    if not isinstance(nin, int) or isinstance(nin, bool) or nin < 1:
        raise ValueError(f"{source}: 'nin' must be a positive integer, got {nin!r:.40}")
    if (not isinstance(nouts, list) or not nouts
            or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in nouts)):
        raise ValueError(f"{source}: 'nouts' must be a non-empty list of positive integers, "
                         f"got {nouts!r:.60}")
    if not isinstance(acts, list) or len(acts) != len(nouts):
        raise ValueError(f"{source}: 'activations' must be a list of {len(nouts)} names")
    for i, a in enumerate(acts):
        if a not in ACTIVATIONS:
            raise ValueError(f"{source}: activations[{i}] is {a!r:.40}; valid: "
                             f"{', '.join(ACTIVATIONS)}")
    if not isinstance(layers, list) or len(layers) != len(nouts):
        raise ValueError(f"{source}: 'layers' must be a list of {len(nouts)} layers")
    weights, biases = [], []
    sizes = [nin] + nouts
    for li, layer in enumerate(layers):
        where = f"{source}: layers[{li}]"
        if not isinstance(layer, dict) or "weights" not in layer or "biases" not in layer:
            raise ValueError(f"{where}: expected an object with 'weights' and 'biases'")
        rows = layer["weights"]
        if not isinstance(rows, list) or len(rows) != sizes[li + 1]:
            raise ValueError(f"{where}.weights: expected {sizes[li + 1]} rows (one per neuron), "
                             f"got {len(rows) if isinstance(rows, list) else type(rows).__name__}")
        weights.append([_number_list(r, sizes[li], f"{where}.weights[{j}]")
                        for j, r in enumerate(rows)])
        biases.append(_number_list(layer["biases"], sizes[li + 1], f"{where}.biases"))
    model = MLP(nin, nouts, acts, seed=0)
    _assign(model, weights, biases)
    return model


def _reject_constant(name: str) -> float:
    raise ValueError(f"non-finite number {name} (weights must be finite)")


def save_model(model: MLP, path: StrPath) -> None:
    """Write ``model`` to ``path`` as JSON, atomically (temp file + ``os.replace``).

    On any failure the target is left untouched and no temporary file remains.

    Raises:
        TypeError: ``model`` is not an MLP.
        ValueError: a weight is nan/inf (the format does not allow them).
        OSError: the folder does not exist or is not writable.
    """
    d = model_to_dict(model)
    try:
        text = json.dumps(d, allow_nan=False, separators=(",", ":"))
    except ValueError:
        raise ValueError("cannot save a model with nan or infinite weights") from None
    atomic_write(check_target(path, "model"), text + "\n")


def load_model(path: StrPath) -> MLP:
    """Read a model written by :func:`save_model`. Only parses JSON; never executes code.

    Raises:
        FileNotFoundError / OSError: the file cannot be read.
        ValueError: not valid UTF-8 JSON, a foreign format or version, wrong shapes,
            non-numeric or non-finite weights; the message starts with the path.
    """
    path = Path(path)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
        d = json.loads(text, parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a tinygrad_lite model (not UTF-8 text)") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not a tinygrad_lite model (invalid JSON: {exc})") from None
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    except RecursionError:
        raise ValueError(f"{path}: not a tinygrad_lite model (JSON nested too deeply)") from None
    return model_from_dict(d, str(path))


def save_npz(model: MLP, path: StrPath) -> None:
    """Write ``model``'s weights to a NumPy ``.npz`` file, atomically.

    The archive holds ``W0, b0, W1, b1, ...`` (``W`` of shape ``(nout, nin)``, as
    :func:`to_arrays`), ``activations`` (one name per layer) and ``format``/``version``;
    ``np.load(path)["W0"]`` is the first layer's weight matrix. Plain arrays only, no pickle.

    Raises:
        TypeError: ``model`` is not an MLP.
        OSError: the folder does not exist or is not writable.
    """
    if not isinstance(model, MLP):
        raise TypeError(f"model must be an MLP, got {type(model).__name__}")
    arrays: dict[str, np.ndarray] = {"format": np.array(FORMAT_NAME),
                                     "version": np.array(FORMAT_VERSION),
                                     "activations": np.array(model.activations)}
    for i, (w, b) in enumerate(to_arrays(model)):
        arrays[f"W{i}"], arrays[f"b{i}"] = w, b
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    atomic_write(check_target(path, "weights"), buffer.getvalue())


def load_npz(path: StrPath) -> MLP:
    """Read a model written by :func:`save_npz` (``np.load(..., allow_pickle=False)``).

    Raises:
        FileNotFoundError / OSError: the file cannot be read.
        ValueError: not an ``.npz`` archive of a tinygrad_lite model, or arrays of the wrong
            shape or kind; the message starts with the path.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        if isinstance(exc, FileNotFoundError) or not path.is_file():
            raise
        raise ValueError(f"{path}: not a tinygrad_lite .npz file ({exc})") from None
    except ValueError as exc:  # pickled (object) arrays, or not an archive at all
        raise ValueError(f"{path}: not a tinygrad_lite .npz file ({exc})") from None
    try:
        return _model_from_npz(arrays)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: {exc}") from None


def _model_from_npz(arrays: dict[str, np.ndarray]) -> MLP:
    fmt = arrays.get("format")
    if fmt is None or fmt.shape != () or str(fmt) != FORMAT_NAME:
        raise ValueError(f"not a tinygrad_lite model (no format {FORMAT_NAME!r})")
    version = arrays.get("version")
    if version is None or version.shape != () or version.dtype.kind not in "iu" or int(
            version) != FORMAT_VERSION:
        raise ValueError(f"unsupported version (this tinygrad_lite reads version {FORMAT_VERSION})")
    acts = arrays.get("activations")
    if acts is None or acts.ndim != 1 or acts.dtype.kind != "U" or len(acts) == 0:
        raise ValueError("'activations' must be a list of layer activation names")
    names = [str(a) for a in acts]
    for i, a in enumerate(names):
        if a not in ACTIVATIONS:
            raise ValueError(f"activations[{i}] is {a!r:.40}; valid: {', '.join(ACTIVATIONS)}")
    expected = {"format", "version", "activations"} | {f"{k}{i}" for i in range(len(names))
                                                       for k in "Wb"}
    if set(arrays) != expected:
        extra, missing = sorted(set(arrays) - expected), sorted(expected - set(arrays))
        raise ValueError(f"expected arrays W0..W{len(names) - 1} and b0..b{len(names) - 1} for "
                         f"{len(names)} layers; missing {missing}, unexpected {extra}")
    return from_arrays([(arrays[f"W{i}"], arrays[f"b{i}"]) for i in range(len(names))], names)
