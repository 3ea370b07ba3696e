"""Following a log file the way ``tail -F`` does, without ever reading it whole.

A follower opens at the END of the file (one ``fstat`` and, when the file does
not end with a newline, one byte to learn that the first fragment is the tail of
a line written before we looked), then hands over the complete lines appended
since, in batches. It survives:

- rotation: the path now names another inode (logrotate's ``create``). The old
  file is read to its end first, its unterminated last line is handed over as
  a line (nothing more will be appended to it once it is drained), then the new
  file is read from its start;
- truncation: the size fell below our offset (logrotate's ``copytruncate``,
  ``> laravel.log``): reading restarts at 0;
- a path that does not exist yet, or not any more: followed once it (re)appears.

Memory stays bounded whatever the writer does: a poll reads at most
``max_read`` bytes, an unterminated line is buffered up to ``max_line`` bytes,
and a longer line is handed over cut at ``max_line`` with :data:`CUT_MARK`
appended (its rest is skipped up to the next newline). Pure stdlib: ``os.stat``,
``os.pread``; no inotify, so it works the same on every filesystem, NFS included.

Known limit (shared with ``tail -F``): a truncation followed by more writes than
we had read, all between two polls, looks like growth; poll often.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

CHUNK = 1 << 20
MAX_READ = 8 << 20  # per poll: a burst of 1 GB is handed over in bounded batches
MAX_LINE = 64 << 10
CUT_MARK = " [… line cut by runbook: longer than {limit} bytes]"


@dataclass(frozen=True)
class Position:
    """Where a follower stopped: enough to resume on the same file later."""

    dev: int
    ino: int
    offset: int


@dataclass
class FollowerStats:
    bytes_read: int = 0  # every byte read from disk, including the 1-byte peek at open
    reads: int = 0
    lines: int = 0
    rotations: int = 0
    truncations: int = 0
    cut_lines: int = 0
    skipped_partial: bool = False  # opened in the middle of a line; its tail was dropped


class LogFollower:
    """``poll()`` returns the complete lines appended since the last call; never blocks."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        start: str = "end",
        resume: Position | None = None,
        max_line: int = MAX_LINE,
        max_read: int = MAX_READ,
    ) -> None:
        if start not in ("end", "start"):
            raise ValueError(f"start must be 'end' or 'start', not {start!r}")
        self.path = Path(path)
        self.max_line = max_line
        self.max_read = max_read
        self.stats = FollowerStats()
        self.state = "missing"  # following | missing | unreadable
        self.error = ""
        self.notes: list[str] = []  # rotation, truncation, cut lines: for the operator
        self._fd: int | None = None
        self._dev = 0
        self._ino = 0
        self._offset = 0
        self._partial = b""
        self._discard = False  # inside a cut line, or the line we were opened in
        self._open(initial=True, start=start, resume=resume)

    # -- opening --------------------------------------------------------------------------

    def _open(self, *, initial: bool, start: str = "start", resume: Position | None = None) -> bool:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            self._set_state("missing", f"{self.path}: no such file (yet)")
            return False
        except OSError as exc:
            self._set_state("unreadable", f"{self.path}: cannot read: {exc.strerror}")
            return False
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) and not stat.S_ISFIFO(st.st_mode):
            os.close(fd)
            self._set_state("unreadable", f"{self.path}: not a regular file")
            return False
        self._fd, self._dev, self._ino = fd, st.st_dev, st.st_ino
        self._partial, self._discard = b"", False
        self._set_state("following", "")
        if resume is not None and (resume.dev, resume.ino) == (st.st_dev, st.st_ino):
            # The same file as before: go on where we stopped (from 0 if it shrank since).
            self._offset = resume.offset if resume.offset <= st.st_size else 0
        elif initial and start == "end" and resume is None:
            self._offset = st.st_size
            if st.st_size > 0:
                last = os.pread(fd, 1, st.st_size - 1)
                self.stats.bytes_read += len(last)
                self.stats.reads += 1
                # The writer is mid-line: what follows is the tail of an old line.
                self._discard = self.stats.skipped_partial = last != b"\n"
        else:
            # A file that appeared (or replaced ours) after we started: all of it is new.
            self._offset = 0
        return True

    def _set_state(self, state: str, error: str) -> None:
        if state != self.state and error:
            self.notes.append(error)
        self.state, self.error = state, error

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> LogFollower:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def position(self) -> Position | None:
        """Where the next unread line starts (an unterminated line is read again)."""
        if self._fd is None:
            return None
        return Position(self._dev, self._ino, self._offset - len(self._partial))

    @property
    def offset(self) -> int:
        return self._offset

    def take_notes(self) -> list[str]:
        notes, self.notes = self.notes, []
        return notes

    # -- reading --------------------------------------------------------------------------

    def poll(self) -> list[str]:
        """The complete lines appended since the last poll (at most ``max_read`` bytes' worth)."""
        out: list[str] = []
        if self._fd is None and not self._open(initial=False):
            return out
        budget = self.max_read
        while budget > 0:
            assert self._fd is not None
            size = os.fstat(self._fd).st_size
            if size < self._offset:
                self.stats.truncations += 1
                self.notes.append(f"{self.path}: truncated ({size} < {self._offset} bytes); from 0")
                self._offset, self._partial, self._discard = 0, b"", False
            if size > self._offset:
                data = os.pread(self._fd, min(size - self._offset, budget, CHUNK), self._offset)
                if not data:
                    break
                self.stats.bytes_read += len(data)
                self.stats.reads += 1
                self._offset += len(data)
                budget -= len(data)
                self._split(data, out)
                continue
            if not self._rotated():
                break
            # The old file is drained and nothing will be appended to it any more.
            if self._partial and not self._discard:
                out.append(self._decode(self._partial))
            self.stats.rotations += 1
            self.notes.append(f"{self.path}: rotated; reading the new file from its start")
            self.close()
            if not self._open(initial=False):
                break
        self.stats.lines += len(out)
        return out

    def _rotated(self) -> bool:
        try:
            st = os.stat(self.path)
        except OSError:
            return False  # renamed away and not yet re-created: keep reading the old one
        return (st.st_dev, st.st_ino) != (self._dev, self._ino)

    def _split(self, data: bytes, out: list[str]) -> None:
        if self._discard:
            newline = data.find(b"\n")
            if newline < 0:
                return
            data = data[newline + 1 :]
            self._discard = False
        if self._partial:
            data = self._partial + data
            self._partial = b""
        last = data.rfind(b"\n")
        if last >= 0:
            text = data[:last].decode("utf-8", "replace")
            lines = text.split("\n")
            if "\r" in text:
                lines = [line.removesuffix("\r") for line in lines]
            limit = self.max_line
            if len(text) > limit and any(len(line) > limit for line in lines):
                lines = [self._cut(line) if len(line) > limit else line for line in lines]
            out.extend(lines)
            data = data[last + 1 :]
        if len(data) > self.max_line:
            # An unterminated line past the cap: hand over its start, skip the rest.
            out.append(self._cut(self._decode(data[: self.max_line])))
            self._discard = True
            data = b""
        self._partial = data

    def _cut(self, line: str) -> str:
        self.stats.cut_lines += 1
        if self.stats.cut_lines == 1:
            self.notes.append(f"{self.path}: a line longer than {self.max_line} bytes was cut")
        return line[: self.max_line] + CUT_MARK.format(limit=self.max_line)

    @staticmethod
    def _decode(data: bytes) -> str:
        return data.decode("utf-8", "replace").removesuffix("\r")

    # -- blocking variants, for the headless CLI ------------------------------------------

    def wait(self, timeout: float, interval: float = 0.05) -> list[str]:
        """The next non-empty batch, or ``[]`` once ``timeout`` seconds have passed."""
        deadline = time.monotonic() + timeout
        while True:
            lines = self.poll()
            if lines or time.monotonic() >= deadline:
                return lines
            time.sleep(min(interval, max(0.0, deadline - time.monotonic())))

    def follow(self, timeout: float | None = None, interval: float = 0.05) -> Iterator[list[str]]:
        """Non-empty batches as they arrive, until ``timeout`` seconds (None: forever)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while deadline is None or time.monotonic() < deadline:
            left = interval if deadline is None else max(0.0, deadline - time.monotonic())
            lines = self.wait(min(left, 3600.0), interval)
            if lines:
                yield lines
