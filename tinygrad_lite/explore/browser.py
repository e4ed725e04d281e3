"""The headless Chromium the pages are checked and photographed with (no download needed).

Debian's ``chromium`` (and ``chromium-driver`` for Selenium) are found on ``PATH``;
:func:`screenshot` runs the browser once with the flags a closed network needs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Optional, Union

from tinygrad_lite._files import atomic_target, check_target

__all__ = ["CHROMIUM_FLAGS", "find_chromium", "find_chromedriver", "screenshot", "chromium_driver"]

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


@contextmanager
def chromium_driver(*, window_size: Optional[tuple[int, int]] = None,
              browser_log: bool = False) -> Iterator[Any]:
    """A Selenium WebDriver of the headless Chromium, with a fresh profile removed afterwards.

    For the browser tests and the explore benchmark; needs ``selenium`` (the ``test`` extra)
    and Debian's ``chromium`` and ``chromium-driver``. ``browser_log`` keeps the console log
    (``driver.get_log("browser")``).

    Raises:
        RuntimeError: Chromium or chromedriver is not on PATH.
        ImportError: selenium is not installed.
    """
    chromium, driver_path = find_chromium(), find_chromedriver()
    if chromium is None or driver_path is None:
        raise RuntimeError("the browser needs chromium and chromedriver on PATH: apt-get "
                           "install chromium chromium-driver (Debian/Ubuntu)")
    from selenium import webdriver as selenium_webdriver
    from selenium.webdriver.chrome.service import Service

    options = selenium_webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    if window_size is not None:
        options.add_argument(f"--window-size={window_size[0]},{window_size[1]}")
    if browser_log:
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    with tempfile.TemporaryDirectory(prefix="tinygrad-lite-chromium-") as profile:
        options.add_argument(f"--user-data-dir={profile}")
        driver = selenium_webdriver.Chrome(service=Service(executable_path=driver_path),
                                           options=options)
        try:
            yield driver
        finally:
            driver.quit()
