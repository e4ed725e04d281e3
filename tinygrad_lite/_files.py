"""Atomic file output shared by every module that writes files (models, graphs, figures).

A file is first written to a temporary name in the target's folder, flushed to disk, then
renamed over the target with ``os.replace``: readers see the old file or the new one, never a
half-written one, and a failure leaves no temporary file behind.
"""

from __future__ import annotations

import os
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Union

StrPath = Union[str, "os.PathLike[str]"]


def check_target(path: StrPath, what: str) -> Path:
    """``path`` as a Path whose folder exists and which is not itself a folder.

    Raises:
        TypeError: ``path`` is not a str or os.PathLike.
        FileNotFoundError / NotADirectoryError: the folder does not exist / is a file.
        IsADirectoryError: ``path`` is a folder.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    path = Path(path)
    folder = path.parent
    if not folder.exists():
        raise FileNotFoundError(f"cannot save {str(path)!r}: the folder {str(folder)!r} does "
                                "not exist (create it first)")
    if not folder.is_dir():
        raise NotADirectoryError(f"cannot save {str(path)!r}: {str(folder)!r} is not a folder")
    if path.is_dir():
        raise IsADirectoryError(f"cannot save the {what} to {str(path)!r}: it is a folder")
    return path


@contextmanager
def atomic_target(path: StrPath) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success sync it and rename it over ``path``.

    For writers that want a file name (matplotlib's ``savefig``, say). If the block raises,
    the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, path)
        _fsync(path.parent)  # make the rename itself durable
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def atomic_write(path: StrPath, data: Union[bytes, str]) -> None:
    """Write ``data`` (bytes, or str as UTF-8) to ``path`` atomically (see :func:`atomic_target`).

    The file gets the permissions ``open()`` would give it (0o666 less the umask).
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    with atomic_target(path) as tmp:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as f:
            f.write(data)


def _fsync(path: Path) -> None:
    """Flush ``path`` (a file, or a folder's entries) to disk, where the system allows it."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # e.g. folders cannot be opened on Windows
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
