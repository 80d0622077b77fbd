"""What the training loop tells whoever runs it. Nothing in facegan.training talks to a terminal: the command
layer renders these calls (with Rich), and a library user may override any of them."""

from __future__ import annotations

from typing import Callable


class Reporter:
    """Receives the loop's progress; every method may be overridden, none must be."""

    def notice(self, text: str) -> None: ...

    def warning(self, text: str) -> None:
        self.notice(f"warning: {text}")

    def epoch_start(self, epoch: int, epochs: int, steps: int, batch_size: int) -> None: ...

    def progress(self, done: int, total: int) -> None:
        """Images decoded so far (the first run on a data source decodes it into the cache)."""

    def step(self, done: int, latest: Callable[[], dict]) -> None:
        """`latest()` turns the newest step's metrics into floats (a device sync: call it sparingly)."""

    def epoch_end(self, epoch: int, epochs: int, row: dict | None) -> None:
        """row is the epochs.csv row, or None when the epoch was abandoned (rollback, interruption)."""
