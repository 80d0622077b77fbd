"""The calls that differ between operating systems (facegan.system): the paths a system without POSIX's positional
reads and writes takes, and a system that can lock no file refused in one line before a run is written."""

import os

import pytest
from helpers import TINY
from typer.testing import CliRunner

from facegan import system
from facegan.cli import app
from facegan.errors import FaceganError
from facegan.runlock import RunLock


def test_reads_and_writes_at_an_offset_without_posixs_calls(tmp_path, monkeypatch):
    path = tmp_path / "f"
    path.write_bytes(b"0123456789")
    fd = os.open(path, os.O_RDWR)
    try:
        expected = system.read_at(fd, 4, 3)
        monkeypatch.delattr(os, "pread")
        monkeypatch.delattr(os, "pwrite")
        assert system.read_at(fd, 4, 3) == expected == b"3456"
        system.write_at(fd, b"ab", 8)
        assert system.read_at(fd, 100, 0) == b"01234567ab"
    finally:
        os.close(fd)


def test_a_system_that_can_lock_no_file_is_one_line_before_a_run_is_written(faces_npz, tmp_path, monkeypatch):
    monkeypatch.setattr(system, "fcntl", None)
    monkeypatch.setattr(system, "msvcrt", None)
    with pytest.raises(FaceganError, match=r"^facegan cannot lock a run directory on this system \(.+\): it runs on"):
        RunLock(tmp_path)
    result = CliRunner().invoke(app, ["train", "dcgan", "--data", str(faces_npz), "--epochs", "1", "--out", "run",
                                      *TINY])
    assert result.exit_code == 2 and result.stderr.startswith("error: facegan cannot lock a run directory")
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "run" / "config.json").exists()
