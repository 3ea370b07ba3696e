"""The app in a real terminal: one detached tmux session, read with capture-pane.

Shared by the end-to-end tests (tests/test_tui_tmux.py) and the UI benchmark
(bench/bench_tui.py), so both drive tmux the same way: the session is started at a fixed
size, keys go in with send-keys, and the screen is polled, never waited on blindly. Each
caller keeps its own wait: the tests look for several texts at a relaxed pace, the bench
times one text at a 2 ms pace.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path


class NeverShown(TimeoutError):
    """What was waited for never appeared; ``screen`` is the last one captured."""

    def __init__(self, message: str, screen: str) -> None:
        super().__init__(message)
        self.screen = screen


class Pane:
    """A command running alone in a detached tmux session of ``width`` x ``height``."""

    # Extra capture-pane arguments (e.g. scrollback); the visible screen by default.
    CAPTURE: tuple[str, ...] = ()

    def __init__(
        self,
        argv: list[str],
        cwd: Path,
        *,
        width: int = 120,
        height: int = 40,
        prefix: str = "rb-",
    ) -> None:
        self.name = f"{prefix}{uuid.uuid4().hex[:8]}"
        # COLUMNS/LINES inherited from the caller (pytest sets them) would override the
        # terminal's real size in the app
        subprocess.run(
            [
                "tmux",
                "new-session",
                "-d",
                "-s",
                self.name,
                "-x",
                str(width),
                "-y",
                str(height),
                "-c",
                str(cwd),
                "env",
                "-u",
                "COLUMNS",
                "-u",
                "LINES",
                *argv,
            ],
            check=True,
        )

    def screen(self) -> str:
        """The text on screen now (an empty string once the session is gone)."""
        out = subprocess.run(
            ["tmux", "capture-pane", "-p", *self.CAPTURE, "-t", self.name],
            capture_output=True,
            text=True,
            check=False,
        )
        return out.stdout

    def key(self, key: str) -> None:
        """One key (a tmux key name such as ``Escape`` or ``C-q``), sent at once."""
        subprocess.run(["tmux", "send-keys", "-t", self.name, key], check=True)

    def poll(
        self, shown: Callable[[str], bool], what: str, timeout: float, interval: float
    ) -> tuple[str, float]:
        """The first screen ``shown`` accepts and the seconds it took to appear.

        Raises NeverShown (naming ``what``) once ``timeout`` seconds have gone by.
        """
        started = time.perf_counter()
        while True:
            screen = self.screen()
            if shown(screen):
                return screen, time.perf_counter() - started
            if time.perf_counter() - started > timeout:
                raise NeverShown(f"never saw {what}:\n{screen}", screen)
            time.sleep(interval)

    def pane_pid(self) -> int:
        """The pid of the process tmux started in the pane (``env``, then what it execs)."""
        out = subprocess.run(
            ["tmux", "display-message", "-p", "-t", self.name, "#{pane_pid}"],
            capture_output=True,
            text=True,
            check=True,
        )
        return int(out.stdout.strip())

    def close(self) -> None:
        """Kill the session: the app gets SIGHUP, as when a terminal goes away."""
        subprocess.run(["tmux", "kill-session", "-t", self.name], check=False, capture_output=True)
