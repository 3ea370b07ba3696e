"""Signals: how a run is stopped, and how the work that must not stop half way is shielded.

One place for every signal handler of the runbook. SIGTERM and SIGHUP (a lost SSH
session) stop a run the way Ctrl-C does; while a rollback, a drop or a sandbox
shutdown runs, signals are noted instead of obeyed. Outside the main thread (a
Textual worker) handlers cannot be set: the app owns the signals there.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

STOPPING = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(BaseException):
    """A signal asked the run to stop; raised in the main thread at the next bytecode."""

    def __init__(self, signame: str) -> None:
        super().__init__(signame)
        self.signame = signame


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


class Signals:
    """Ctrl-C, SIGTERM and SIGHUP raise; once ``shielded``, they are only noted in ``ignored``."""

    def __init__(self) -> None:
        self.shielded = False
        self.ignored: list[str] = []
        self._previous: dict[int, Any] = {}

    def handler(self, signum: int, _frame: object) -> None:
        name = signal.Signals(signum).name
        if self.shielded:
            self.ignored.append(name)
            return
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise Interrupted(name)

    def install(self) -> None:
        if not _in_main_thread():
            return
        for sig in STOPPING:
            with suppress(ValueError):
                self._previous.setdefault(sig, signal.signal(sig, self.handler))

    def restore(self) -> None:
        if not _in_main_thread():
            return
        for sig, old in self._previous.items():
            signal.signal(sig, old)
        self._previous.clear()

    @contextmanager
    def installed(self) -> Iterator[Signals]:
        self.install()
        try:
            yield self
        finally:
            self.restore()


@contextmanager
def held(*, deliver: bool) -> Iterator[list[signal.Signals]]:
    """Note stopping signals while the block runs; afterwards re-raise them if ``deliver``.

    ``deliver=False``: the block finishes the job and the caller reports what it ignored.
    """
    noted: list[signal.Signals] = []
    previous: dict[int, Any] = {}

    def note(signum: int, _frame: object) -> None:
        noted.append(signal.Signals(signum))

    if _in_main_thread():
        for sig in STOPPING:
            with suppress(ValueError):
                old = signal.getsignal(sig)
                if old is None:  # installed outside Python: it could not be restored
                    continue
                previous[sig] = signal.signal(sig, note)
    try:
        yield noted
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
        if deliver:
            for sig in dict.fromkeys(noted):
                signal.raise_signal(sig)
