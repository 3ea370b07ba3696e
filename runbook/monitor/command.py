"""``runbook monitor --config F [--minutes N] [--json] [--yes]``: one window, headless.

It only reads: the logs, the machine, ``SHOW GLOBAL STATUS`` and the app's
URL. It never rolls back (that is the guided runbook's decision, or
``runbook rollback``'s); it reports, and its exit code says whether it saw issues.

Exit codes: 0 the window completed with no issues; 1 issues detected (minor or
major; the document says which), or the window was cut short (Ctrl-C,
SIGTERM): the target was not changed either way; 2 configuration error.

Output: a compact line per interval (Rich colours on a terminal, plain lines
otherwise), hits as they happen, the verdict at the end. ``--json`` prints ONE
document at the end on stdout and nothing else there.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from runbook import config as config_mod
from runbook import exitcodes, journal
from runbook.config import ConfigError
from runbook.monitor import checkpoint as cp
from runbook.monitor.baseline import recorded_baseline
from runbook.monitor.detectors import MAJOR, MINOR, Hit
from runbook.monitor.session import MonitorSession, MonitorUpdate
from runbook.signals import Interrupted, Signals

_STYLE = {"none": "green", MINOR: "yellow", MAJOR: "bold red"}


def _clock(seconds: float) -> str:
    seconds = max(0, round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def _num(value: float | None, fmt: str, unit: str = "") -> str:
    return "–" if value is None else f"{value:{fmt}}{unit}"


def status_line(update: MonitorUpdate, window_s: float) -> str:
    """The compact per-interval line: elapsed/window, QPS, conns, CPU, mem, server, app, hits."""
    s = update.sample
    server = (
        f"{s.server.name} {_num(s.server.cpu_percent, '.0f', '%')} "
        f"{_num(s.server.rss and s.server.rss / 2**20, '.0f', ' MiB')}"
        if s.server.pid
        else "server –"
    )
    if s.app is None:
        app = "app –"
    elif s.app.status == 200:
        app = f"app 200 {_num(s.app.ms, '.0f', ' ms')}"
    else:
        app = f"app {s.app.detail}"
    db = (
        f"qps {_num(s.status.qps, '.1f')} conns {_num(s.status.threads_connected, 'd')}"
        if s.status.ok
        else "db DOWN"
    )
    return (
        f"{_clock(update.elapsed_s)}/{_clock(window_s)} {db} "
        f"cpu {_num(s.system.cpu_percent, '.0f', '%')} mem {s.system.mem_percent:.0f}% "
        f"{server} {app} "
        f"hits {len(update.hits)} ({update.severity})"
    )


def hit_line(hit: Hit) -> str:
    return f"{hit.severity.upper()} {hit.detector} [{hit.source}]: {hit.line}"


class _Printer:
    def __init__(self, console: Any, window_s: float) -> None:
        self.console = console
        self.window_s = window_s

    def __call__(self, update: MonitorUpdate) -> None:
        from rich.markup import escape

        c = self.console
        for note in update.notes:
            c.print(f"[yellow]note: {escape(note)}[/]")
        for hit in update.hits:
            c.print(f"[{_STYLE[hit.severity]}]{escape(hit_line(hit))}[/]")
        style = _STYLE.get(update.severity, "")
        line = escape(status_line(update, self.window_s))
        c.print(f"[{style}]{line}[/]" if update.severity != "none" else f"[dim]{line}[/]")


def cmd_monitor(args: argparse.Namespace) -> int:
    from runbook.commands import make_console

    as_json = bool(getattr(args, "json", False))
    yes = bool(getattr(args, "yes", False))
    err = make_console(stderr=True)
    try:
        cfg = config_mod.load(getattr(args, "config", None))
    except ConfigError as exc:
        err.print(f"runbook: {exc}", markup=False)
        return exitcodes.CONFIG_ERROR
    minutes = getattr(args, "minutes", None)
    minutes = cfg.monitor_minutes if minutes is None else float(minutes)
    if minutes <= 0:
        err.print(f"runbook: --minutes must be above 0, not {minutes:g}", markup=False)
        return exitcodes.CONFIG_ERROR
    # With --json, stdout holds the document only: the live lines go to stderr.
    console = err if as_json else make_console(stderr=False)
    jr = _journal(cfg, err)
    baseline = recorded_baseline(cfg)
    session = MonitorSession(cfg, minutes=minutes, baseline=baseline)
    if jr:
        jr.write(journal.RUN_START, start="monitor", target=cfg.database.where, minutes=minutes)
    if not as_json or err.is_terminal:
        console.print(
            f"[bold cyan]▶ monitoring {cfg.database.where} and {cfg.app.url} for "
            f"{minutes:g} min[/] [dim](Ctrl-C ends early)[/]"
        )
    printer = _Printer(console, session.window_s) if (not as_json or err.is_terminal) else None

    def on_update(update: MonitorUpdate) -> None:
        if printer:
            printer(update)
        if jr:
            for hit in update.hits:
                jr.write("detector_hit", node="monitor", **hit.as_json())

    interrupted = ""
    try:
        with Signals().installed():
            session.run(on_update)
    except KeyboardInterrupt:
        interrupted = "SIGINT"
    except Interrupted as exc:
        interrupted = exc.signame
    finally:
        session.close()
    answer, why = None, "unattended: --yes"
    if interrupted:
        why = f"not asked: interrupted by {interrupted}"
    elif not yes:
        if sys.stdin.isatty():
            from runbook.prompter import ConsolePrompter

            answer, why = cp.ask_user_reports(ConsolePrompter(console), unattended=False)
        else:
            why = "unattended: no terminal"
    verdict = session.verdict(answer, why)
    code = exitcodes.OK if not verdict.issues and session.completed else exitcodes.FAILED
    doc = session.report(verdict)
    doc["interrupted"] = interrupted or None
    doc["exit_code"] = code
    if jr:
        jr.write("monitor_verdict", node="monitor", **verdict.as_json())
        jr.write(journal.RUN_END, outcome="monitored", exit_code=code, title=verdict.reason)
        jr.close()
        doc["journal"] = str(jr.path)
    if as_json:
        print(json.dumps(doc, indent=2, default=str))
    else:
        _print_summary(console, doc, verdict)
    return code


def _journal(cfg: config_mod.Config, err: Any) -> journal.Journal | None:
    # Monitoring only reads; a journal directory it cannot write must not stop it.
    try:
        return journal.Journal.create(cfg.journal_dir, cfg.database.database, "monitor")
    except journal.JournalError as exc:
        err.print(f"runbook: warning: {exc}; monitoring without a journal", markup=False)
        return None


def _print_summary(console: Any, doc: dict[str, Any], verdict: cp.Verdict) -> None:
    from rich.markup import escape

    console.print()
    for name, d in doc["detectors"].items():
        if d["count"]:
            console.print(
                f"  [{_STYLE[d['severity']]}]{escape(d['title'])}: {d['count']}[/] "
                f"[dim]({name}; e.g. {escape(str(d['example']))})[/]"
            )
    r = doc["resources"]

    def span(key: str, fmt: str = ".0f") -> str:
        v = r.get(key)
        return "–" if not v else f"{v['min']:{fmt}}/{v['median']:{fmt}}/{v['max']:{fmt}}"

    console.print(
        f"  [dim]min/median/max: cpu {span('cpu_percent')} %, mem {span('mem_percent')} %, "
        f"qps {span('qps', '.1f')}, conns {span('threads_connected')}, "
        f"app {span('app_ms')} ms[/]"
    )
    marks = {cp.PASS: "[green]✓[/]", cp.FAIL: "[red]✗[/]", cp.UNCONFIRMED: "[yellow]?[/]"}
    for check in verdict.checks:
        console.print(f"  {marks[check.status]} {escape(check.name)}: {escape(check.detail)}")
    for caveat in verdict.caveats:
        console.print(f"  [yellow]caveat: {escape(caveat)}[/]")
    style = _STYLE[verdict.severity]
    cut = "" if doc["window"]["completed"] else ", the window was cut short"
    console.print(
        f"[{style}]issues: {verdict.severity} — {escape(verdict.reason)}[/] "
        f"(exit {doc['exit_code']}{cut})"
    )
    if doc.get("journal"):
        console.print(f"  journal: {doc['journal']}")
