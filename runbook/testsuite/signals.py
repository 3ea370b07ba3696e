"""Signals held back while the scratch database is dropped, then delivered."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

from runbook.signals import held


@contextmanager
def signals_deferred() -> Iterator[list[signal.Signals]]:
    """Hold SIGINT, SIGTERM and SIGHUP while the block runs, then deliver them.

    Used around the drop of the scratch database: a second Ctrl-C there must not
    leave it behind.
    """
    with held(deliver=True) as pending:
        yield pending
