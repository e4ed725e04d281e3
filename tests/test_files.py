"""Tests for tinygrad_lite._files: atomic writes and target checks."""

import os
import stat

import pytest

import tinygrad_lite._files as files
from tinygrad_lite._files import atomic_target, atomic_write, check_target


def test_atomic_write_writes_bytes_and_text(tmp_path):
    atomic_write(tmp_path / "a.bin", b"\x00\x01")
    atomic_write(tmp_path / "b.txt", "σ(z)")
    assert (tmp_path / "a.bin").read_bytes() == b"\x00\x01"
    assert (tmp_path / "b.txt").read_text(encoding="utf-8") == "σ(z)"
    assert sorted(os.listdir(tmp_path)) == ["a.bin", "b.txt"]


def test_written_files_get_the_permissions_open_would_give():
    old = os.umask(0o022)
    try:
        import tempfile

        with tempfile.TemporaryDirectory() as d:
            atomic_write(os.path.join(d, "f"), "x")
            mode = stat.S_IMODE(os.stat(os.path.join(d, "f")).st_mode)
    finally:
        os.umask(old)
    assert mode == 0o644


def test_a_failed_rename_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "f.txt"
    target.write_text("old")

    def broken_replace(src, dst):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(files.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, "new")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["f.txt"]


def test_an_error_inside_atomic_target_removes_the_temporary(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with atomic_target(tmp_path / "f.png") as tmp:
            tmp.write_bytes(b"half")
            raise KeyboardInterrupt
    assert os.listdir(tmp_path) == []


def test_check_target_names_what_is_wrong(tmp_path):
    (tmp_path / "file").write_text("x")
    (tmp_path / "dir").mkdir()
    with pytest.raises(FileNotFoundError, match="does not exist"):
        check_target(tmp_path / "missing" / "m.json", "model")
    with pytest.raises(NotADirectoryError, match="is not a folder"):
        check_target(tmp_path / "file" / "m.json", "model")
    with pytest.raises(IsADirectoryError, match="cannot save the model .* it is a folder"):
        check_target(tmp_path / "dir", "model")
    with pytest.raises(TypeError, match="got int"):
        check_target(3, "model")
    assert check_target(str(tmp_path / "ok.json"), "model") == tmp_path / "ok.json"


def test_the_file_and_its_folder_are_synced_before_and_after_the_rename(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = files.os.fsync, files.os.replace
    monkeypatch.setattr(files.os, "fsync", lambda fd: events.append("fsync") or real_fsync(fd))
    monkeypatch.setattr(files.os, "replace",
                        lambda a, b: events.append("replace") or real_replace(a, b))
    with atomic_target(tmp_path / "fig.png") as tmp:
        tmp.write_bytes(b"png")  # a writer that knows nothing of fsync, like savefig
    assert events == ["fsync", "replace", "fsync"]
    assert (tmp_path / "fig.png").read_bytes() == b"png"


# ------------------------------------------------------------------ what is never replaced
def test_a_device_is_never_replaced(tmp_path):
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    with pytest.raises(FileExistsError, match="it is a device, not a regular file"):
        atomic_write("/dev/null", "x")
    with pytest.raises(FileExistsError, match="device"):
        check_target("/dev/null", "model")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_a_named_pipe_is_never_replaced(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(FileExistsError, match="named pipe"):
        atomic_write(fifo, "x")
    with pytest.raises(FileExistsError, match="named pipe"):
        with atomic_target(fifo):
            pass  # pragma: no cover - refused before the block runs
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert os.listdir(tmp_path) == ["pipe"]


def test_a_symbolic_link_is_followed_and_kept(tmp_path):
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    atomic_write(link, "new")
    assert link.is_symlink() and real.read_text() == "new"


def test_a_replaced_file_keeps_its_permission_bits(tmp_path):
    target = tmp_path / "secret.json"
    target.write_text("old")
    os.chmod(target, 0o600)
    atomic_write(target, "new")
    assert target.read_text() == "new"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600


def test_a_long_legal_file_name_is_written(tmp_path):
    name = "m" * 245 + ".json"  # 250 bytes: legal, but the temporary name must stay shorter
    atomic_write(tmp_path / name, "x")
    assert (tmp_path / name).read_text() == "x"
    assert os.listdir(tmp_path) == [name]
    wide = "σ" * 123 + ".json"  # 251 bytes of UTF-8: cut on a character boundary
    atomic_write(tmp_path / wide, "y")
    assert (tmp_path / wide).read_text() == "y"


def _unwritable_folder(tmp_path):
    if os.geteuid() == 0:  # root ignores permission bits; /sys refuses new files even to root
        return "/sys"
    folder = tmp_path / "ro"
    folder.mkdir()
    os.chmod(folder, 0o555)
    return str(folder)


def test_check_writable_refuses_a_folder_that_takes_no_new_files(tmp_path):
    folder = _unwritable_folder(tmp_path)
    with pytest.raises(PermissionError, match="does not take new files"):
        files.check_writable(os.path.join(folder, "m.json"), "model")
    assert files.check_writable(tmp_path / "ok.json", "model") == tmp_path / "ok.json"
    assert sorted(os.listdir(tmp_path)) == (["ro"] if os.geteuid() else [])
