"""The run lock: one writer per run directory, released by the OS however the writer ends."""

import signal
import subprocess
import sys

import pytest

from facegan.errors import FaceganError
from facegan.runlock import RunLock


def test_a_second_lock_on_a_run_is_refused_with_its_holder_until_the_first_is_released(tmp_path):
    with RunLock(tmp_path):
        with pytest.raises(FaceganError, match=r"being written by another process \(pid \d+ on .+, since "):
            RunLock(tmp_path)
    RunLock(tmp_path).release()  # released: free again


def test_a_killed_holder_leaves_no_stale_lock(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", f"from facegan.runlock import RunLock; RunLock({str(tmp_path)!r}); print('held', "
                               "flush=True); import time; time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(FaceganError, match=f"pid {holder.pid} "):
            RunLock(tmp_path)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    RunLock(tmp_path).release()
