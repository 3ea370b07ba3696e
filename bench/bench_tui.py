"""The terminal UI's figures, each against a floor measured in the same run.

1. Launch to first paint, in a real terminal (tmux 120×40): `runbook tui` until the home
   screen shows, against a minimal Textual app that paints one word. Target: under 1 s.
2. Key press to repaint while the monitor follows a log growing at 10 000 lines/s: the
   real app in tmux, monitoring the sandbox; i opens the "raise an issue" dialog, Esc closes
   it, each timed until capture-pane shows it; against the same keys with the log idle.
   Target: under 100 ms.
3. Memory of the app over 30 compressed minutes of monitoring (1800 one-second samples,
   taken every 50 ms) with the log growing at 10 000 lines/s: RSS at each sixth of the
   window. Target: flat (after the first sixth, growth under 10 %).

Needs tmux, the MariaDB server and PHP (a sandbox is brought up in a temp directory and
stopped at the end).

Run: .venv/bin/python bench/bench_tui.py [--runs N] [--presses N] [--skip-memory]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
# the tests' tmux driver, so the bench drives the app exactly as the end-to-end tests do
sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
from harness import median, table
from tmux import Pane

RATE = 10_000  # lines per second
FLOOR_APP = """
from textual.app import App
from textual.widgets import Static
class Floor(App):
    BINDINGS = [("i", "on", "on"), ("escape", "off", "off")]
    def compose(self):
        yield Static("FLOOR-READY", id="s")
    def action_on(self):
        self.query_one("#s").update("Raise an issue by hand")
    def action_off(self):
        self.query_one("#s").update("FLOOR-READY Resources")
Floor().run()
"""


class Tmux(Pane):
    """A 120x40 tmux session for timing: how soon a text shows, polled every 2 ms."""

    def __init__(self, argv: list[str], cwd: Path) -> None:
        super().__init__(argv, cwd, width=120, height=40, prefix="rb-bench-")

    def wait(self, text: str, timeout: float = 30, absent: str | None = None) -> float:
        """Seconds until ``text`` is on screen (and ``absent`` is not)."""
        _, seconds = self.poll(
            lambda screen: text in screen and (absent is None or absent not in screen),
            repr(text),
            timeout,
            0.002,
        )
        return seconds


def first_paint(argv: list[str], marker: str, runs: int, cwd: Path) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        term = Tmux(argv, cwd)
        try:
            term.wait(marker)
            samples.append(time.perf_counter() - started)
        finally:
            term.close()
    return samples


class LogWriter(threading.Thread):
    """Appends Laravel-style lines to the app's log at RATE lines/s, in 10 ms slices."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.stop = threading.Event()
        self.written = 0

    def run(self) -> None:
        per_slice = RATE // 100
        started = time.perf_counter()
        with self.path.open("a", encoding="utf-8") as out:
            while not self.stop.is_set():
                lines = [
                    f"[2025-10-01 02:00:00] production.INFO: GET /api/bookings/{self.written + i} "
                    f"200 {i % 40} ms\n"
                    for i in range(per_slice)
                ]
                out.write("".join(lines))
                out.flush()
                self.written += per_slice
                due = started + self.written / RATE
                time.sleep(max(0.0, due - time.perf_counter()))


def key_latency(term: Tmux, presses: int) -> list[float]:
    """i (raise an issue: a dialog opens), timed until the terminal shows it; Esc closes it
    untimed (a terminal cannot tell a lone Esc from the start of a sequence at once, so
    Textual waits ~100 ms on it: that is the terminal's, not the app's). The time includes
    tmux: send-keys, and capture-pane polled every 2 ms."""
    samples = []
    for _ in range(presses):
        started = time.perf_counter()
        term.key("i")
        term.wait("Raise an issue by hand")
        samples.append(time.perf_counter() - started)
        term.key("Escape")
        term.wait("Resources", absent="Raise an issue by hand")
        time.sleep(0.05)
    return samples


def write_config(sandbox_config: Path, directory: Path, minutes: float) -> Path:
    text = sandbox_config.read_text()
    text = text.replace("minutes = 0.5", f"minutes = {minutes}")
    for name in ("journal", "backups"):
        (directory / name).mkdir(mode=0o700, exist_ok=True)
    text = text.replace(str(sandbox_config.parent / "journal"), str(directory / "journal"))
    text = text.replace(str(sandbox_config.parent / "backups"), str(directory / "backups"))
    path = directory / "runbook.toml"
    path.write_text(text)
    path.chmod(0o600)
    return path


