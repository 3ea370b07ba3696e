"""The run journal: one JSON Lines file per run, fsynced after every event.

It is the source of truth for ``--resume``: if the process dies at any moment,
what the journal says happened did happen, and the next run re-inspects the
real state from there.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RUN_START = "run_start"
RUN_END = "run_end"


def operator_name() -> str:
    """Who is at the keyboard: the human behind sudo, else the login name."""
    return os.environ.get("SUDO_USER") or getpass.getuser()


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class JournalError(Exception):
    """The journal cannot be written; the run must not go on without it."""


class Journal:
    def __init__(self, path: Path, run_id: str) -> None:
        self.path = path
        self.run_id = run_id
        self.operator = operator_name()
        self.host = socket.gethostname()
        self._fh = None
        # watchdog threads report too: one event is one whole line
        self._lock = threading.Lock()

    @classmethod
    def create(cls, directory: Path, database: str, command: str) -> Journal:
        try:
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise JournalError(
                f"{directory}: cannot create the journal directory: {exc.strerror}"
            ) from None
        stamp = datetime.now(UTC).strftime("%Y%m%d_%H%M%S")
        run_id = f"{stamp}-{uuid.uuid4().hex[:8]}"
        journal = cls(directory / f"{database}_{command}_{run_id}.jsonl", run_id)
        journal._open()
        return journal

    @classmethod
    def reopen(cls, path: Path) -> Journal:
        """Append to an earlier run's journal (resume): the run id stays the same."""
        events = read(path)
        if not events:
            raise JournalError(f"{path}: empty journal, nothing to resume")
        journal = cls(path, str(events[0]["run"]))
        journal._open()
        return journal

    def _open(self) -> None:
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError as exc:
            raise JournalError(f"{self.path}: cannot open the journal: {exc.strerror}") from None
        self._fh = os.fdopen(fd, "a", encoding="utf-8")

    def write(self, kind: str, **fields: Any) -> dict[str, Any]:
        event = {
            "ts": now_iso(),
            "run": self.run_id,
            "operator": self.operator,
            "host": self.host,
            "event": kind,
            **fields,
        }
        if self._fh is None:
            raise JournalError(f"{self.path}: journal is closed")
        line = json.dumps(event, default=str, ensure_ascii=False)
        try:
            with self._lock:
                self._fh.write(line + "\n")
                self._fh.flush()
                os.fsync(self._fh.fileno())
        except OSError as exc:
            raise JournalError(f"{self.path}: cannot write the journal: {exc.strerror}") from None
        return event

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def read(path: Path) -> list[dict[str, Any]]:
    """Every complete event; a torn last line (the process died mid-write) is ignored."""
    events: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.endswith("\n"):
                break
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                break
    return events


def runs(directory: Path, database: str) -> Iterator[Path]:
    if not directory.is_dir():
        return iter(())
    return iter(sorted(directory.glob(f"{database}_*.jsonl")))


@dataclass(frozen=True)
class Unfinished:
    path: Path
    events: list[dict[str, Any]]

    @property
    def started(self) -> dict[str, Any]:
        return self.events[0]


def unfinished_deploy(
    directory: Path, database: str, exclude: Path | None = None
) -> Unfinished | None:
    """The newest deployment journal that has a start and no end: a run that died."""
    for path in sorted(runs(directory, database), reverse=True):
        if "_deploy_" not in path.name or path == exclude:
            continue
        events = read(path)
        if not events:
            continue
        if events[-1]["event"] != RUN_END and not any(e["event"] == RUN_END for e in events):
            return Unfinished(path, events)
        return None
    return None
