"""SIGINT and SIGTERM while a run trains: the loop stops after the current step, with a checkpoint there."""

from __future__ import annotations

import signal
import threading


class StopSignals:
    """While active, SIGINT and SIGTERM only set `received`: the loop then saves a checkpoint at the
    current step and stops. A second signal acts as it normally does (Ctrl-C twice kills at once)."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __enter__(self):
        self.received, self.previous = None, {}
        if threading.current_thread() is threading.main_thread():  # Python allows handlers only there
            self.previous = {sig: signal.signal(sig, self.handle) for sig in self.SIGNALS}
        return self

    def handle(self, signum, frame) -> None:
        self.received = signum
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)

    def __exit__(self, *exc) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
