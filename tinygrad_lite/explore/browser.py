"""The headless Chromium the pages are checked and photographed with (no download needed).

Debian's ``chromium`` (and ``chromium-driver`` for Selenium) are found on ``PATH``;
:func:`screenshot` runs the browser once with the flags a closed network needs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Optional, Union

from tinygrad_lite._files import atomic_target, check_target

__all__ = ["CHROMIUM_FLAGS", "find_chromium", "find_chromedriver", "screenshot"]

#: Headless, and nothing that would reach for the network on its own.
CHROMIUM_FLAGS: tuple[str, ...] = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
    "--hide-scrollbars",
)

_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> Optional[str]:
    """The path of a Chromium (or Chrome) program on PATH, or None."""
    return next((p for p in map(shutil.which, _NAMES) if p), None)


def find_chromedriver() -> Optional[str]:
    """The path of ``chromedriver`` on PATH, or None."""
    return shutil.which("chromedriver")


def screenshot(page: Union[str, "os.PathLike[str]"], png: Union[str, "os.PathLike[str]"], *,
               fragment: str = "", size: tuple[int, int] = (1400, 1000),
               timeout: float = 120.0) -> Path:
    """Open ``page`` (an .html file) in headless Chromium and save what it shows as ``png``.

    ``fragment`` is appended to the URL (``"step=7"`` opens step 7). The PNG is written
    atomically. Raises RuntimeError when no Chromium is installed or it fails.
    """
    browser = find_chromium()
    if browser is None:
        raise RuntimeError("screenshots need Chromium: apt-get install chromium (Debian/Ubuntu)")
    target = check_target(png, "screenshot")
    url = Path(page).resolve().as_uri() + (f"#{fragment}" if fragment else "")
    with tempfile.TemporaryDirectory(prefix="tinygrad-lite-chromium-") as profile, \
            atomic_target(target) as tmp:
        shot = Path(profile) / "shot.png"
        done = subprocess.run(
            [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--screenshot={shot}",
             f"--window-size={size[0]},{size[1]}", "--virtual-time-budget=2000", url],
            capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0 or not shot.exists():
            raise RuntimeError(f"chromium could not take the screenshot of {url}: "
                               f"{done.stderr.strip()[-300:]}")
        shutil.move(str(shot), tmp)
    return target
