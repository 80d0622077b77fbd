"""The lock of a run directory: the one process that writes a run holds an OS file lock (facegan.system) on its
`lock` file, in which it writes its pid, host and start time. The OS releases the lock when the process
ends, however it ends (a SIGKILL included), so a stale lock never stays behind on a local disk. A second
writer is refused before it writes anything. Readers (sample, eval, compare, ...) take no lock: every
file they read is written whole and renamed into place (facegan.files)."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

from facegan import rundir, system
from facegan.errors import FaceganError


class RunLock:
    def __init__(self, run: Path):
        self.path = Path(run) / rundir.LOCK
        try:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise FaceganError(f"cannot create the lock of {run}: {error}") from None
        try:
            locked = system.lock(self.fd)
        except FaceganError:  # a system that can lock no file
            self.release()
            raise
        if not locked:
            holder = self.holder()
            self.release()
            raise FaceganError(f"{run} is being written by another process ({holder}); wait for it to end, "
                               "or stop it first")
        try:
            os.ftruncate(self.fd, 0)
            system.write_at(self.fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                                 "started": time.strftime("%Y-%m-%d %H:%M:%S")}).encode(), 0)
        except OSError as error:
            self.release()
            raise FaceganError(f"cannot write the lock of {run}: {error}") from None

    def holder(self) -> str:
        try:
            held = json.loads(system.read_at(self.fd, 4096, 0))
            return f"pid {held['pid']} on {held['host']}, since {held['started']}"
        except (ValueError, KeyError, TypeError):  # the holder has not written itself in yet
            return "it has just started"

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing the descriptor releases the lock
            self.fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.release()
