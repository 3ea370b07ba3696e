"""End to end in a real terminal: ``runbook rehearse`` in tmux, driven by keys, read by eye.

Each test starts the real command in a tmux session (120×40), sends keys with
``send-keys`` and reads the screen with ``capture-pane``, polling for what a
person would look for (never a blind sleep). The rehearsal brings its own
sandbox up in a fresh directory and must stop it on every way out: each test
ends by proving no process of that sandbox is left.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest
from tmux import NeverShown, Pane

pytestmark = [
    pytest.mark.mariadb,
    pytest.mark.php,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux"),
]

EXIT_MARK = "RUNBOOK-EXIT="


class Terminal(Pane):
    """``runbook rehearse`` in a pane that outlives it, read as a person reads the screen."""

    # the debrief and the exit code are printed below what the app drew: read 200 lines
    # of scrollback, wrapped lines joined
    CAPTURE = ("-J", "-S", "-200")

    def __init__(self, command: str, cwd: Path) -> None:
        # the shell keeps the pane open after the app exits, to read the exit code
        # and the debrief printed on the terminal
        script = f'{command}; echo "{EXIT_MARK}$?"; sleep 600'
        super().__init__(["sh", "-c", script], cwd)

    def keys(self, *keys: str) -> None:
        """Type ``keys`` in order, each given time to land, as a person would."""
        for key in keys:
            self.key(key)
            time.sleep(0.05)  # one key at a time, as typed

    def wait(self, *texts: str, timeout: float = 90.0) -> str:
        """The screen once all of ``texts`` are on it; a failed assertion showing it if not."""
        try:
            screen, _ = self.poll(
                lambda screen: all(t in screen for t in texts), repr(texts), timeout, 0.1
            )
        except NeverShown as never:
            raise AssertionError(f"never saw {texts!r}; the screen:\n{never.screen}") from None
        return screen

    def exit_code(self, timeout: float = 120.0) -> int:
        """The app's exit status, as the shell holding the pane printed it."""
        screen = self.wait(EXIT_MARK, timeout=timeout)
        return int(screen.split(EXIT_MARK, 1)[1].split()[0])

    def app_pid(self) -> int:
        """The app itself: the one child of the shell in the pane (for signals)."""
        children = psutil.Process(self.pane_pid()).children()
        return children[0].pid

    def hang_up(self) -> None:
        """The terminal goes away, as when an SSH session drops: SIGHUP to the app."""
        self.close()


@pytest.fixture
def terminal(short_tmp: Path) -> Iterator[Callable[..., Terminal]]:
    opened: list[Terminal] = []

    def open_(drill: str | None = None) -> Terminal:
        # the sandbox in short_tmp itself: if a test fails half way, the fixture stops it
        sandbox_dir = short_tmp
        command = f"{sys.executable} -m runbook rehearse --dir {sandbox_dir} --minutes 0.05" + (
            f" --drill {drill}" if drill else ""
        )
        term = Terminal(command, short_tmp)
        opened.append(term)
        return term

    yield open_
    for term in opened:
        term.close()


def deploy(term: Terminal) -> None:
    term.wait("REHEARSAL", "Deploy", "Target", timeout=120)
    term.keys("d")
    screen = term.wait("0/", "ticked", "Deployment plan read")
    total = int(screen.split("0/", 1)[1].split()[0])
    for i in range(1, total + 1):
        term.keys("Space")
        term.wait(f"{i}/{total} ticked" if i < total else f"all {total} items ticked")
        term.keys("Down")
    term.keys("c")
    term.wait("How should the deployment run?")
    term.keys("s")


def no_sandbox_left(directory: Path, processes: Callable[[Path], list[psutil.Process]]) -> None:
    def servers() -> list[psutil.Process]:
        # the sandbox's servers; tmux and the shell holding the pane name the dir too
        return [p for p in processes(directory) if p.name() not in ("tmux: server", "sh", "env")]

    deadline = time.monotonic() + 15
    while (left := servers()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not left, f"left running: {[p.cmdline() for p in left]}"


def test_a_full_rehearsal_to_the_checkpoint(
    terminal: Callable[..., Terminal],
    short_tmp: Path,
    sandbox_processes: Callable[[Path], list[psutil.Process]],
) -> None:
    term = terminal()
    deploy(term)
    term.wait("SUCCESS (exit 0)", "6 Application restore")
    term.keys("m")
    term.wait("Application log", "MySQL error log", "Resources")
    term.wait("Any user-reported issues since the deployment?", timeout=60)
    term.keys("2")
    report = term.wait("Report: deploy, monitor", timeout=60)
    assert "Monitoring complete" in report or "monitor" in report
    term.keys("C-q")
    assert term.exit_code() == 0
    screen = term.screen()
    assert "DEBRIEF: Clean run" in screen and "score:" in screen
    no_sandbox_left(short_tmp, sandbox_processes)


def test_a_migration_failure_drill_rolls_back(
    terminal: Callable[..., Terminal],
    short_tmp: Path,
    sandbox_processes: Callable[[Path], list[psutil.Process]],
) -> None:
    term = terminal("migration-failure")
    deploy(term)
    # a rehearsal that fails opens its report (the debrief is at its end)
    report = term.wait("Report: deploy", "✗ failed; the target is as it was before", timeout=90)
    rows = {line for line in report.splitlines() if "│" in line}
    assert any("✗ failed" in r and "Migration execution" in r for r in rows), report
    assert any("✓ passed" in r and "Automatic rollback" in r for r in rows), report
    term.keys("Escape")
    screen = term.wait("FAILED", "Auto rollback")
    assert "✓ Auto rollback" in screen, screen
    assert "? Migration failed? → yes" in screen
    term.keys("C-q")
    assert term.exit_code() == 1
    screen = term.screen()
    assert "DEBRIEF: The migration fails half way" in screen
    assert "✓ right" in screen and "failed (exit 1)" in screen
    no_sandbox_left(short_tmp, sandbox_processes)


def test_sigterm_in_the_middle_of_a_decision_cleans_up_and_stops_the_sandbox(
    terminal: Callable[..., Terminal],
    short_tmp: Path,
    sandbox_processes: Callable[[Path], list[psutil.Process]],
) -> None:
    term = terminal("verification-failure")
    deploy(term)
    term.wait("Verification failed?", "Roll back the migrations")
    psutil.Process(term.app_pid()).terminate()
    code = term.exit_code()
    assert code != 0
    no_sandbox_left(short_tmp, sandbox_processes)


def test_the_terminal_going_away_mid_run_leaves_no_server_behind(
    terminal: Callable[..., Terminal],
    short_tmp: Path,
    sandbox_processes: Callable[[Path], list[psutil.Process]],
) -> None:
    term = terminal("verification-failure")
    deploy(term)
    term.wait("Verification failed?", "Roll back the migrations")
    app = psutil.Process(term.app_pid())
    term.hang_up()
    app.wait(timeout=60)  # it ends by itself: nobody is left to press a key
    no_sandbox_left(short_tmp, sandbox_processes)