def bench_latency(runbook: str, config: Path, app_log: Path, presses: int) -> tuple[float, ...]:
    term = Tmux([runbook, "tui", "--config", str(config)], config.parent)
    try:
        term.wait("Deploy")
        term.key("m")  # Home -> monitoring
        term.wait("Resources")
        term.wait("Window 1")
        idle = key_latency(term, presses)
        writer = LogWriter(app_log)
        writer.start()
        try:
            time.sleep(2)  # the follower is in its stride
            loaded = key_latency(term, presses)
        finally:
            writer.stop.set()
            writer.join()
        lines_s = writer.written
    finally:
        term.close()

    def p95(samples: list[float]) -> float:
        return statistics.quantiles(samples, n=20)[-1]

    return median(idle), p95(idle), median(loaded), p95(loaded), max(loaded), float(lines_s)


def bench_memory(config: Path, app_log: Path, seconds: float) -> list[tuple[float, int]]:
    """The app itself (headless, in this process) through one compressed window."""
    import psutil
    from runbook.screens.app import RunbookApp

    from runbook import config as config_mod
    from runbook.engine import Options

    cfg = config_mod.load(config)
    app = RunbookApp(cfg)
    proc = psutil.Process()
    points: list[tuple[float, int]] = []

    async def drive() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            writer = LogWriter(app_log)
            writer.start()
            app.start_walk(
                "monitor",
                "monitor",
                Options(),
                extra={"monitor_stop": threading.Event(), "monitor_interval": 0.05},
            )
            app.show_run()
            started = time.perf_counter()
            try:
                while app.running:
                    await pilot.pause(0.5)
                    points.append((time.perf_counter() - started, proc.memory_info().rss))
                    if app.screen.__class__.__name__ == "DecisionModal":
                        await pilot.press("2")
            finally:
                writer.stop.set()
                writer.join()
                app.abort_run()

    asyncio.run(drive())
    return points


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--presses", type=int, default=20)
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        sys.exit("needs tmux")
    python = sys.executable
    runbook = shutil.which("runbook", path=str(Path(python).parent)) or "runbook"
    work = Path(tempfile.mkdtemp(prefix="rb-bench-tui-", dir="/tmp"))
    rows: list[tuple[str, str, str]] = []

    from runbook.sandbox import Sandbox

    sandbox = Sandbox.up(work / "sb")
    try:
        config = write_config(sandbox.config_path, work, minutes=10)
        floor_script = work / "floor.py"
        floor_script.write_text(FLOOR_APP)
        floor = median(first_paint([python, str(floor_script)], "FLOOR-READY", args.runs, work))
        ours = median(
            first_paint([runbook, "tui", "--config", str(config)], "Deploy", args.runs, work)
        )
        rows.append(("minimal Textual app, first paint", f"{floor * 1000:.0f} ms", "floor"))
        rows.append(
            (
                "runbook tui, first paint",
                f"{ours * 1000:.0f} ms",
                f"{ours / floor:.2f}x floor; target < 1000 ms",
            )
        )

        term = Tmux([python, str(floor_script)], work)
        try:
            term.wait("FLOOR-READY")
            key_floor = median(key_latency(term, args.presses))
        finally:
            term.close()
        idle, idle_p95, loaded, p95, worst, lines = bench_latency(
            runbook, config, sandbox.app_log, args.presses
        )
        rows.append(("minimal Textual app, key → repaint", f"{key_floor * 1000:.0f} ms", "floor"))
        rows.append(
            (
                "runbook monitor, key → repaint, log idle",
                f"{idle * 1000:.0f} ms",
                f"{idle / key_floor:.2f}x floor; p95 {idle_p95 * 1000:.0f} ms",
            )
        )
        rows.append(
            (
                f"runbook monitor, key → repaint, log at {RATE} lines/s",
                f"{loaded * 1000:.0f} ms",
                f"{loaded / key_floor:.2f}x floor; p95 {p95 * 1000:.0f} ms, max "
                f"{worst * 1000:.0f} ms; target < 100 ms ({lines:.0f} lines written)",
            )
        )

        if not args.skip_memory:
            mem_config = write_config(sandbox.config_path, work, minutes=1.5)
            points = bench_memory(mem_config, sandbox.app_log, 90)
            if points:
                sixth = max(1, len(points) // 6)
                marks = [points[min(len(points) - 1, i * sixth)] for i in range(1, 7)]
                base = marks[0][1]
                growth = (marks[-1][1] - base) / base * 100
                shown = ", ".join(f"{t:.0f}s {rss / 2**20:.0f}" for t, rss in marks)
                rows.append(
                    (
                        "app RSS over 30 compressed min (MiB)",
                        f"{marks[-1][1] / 2**20:.0f} MiB",
                        f"{shown}; {growth:+.1f} % after the first sixth; target flat",
                    )
                )
    finally:
        sandbox.down()
        shutil.rmtree(work, ignore_errors=True)
    print(table(rows))


if __name__ == "__main__":
    os.environ.pop("COLUMNS", None)
    os.environ.pop("LINES", None)
    main()
