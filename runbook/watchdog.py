"""Say what we are waiting for when a long job goes quiet, instead of hanging silently."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import TracebackType


class Quiet:
    """Calls ``on_quiet(seconds)`` from a helper thread each ``every_s`` without ``feed()``."""

    def __init__(self, on_quiet: Callable[[float], None], every_s: float = 15.0) -> None:
        self.on_quiet = on_quiet
        self.every_s = every_s
        self._last = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True, name="runbook-quiet")

    def feed(self) -> None:
        self._last = time.monotonic()

    def _watch(self) -> None:
        told = self._last
        while not self._stop.wait(min(1.0, self.every_s)):
            idle = time.monotonic() - self._last
            if idle >= self.every_s and time.monotonic() - told >= self.every_s:
                told = time.monotonic()
                self.on_quiet(idle)

    def __enter__(self) -> Quiet:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
