"""``runbook sandbox up|down|status``: the CLI side of the rehearsal sandbox.

Exit codes follow the interface: 0 done (``up`` on a running sandbox and ``down``
on a stopped one included), 1 failed (``up`` stopped whatever it had started),
2 usage or missing packages (nothing touched). ``status`` exits 0 only when the
database and the app both answer, else 1.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from runbook.sandbox.core import Sandbox, SandboxError, SandboxUsageError, default_directory

ACTIONS = ("up", "down", "status")


def run(action: str, directory: Path | None, rows: int | None, as_json: bool) -> int:
    # soft_wrap: paths and URLs stay whole on one line (logs, copy-paste).
    out = Console(highlight=False, soft_wrap=True)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    # With --json, stdout carries only the JSON document.
    talk = err if as_json else out
    directory = Path(directory).expanduser().absolute() if directory else default_directory()
    if action not in ACTIONS:
        err.print(f"[red]error:[/] unknown action {action!r}; use one of {', '.join(ACTIONS)}")
        return 2
    if rows is not None and action != "up":
        err.print("[red]error:[/] --rows only applies to `runbook sandbox up`")
        return 2
    started = time.monotonic()

    def progress(message: str) -> None:
        talk.print(f"[dim]{time.monotonic() - started:6.2f}s[/]  {escape(message)}")

    try:
        if action == "up":
            sandbox = Sandbox.up(directory, rows=rows, progress=progress)
            report = sandbox.status()
            if as_json:
                _print_json(report)
            else:
                _print_summary(out, report)
            return 0
        if action == "down":
            if not (directory / "sandbox.json").exists():
                talk.print(f"no sandbox in {escape(str(directory))}; nothing to stop")
                if as_json:
                    _print_json({"dir": str(directory), "state": "absent"})
                return 0
            sandbox = Sandbox.open(directory)
            running = any(p is not None and p.alive() for p in (sandbox.mariadbd, sandbox.php))
            sandbox.down(progress=progress)
            verb = "stopped" if running else "was not running; nothing to stop"
            talk.print(f"sandbox in {escape(str(directory))} {verb}")
            if as_json:
                _print_json({"dir": str(directory), "state": "down"})
            return 0
        # status
        if not (directory / "sandbox.json").exists():
            if as_json:
                _print_json({"dir": str(directory), "state": "absent"})
            else:
                out.print(f"no sandbox in {escape(str(directory))}")
            return 1
        report = Sandbox.open(directory).status()
        if as_json:
            _print_json(report)
        else:
            _print_summary(out, report)
        return 0 if report["state"] == "up" else 1
    except SandboxUsageError as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        return 2
    except SandboxError as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        return exc.exit_code
    except KeyboardInterrupt:
        err.print("[red]interrupted[/]; every process the sandbox had started was stopped")
        return 1


def _print_json(data: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True) + "\n")
    sys.stdout.flush()


def _health(alive: bool, answering: bool) -> str:
    if answering:
        return "[green]answering[/]"
    return "[red]alive, not answering[/]" if alive else "[yellow]stopped[/]"


def _print_summary(out: Console, report: dict[str, Any]) -> None:
    colour = {"up": "green", "down": "yellow"}.get(report["state"], "red")
    failed = report.get("failed_step")
    out.print(
        f"sandbox in {escape(report['dir'])}: [bold {colour}]{report['state']}[/]"
        + (f" (the last `up` failed while {escape(failed)})" if failed else "")
    )
    db, app = report["mariadb"], report["app"]
    out.print(
        f"  MariaDB   {_health(db['alive'], db['answering'])}  pid {db['pid'] or '-'}, "
        f"127.0.0.1:{db['port']}"
    )
    http = (
        f" (HTTP {app['http_status']}, /api/health {app['health_status']})" if app["alive"] else ""
    )
    out.print(
        f"  app       {_health(app['alive'], app['answering'])}  pid {app['pid'] or '-'}, "
        f"{escape(app['url'])}{http}"
    )
    out.print(f"  socket    {escape(db['socket'])}")
    out.print(f"  config    {escape(report['config'])}")
    out.print(f"  database  {escape(db['database'])} as {escape(db['user'])}")
    out.print(f"  app dir   {escape(app['path'])}")
    out.print(f"  app log   {escape(app['log'])}")
    out.print(f"  mysql log {escape(db['error_log'])}")
    if report["state"] == "up":
        out.print(f"\nexport RUNBOOK_CONFIG={escape(report['config'])}")
