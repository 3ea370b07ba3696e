"""Signals held back while the scratch database is dropped."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any


@contextmanager
def signals_deferred() -> Iterator[list[int]]:
    """Hold SIGINT, SIGTERM and SIGHUP while the block runs, then deliver them.

    Used around the drop of the scratch database: a second Ctrl-C there must not
    leave it behind. Outside the main thread (a Textual worker) handlers cannot be
    set; the app owns the signals there and the block simply runs.
    """
    pending: list[int] = []
    previous: dict[int, Any] = {}

    def note(signum: int, _frame: object) -> None:
        pending.append(signum)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        with suppress(ValueError):
            old = signal.getsignal(sig)
            if old is None:  # installed outside Python: it could not be restored
                continue
            signal.signal(sig, note)
            previous[sig] = old
    try:
        yield pending
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
        for sig in dict.fromkeys(pending):
            signal.raise_signal(sig)
