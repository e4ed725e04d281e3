"""Atomic file output shared by every module that writes files (models, graphs, figures).

A file is first written to a temporary name in the target's folder, flushed to disk, then
renamed over the target with ``os.replace``: readers see the old file or the new one, never a
half-written one, and a failure leaves no temporary file behind.

Guarantees, for every writer that goes through this module:

* only a regular file (or nothing) is ever replaced: a device such as ``/dev/null``, a named
  pipe, a socket or a folder at the target is refused with an error, never turned into a file;
  a symbolic link is followed, so the file it points to is replaced and the link stays;
* a file that is replaced keeps its permission bits (and, where allowed, its owner): re-saving
  a 0600 model leaves it 0600; a new file gets the usual ``0o666`` less the umask;
* the temporary name fits in the folder's limit for file names, however long the target's is.
"""

from __future__ import annotations

import os
import secrets
import stat
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Union

StrPath = Union[str, "os.PathLike[str]"]

# Bytes the temporary name adds around (a prefix of) the target's name: "." + "." + 12 hex + ".tmp".
_TEMP_OVERHEAD = 18
_DEFAULT_NAME_MAX = 255


def check_target(path: StrPath, what: str) -> Path:
    """``path`` as a Path whose folder exists and which is absent or a regular file.

    Raises:
        TypeError: ``path`` is not a str or os.PathLike.
        FileNotFoundError / NotADirectoryError: the folder does not exist / is a file.
        IsADirectoryError: ``path`` is a folder.
        FileExistsError: ``path`` is a device, named pipe or socket (it is never replaced).
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
    _refuse_special(_resolved(path), what)
    return path


def check_writable(path: StrPath, what: str) -> Path:
    """:func:`check_target`, then prove the folder takes new files: create and remove a probe.

    For long jobs that save at the end (training), so that a read-only folder is reported
    before the work instead of after it.

    Raises:
        PermissionError: the folder does not take new files (read-only, no write permission).
        The errors of :func:`check_target`.
    """
    path = check_target(path, what)
    folder = _resolved(path).parent
    probe = folder / _temporary_name(folder, path.name)
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise PermissionError(f"cannot save the {what} to {str(path)!r}: the folder "
                              f"{str(folder)!r} does not take new files ({exc.strerror})") from None
    os.close(fd)
    os.unlink(probe)
    return path


def _resolved(path: Path) -> Path:
    """``path`` with a symbolic link at its end followed (to the file it points to)."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def _refuse_special(path: Path, what: str) -> None:
    """FileExistsError if something other than a regular file (or a folder) is at ``path``."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return
    kind = ("a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else
            "a named pipe" if stat.S_ISFIFO(mode) else
            "a socket" if stat.S_ISSOCK(mode) else "not a regular file")
    raise FileExistsError(f"cannot save the {what} to {str(path)!r}: it is {kind}, not a regular "
                          "file, and is never replaced; choose a file name")


def _name_max(folder: Path) -> int:
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):  # no pathconf (Windows) or no limit known
        return _DEFAULT_NAME_MAX


def _temporary_name(folder: Path, name: str) -> str:
    """``.{name}.{random}.tmp``, with ``name`` cut so that the whole fits the folder's limit."""
    room = max(1, _name_max(folder) - _TEMP_OVERHEAD)
    stem = name.encode("utf-8", "surrogateescape")[:room].decode("utf-8", "ignore")
    return f".{stem}.{secrets.token_hex(6)}.tmp"


@contextmanager
def atomic_target(path: StrPath, what: str = "file") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success sync it and rename it over ``path``.

    For writers that want a file name (matplotlib's ``savefig``, say). If the block raises,
    the temporary file is removed and ``path`` is untouched. ``path`` must be absent or a
    regular file (a link to one is followed); its permission bits carry over.

    Raises:
        FileExistsError: a device, named pipe or socket is at ``path``.
    """
    path = _resolved(Path(path))
    _refuse_special(path, what)
    tmp = path.with_name(_temporary_name(path.parent, path.name))
    try:
        yield tmp
        _fsync(tmp)
        _keep_mode(path, tmp, what)
        os.replace(tmp, path)
        _fsync(path.parent)  # make the rename itself durable
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _keep_mode(path: Path, tmp: Path, what: str) -> None:
    """Give ``tmp`` the permission bits (and owner, where allowed) of the file at ``path``."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return
    _refuse_special(path, what)  # it may have appeared while the data was being written
    os.chmod(tmp, stat.S_IMODE(st.st_mode))
    try:
        os.chown(tmp, st.st_uid, st.st_gid)
    except (OSError, AttributeError):  # not the owner (or no chown): the mode is what matters
        pass


def atomic_write(path: StrPath, data: Union[bytes, str], what: str = "file") -> None:
    """Write ``data`` (bytes, or str as UTF-8) to ``path`` atomically (see :func:`atomic_target`).

    A new file gets the permissions ``open()`` would give it (0o666 less the umask); a replaced
    file keeps its own.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    with atomic_target(path, what) as tmp:
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
