"""A synthetic MNIST-shaped data set, so benchmarks need no download.

``synthetic_mnist()`` returns 60,000 images of 28×28 = 784 float64 pixels in [0, 1] with labels
0..9, deterministic for a seed. Each class has a prototype made of a few soft strokes; an image
is its class prototype, shifted by up to two pixels, scaled in brightness and with a little
noise, then clipped to [0, 1]; pixels far from any stroke are exactly 0, as in MNIST (about 20%
of pixels are non-zero). The classes are learnable, so a training run shows falling costs, but
nothing here claims to resemble handwriting.
"""

from __future__ import annotations

import numpy as np

__all__ = ["synthetic_mnist"]

SIDE = 28


def _prototypes(rng: np.random.Generator, n_classes: int) -> np.ndarray:
    yy, xx = np.mgrid[0:SIDE, 0:SIDE].astype(np.float64)
    protos = np.zeros((n_classes, SIDE, SIDE))
    for c in range(n_classes):
        for _ in range(3):  # three strokes: a short line segment blurred into a soft ridge
            x0, y0, x1, y1 = rng.uniform(6, 22, 4)
            t = np.linspace(0.0, 1.0, 12)
            for xs, ys in zip(x0 + t * (x1 - x0), y0 + t * (y1 - y0)):
                protos[c] = np.maximum(protos[c],
                                       np.exp(-((xx - xs) ** 2 + (yy - ys) ** 2) / 2.5))
    protos[protos < 0.15] = 0.0
    return protos


def synthetic_mnist(n: int = 60_000, seed: int = 0, n_classes: int = 10,
                    chunk: int = 10_000) -> tuple[np.ndarray, np.ndarray]:
    """``(images, labels)``: ``images`` float64 of shape ``(n, 784)`` in [0, 1], ``labels``
    int64 of shape ``(n,)``, the same for the same ``seed``.

    Built ``chunk`` images at a time, so the peak memory is the result plus a few chunks.
    """
    if n < 1:
        raise ValueError(f"n must be positive, got {n}")
    rng = np.random.default_rng(seed)
    protos = _prototypes(rng, n_classes)
    shifts = [(sy, sx) for sy in range(-2, 3) for sx in range(-2, 3)]
    # every class prototype under every shift: row = label * len(shifts) + shift
    table = np.array([np.roll(p, s, axis=(0, 1)).ravel() for p in protos for s in shifts])
    labels = rng.integers(0, n_classes, n).astype(np.int64)
    images = np.empty((n, SIDE * SIDE))
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        m = stop - start
        rows = labels[start:stop] * len(shifts) + rng.integers(0, len(shifts), m)
        flat = table[rows]
        flat *= rng.uniform(0.7, 1.0, (m, 1))
        mask = flat > 0.0
        flat += mask * rng.normal(0.0, 0.08, flat.shape)
        np.clip(flat, 0.0, 1.0, out=flat)
        images[start:stop] = flat
    return images, labels
