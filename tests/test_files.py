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
