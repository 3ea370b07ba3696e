"""The log follower on real files: appends, rotation, truncation, huge files, long lines.

No sandbox: these are plain files in tmp_path, written the way loggers and
logrotate write them (append, rename + create, copytruncate, ``>``).
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from runbook.monitor.follower import CUT_MARK, LogFollower


def append(path: Path, data: str | bytes) -> None:
    with open(path, "ab") as fh:
        fh.write(data.encode() if isinstance(data, str) else data)


def drain(f: LogFollower, polls: int = 50) -> list[str]:
    out: list[str] = []
    for _ in range(polls):
        out += f.poll()
    return out


def test_bursts_of_appends_arrive_complete_and_in_order(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    append(log, "before the follower: never handed over\n")
    sent: list[str] = []
    got: list[str] = []
    with LogFollower(log) as f:
        assert f.poll() == []
        for burst in (1, 7, 500, 3, 20_000, 1):
            lines = [f"line {len(sent) + i} {'x' * (i % 50)}" for i in range(burst)]
            sent += lines
            text = "".join(line + "\n" for line in lines)
            # a writer that flushes mid-line: the line must still arrive whole
            cut = len(text) // 2
            append(log, text[:cut])
            got += f.poll()
            append(log, text[cut:])
            got += f.poll()
        assert f.stats.lines == len(sent)
    assert got == sent


def test_opening_a_200_mb_file_reads_one_byte(tmp_path: Path) -> None:
    log = tmp_path / "huge.log"
    size = 200 << 20
    with open(log, "wb") as fh:  # sparse: 200 MB that take no disk and no time to make
        fh.truncate(size - 1)
        fh.seek(size - 1)
        fh.write(b"\n")
    with LogFollower(log) as f:
        assert f.stats.bytes_read == 1  # the peek at the last byte: is it a line end?
        assert f.offset == size
        assert f.poll() == []
        append(log, "new 1\nnew 2\n")
        assert f.poll() == ["new 1", "new 2"]
        assert f.stats.bytes_read == 1 + len("new 1\nnew 2\n")


def test_opened_in_the_middle_of_a_line_skips_its_tail(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    append(log, "complete\nhalf a li")
    with LogFollower(log) as f:
        assert f.stats.skipped_partial
        append(log, "ne written later\nnext\n")
        assert f.poll() == ["next"]


def test_a_partial_last_line_waits_for_its_end(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.touch()
    with LogFollower(log) as f:
        append(log, "first\nsec")
        assert f.poll() == ["first"]
        assert f.poll() == []
        append(log, "ond\r\n")  # CRLF from a Windows-minded writer
        assert f.poll() == ["second"]
        append(log, b"bad \xff byte\n")
        assert f.poll() == ["bad \ufffd byte"]


def test_rotation_finishes_the_old_file_then_reads_the_new_one(tmp_path: Path) -> None:
    log = tmp_path / "laravel.log"
    append(log, "old 0\n")
    with LogFollower(log, start="start") as f:
        assert f.poll() == ["old 0"]
        append(log, "old 1\n")
        os.rename(log, tmp_path / "laravel.log.1")  # logrotate's rename
        # the writer still holds the old file and writes once more, without a newline
        append(tmp_path / "laravel.log.1", "old 2\nold 3 unterminated")
        assert f.poll() == ["old 1", "old 2"]  # path gone for now: keep reading the old one
        append(log, "new 0\nnew 1\n")  # logrotate's create, and the reopened writer
        assert f.poll() == ["old 3 unterminated", "new 0", "new 1"]
        assert f.stats.rotations == 1
        assert any("rotated" in n for n in f.take_notes())
        append(log, "new 2\n")
        assert f.poll() == ["new 2"]


def test_rotation_between_two_polls_loses_nothing(tmp_path: Path) -> None:
    log = tmp_path / "error.log"
    log.touch()
    with LogFollower(log) as f:
        append(log, "a\nb\n")
        os.rename(log, tmp_path / "error.log.1")
        append(log, "c\n")
        assert f.poll() == ["a", "b", "c"]


def test_truncation_restarts_from_zero(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.touch()
    with LogFollower(log) as f:
        append(log, "one\ntwo\nthree\n")
        assert f.poll() == ["one", "two", "three"]
        with open(log, "r+b") as fh:  # copytruncate / `> app.log`
            fh.truncate(0)
        append(log, "after\n")
        assert f.poll() == ["after"]
        assert f.stats.truncations == 1


def test_a_file_that_appears_later_is_read_from_its_start(tmp_path: Path) -> None:
    log = tmp_path / "not-yet.log"
    with LogFollower(log) as f:
        assert f.state == "missing"
        assert f.poll() == []
        append(log, "first line ever\n")
        assert f.poll() == ["first line ever"]
        assert f.state == "following"


def test_a_directory_is_unreadable_and_says_so(tmp_path: Path) -> None:
    with LogFollower(tmp_path) as f:
        assert f.state == "unreadable"
        assert str(tmp_path) in f.error
        assert f.poll() == []


def test_long_lines_are_cut_and_flagged_and_memory_stays_bounded(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.touch()
    cap = 1024
    mark = CUT_MARK.format(limit=cap)
    with LogFollower(log, max_line=cap) as f:
        append(log, "a" * 10_000 + "\nshort\n")
        lines = f.poll()
        assert lines == ["a" * cap + mark, "short"]
        # an endless line with no newline at all: buffered up to the cap, never beyond
        for _ in range(50):
            append(log, "b" * 1000)
            out = f.poll()
            assert len(f._partial) <= cap
            assert all(len(line) <= cap + len(mark) for line in out)
        append(log, "\nafter\n")
        assert f.poll() == ["after"]
        assert f.stats.cut_lines == 2


def test_a_poll_reads_at_most_max_read_bytes(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.touch()
    with LogFollower(log, max_read=64 << 10) as f:
        append(log, "".join(f"{i:08d}\n" for i in range(100_000)))  # 900 KB
        first = f.poll()
        assert 0 < len(first) <= (64 << 10) // 9
        rest = drain(f)
        assert [int(x) for x in first + rest] == list(range(100_000))


def test_resume_goes_on_where_the_last_window_stopped(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.touch()
    with LogFollower(log) as f:
        append(log, "seen\nhalf")
        assert f.poll() == ["seen"]
        where = f.position()
    append(log, " line\nwhile nobody watched\n")
    with LogFollower(log, resume=where) as g:
        assert g.poll() == ["half line", "while nobody watched"]
    os.rename(log, tmp_path / "app.log.1")
    append(log, "rotated while nobody watched\n")
    with LogFollower(log, resume=where) as h:
        assert h.poll() == ["rotated while nobody watched"]


def test_wait_returns_lines_as_they_come_and_empty_on_timeout(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.touch()
    with LogFollower(log) as f:
        assert f.wait(0.05) == []
        writer = threading.Timer(0.1, append, (log, "late\n"))
        writer.start()
        try:
            assert f.wait(10) == ["late"]
        finally:
            writer.join()
        threading.Timer(0.05, append, (log, "x\ny\n")).start()
        batches = list(f.follow(timeout=0.5, interval=0.01))
        assert [line for batch in batches for line in batch] == ["x", "y"]


def test_follow_stops_at_its_timeout(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.touch()
    with LogFollower(log) as f:
        started = time.monotonic()
        assert list(f.follow(timeout=0.2, interval=0.02)) == []
        # a generous bound: this asserts that it stops, not how fast
        assert time.monotonic() - started < 30


def test_bad_start_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="start"):
        LogFollower(tmp_path / "x", start="middle")
