"""Detached server processes, identified by (pid, start time) so a reused pid is never hit."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

# Popen objects of the servers this process started: polling them reaps the
# child when it exits (no zombie, no "still running" ResourceWarning).
_children: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class Proc:
    pid: int
    create_time: float

    def to_json(self) -> dict[str, float]:
        return {"pid": self.pid, "create_time": self.create_time}

    @classmethod
    def from_json(cls, data: dict | None) -> Proc | None:
        if not data or "pid" not in data:
            return None
        return cls(int(data["pid"]), float(data.get("create_time", 0.0)))

    def _reap(self) -> None:
        # When this process started the server (tests, or an `up` that failed),
        # its exit leaves a zombie until we collect it.
        popen = _children.get(self.pid)
        if popen is not None:
            if popen.poll() is not None:
                del _children[self.pid]
            return
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(self.pid, os.WNOHANG)

    def alive(self) -> bool:
        try:
            proc = psutil.Process(self.pid)
            if self.create_time and abs(proc.create_time() - self.create_time) > 0.5:
                return False  # the pid now belongs to someone else: leave it alone
            if proc.status() != psutil.STATUS_ZOMBIE:
                return True
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return False
        self._reap()
        return False

    def wait_gone(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.alive():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True

    def signal_group(self, sig: int) -> None:
        """Signal the process group it leads (its own session: pgid == pid)."""
        if not self.alive():
            return
        try:
            if os.getpgid(self.pid) == self.pid:
                os.killpg(self.pid, sig)
            else:
                os.kill(self.pid, sig)
        except ProcessLookupError:
            pass

    def signal(self, sig: int) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def group_members(self) -> list[int]:
        """Live pids in its process group (php -S forks workers into it)."""
        members = []
        for proc in psutil.process_iter(["pid"]):
            with contextlib.suppress(psutil.Error, ProcessLookupError):
                if os.getpgid(proc.pid) == self.pid and proc.status() != psutil.STATUS_ZOMBIE:
                    members.append(proc.pid)
        return members


def free_port() -> int:
    """A loopback port nobody listens on right now (the caller retries on a race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def spawn_detached(
    cmd: Sequence[str], *, cwd: Path, log: Path, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], Proc]:
    """Start ``cmd`` in a new session so it outlives us and ignores our terminal's signals."""
    with open(log, "ab") as out:
        popen = subprocess.Popen(
            list(cmd),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    _children[popen.pid] = popen
    try:
        created = psutil.Process(popen.pid).create_time()
    except psutil.NoSuchProcess:
        created = 0.0
    return popen, Proc(popen.pid, created)


def stop_group(proc: Proc, *, term_timeout: float = 5.0) -> bool:
    """SIGTERM the group, then SIGKILL it; True when it went on SIGTERM alone."""
    proc.signal_group(signal.SIGTERM)
    if _wait_group_gone(proc, term_timeout):
        return True
    proc.signal_group(signal.SIGKILL)
    for pid in _group_left(proc):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    _wait_group_gone(proc, 10.0)
    return False


def _wait_group_gone(proc: Proc, timeout: float) -> bool:
    # The leader may exit a moment before its workers: wait for the whole group.
    deadline = time.monotonic() + timeout
    while proc.alive() or _group_left(proc):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def _group_left(proc: Proc) -> list[int]:
    # Only meaningful while the leader's pid has not been reused by another group.
    return [pid for pid in proc.group_members() if pid != os.getpid()]
