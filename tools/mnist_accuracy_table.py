"""Reproduce README.md's MNIST accuracy table: the test accuracy of the videos' network
784 → 16 → 16 → 10 (sigmoid, quadratic cost, mini-batch SGD, compiled) on the 1,000 held-out
digits of the shipped 5,000, over five seeds, for the recipes in the table.

Each run is exactly what ``python demos/train_digits.py --seed S [options]`` (or
``tinygrad-lite train --seed S``) trains: the same loader, shifted copies, initialisation and
mini-batch order, without the pictures. The seconds are CPU seconds of ``train()``; run with
``OMP_NUM_THREADS=1`` for one thread, as in the README. About a minute per recipe.

Run:  OMP_NUM_THREADS=1 python tools/mnist_accuracy_table.py [--seeds 0,1,2,3,4]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tinygrad_lite import MLP, DatasetSplit, load_mnist, shifted_copies, train  # noqa: E402

#: (recipe as in the README, how to run it, epochs, batch size, learning rate, shifts)
RECIPES = [
    ("one-pixel shifts, 10 epochs, batches of 20, η = 1 (the default)",
     "`python demos/train_digits.py`", 10, 20, 1.0, True),
    ("no shifts, 40 epochs, batches of 20, η = 1",
     "`python demos/train_digits.py --no-shift --epochs 40`", 40, 20, 1.0, False),
    ("no shifts, 15 epochs, batches of 10, η = 3",
     "`tinygrad-lite train --dataset mnist`", 15, 10, 3.0, False),
]

def run(seed: int, epochs: int, batch_size: int, lr: float, shift: bool) -> tuple[float, float]:
    """Test accuracy (0..1) after the last epoch, and the CPU seconds of the training (CPU
    time, not wall-clock time, so that other programs on a shared machine do not count)."""
    split = load_mnist()
    if shift:
        split = DatasetSplit(shifted_copies(split.train), split.test)
    model = MLP(784, [16, 16, 10], seed=seed)
    cpu = time.process_time()
    history = train(model, split, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed,
                    engine="compiled", progress=False, verbose=False)
    return history.test_accuracy[-1], time.process_time() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="0,1,2,3,4", help="comma-separated seeds")
    seeds = [int(s) for s in parser.parse_args().seeds.split(",")]
    print("| recipe | run | test accuracy, mean ± sd | min – max | training, CPU s |")
    print("|---|---|---|---|---|")
    for name, command, epochs, batch_size, lr, shift in RECIPES:
        results = [run(seed, epochs, batch_size, lr, shift) for seed in seeds]
        accs = [100 * acc for acc, _ in results]
        sd = statistics.stdev(accs) if len(accs) > 1 else 0.0
        secs = statistics.median(s for _, s in results)
        print(f"| {name} | {command} | {statistics.mean(accs):.1f}% ± {sd:.1f} | "
              f"{min(accs):.1f} – {max(accs):.1f}% | {secs:.1f} |", flush=True)
        print(f"<!-- seeds {seeds}: {', '.join(f'{a:.1f}%' for a in accs)} -->", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
