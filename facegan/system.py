"""The calls facegan makes that differ between operating systems, in one place: the run's lock, reads and writes at an
offset, and a new file's permissions. POSIX systems (Linux, where facegan is tested; macOS) have them all. Windows
has a lock of its own (msvcrt's byte-range locks) and no permissions to set; reads there seek, then read, on a file
opened for that read alone. Any other system cannot lock a run, which `lock` says in one line.
"""

from __future__ import annotations

import os

from facegan.errors import FaceganError

try:
    import fcntl
except ImportError:  # not a POSIX system
    fcntl = None
try:
    import msvcrt
except ImportError:  # not Windows
    msvcrt = None

LOCKED_BYTE = 1 << 30  # Windows locks bytes: one far past the holder's record, which others must still read


def lock(fd: int) -> bool:
    """Take the exclusive lock of the open file `fd` without waiting: True, or False where another process holds
    it. The operating system releases it when the file is closed or its process ends, however it ends."""
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        elif msvcrt is not None:
            os.lseek(fd, LOCKED_BYTE, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        else:
            raise FaceganError(f"facegan cannot lock a run directory on this system ({os.name}): it runs on Linux, "
                               "macOS and Windows")
    except OSError:
        return False
    return True


def read_at(fd: int, size: int, offset: int) -> bytes:
    """Up to `size` bytes of the open file `fd` from `offset`, without moving a position that others share
    (POSIX's pread); elsewhere by seeking, which only a descriptor opened for this read alone may do."""
    if hasattr(os, "pread"):
        return os.pread(fd, size, offset)
    os.lseek(fd, offset, os.SEEK_SET)
    return os.read(fd, size)


def write_at(fd: int, data: bytes, offset: int) -> None:
    """`data` into the open file `fd` at `offset` (POSIX's pwrite; elsewhere by seeking, as `read_at`)."""
    if hasattr(os, "pwrite"):
        os.pwrite(fd, data, offset)
        return
    os.lseek(fd, offset, os.SEEK_SET)
    os.write(fd, data)


def set_mode(fd: int, mode: int) -> None:
    """The permissions of the open file `fd` (POSIX's fchmod); Windows keeps its own."""
    if hasattr(os, "fchmod"):
        os.fchmod(fd, mode)
