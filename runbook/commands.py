"""The headless driver: deploy, preflight, verify and rehearse from the command line.

It renders the engine's events with Rich (plain lines when stdout is not a
terminal) and answers the prompter from the terminal or ``--yes``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any, ClassVar

from runbook import config as config_mod
from runbook import exitcodes, flow, journal, runs
from runbook.config import Config, ConfigError
from runbook.db import DatabaseError, Target
from runbook.engine import Context, Event, Options, RunOutcome
from runbook.prompter import NeedsOperator, Prompter, for_terminal


def make_console(stderr: bool = False) -> Any:
    from rich.console import Console

    console = Console(stderr=stderr, highlight=False)
    if not console.is_terminal:
        # plain lines for logs and pipes: no wrapping at an imaginary 80 columns
        console.soft_wrap = True
    return console


def load_config(args: argparse.Namespace) -> Config:
    cfg = config_mod.load(getattr(args, "config", None))
    sql_dir = getattr(args, "sql_dir", None)
    if sql_dir is not None:
        cfg = Config(**{**vars(cfg), "sql_dir": sql_dir})
    return cfg


def _validation(cfg: Config) -> Any:
    from runbook.validator import validate

    return validate(cfg.sql_dir)


class Renderer:
    """Events -> terminal lines. One place decides how a step looks headless."""

    ICON: ClassVar[dict[str, str]] = {
        "pass": "[green]✓[/]",
        "fail": "[red]✗[/]",
        "warn": "[yellow]![/]",
    }

    def __init__(self, console: Any) -> None:
        self.console = console
        self._bar: Any = None

    def __call__(self, event: Event) -> None:
        c = self.console
        d = event.data
        if event.kind != "progress":
            self._stop_bar()
        if event.kind == "step_start":
            c.print(f"\n[bold cyan]▶ {d['title']}[/]")
        elif event.kind == "step_end":
            mark = "[dim]–[/]" if d["skipped"] else ("[green]✓[/]" if d["ok"] else "[red]✗[/]")
            c.print(f"  {mark} {d['summary']} [dim]({d['elapsed_s']:.2f} s)[/]")
            for line in d["evidence"] if not d["ok"] else []:
                c.print(f"    [red]{_esc(line)}[/]")
        elif event.kind == "check":
            icon = self.ICON.get(d["status"], "?")
            c.print(f"  {icon} {d['name']}: {_esc(d['detail'])}")
            if d["status"] != "pass" and d.get("fix"):
                c.print(f"      [dim]→ {_esc(d['fix'])}[/]")
        elif event.kind == "output":
            style = {"error": "red", "warning": "yellow"}.get(d.get("level", ""), "dim")
            c.print(f"  [{style}]{_esc(d['text'])}[/]")
        elif event.kind == "would":
            c.print(f"  [magenta]DRY-RUN would {d['action']}:[/] {_esc(d['detail'])}")
        elif event.kind == "statement":
            verb = "undo" if d.get("undo") else "applied"
            ms = f" in {d['elapsed_ms']} ms" if "elapsed_ms" in d else ""
            c.print(f"  [green]{verb}[/] {d.get('migration') or d.get('table')}{ms}")
            for w in d.get("warnings") or []:
                c.print(f"    [yellow]{_esc(w)}[/]")
        elif event.kind == "decision":
            how = "automatic" if d.get("automatic") else "answered"
            c.print(f"  [bold]? {d['text']}[/] → {d['answer']} [dim]({how})[/]")
        elif event.kind == "progress":
            self._progress(d)
        elif event.kind == "test_end":
            mark = "[green]✓[/]" if d["ok"] else "[red]✗[/]"
            c.print(f"  {mark} {_esc(d['name'])} [dim]({d['elapsed_s']:.2f} s)[/]")
            for line in d["evidence"]:
                c.print(f"      [dim]{_esc(line)}[/]")
        elif event.kind == "monitor_sample" and "_update" in d:
            from runbook.monitor.command import status_line

            update = d["_update"]
            line = status_line(update, update.elapsed_s + update.remaining_s)
            c.print(f"  [dim]{_esc(line)}[/]")
        elif event.kind == "detector_hit":
            c.print(
                f"  [yellow]{_esc(d.get('severity', '').upper())} {_esc(d.get('detector', ''))}"
                f"[/]: {_esc(d.get('line', ''))}"
            )
        elif event.kind == "aborted":
            c.print(f"\n[bold red]aborted by {d['reason']}[/]: {_esc(d['message'])}")

    def _progress(self, d: dict[str, Any]) -> None:
        if not self.console.is_terminal:
            return
        from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

        if self._bar is None:
            self._bar = Progress(
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                console=self.console,
                transient=True,
            )
            self._task = self._bar.add_task("bytes", total=d["total"])
            self._bar.start()
        total = d["total"] if d["total"] and d["total"] >= d["done"] else None
        self._bar.update(self._task, completed=d["done"], total=total)

    def _stop_bar(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def _esc(text: str) -> str:
    from rich.markup import escape

    return escape(str(text))


def run_deploy(
    cfg: Config, options: Options, prompter: Prompter, sink: Any, start: str = "preflight"
) -> tuple[RunOutcome, Context]:
    """Walk the deployment from ``start``."""
    kind = "dryrun" if options.dry_run else "deploy"
    ctx = runs.new_context(cfg, options, prompter, sink, kind)
    outcome = runs.walk(ctx, start)
    return outcome, ctx


def summary_lines(outcome: RunOutcome, ctx: Context) -> list[str]:
    lines = [f"outcome: {outcome.outcome} (exit {outcome.exit_code})"]
    for node_id, seconds in outcome.durations.items():
        node = flow.NODES[node_id]
        estimate = getattr(node, "estimate_s", None)
        lines.append(
            f"{node.title}: {seconds:.2f} s" + (f" (seed: {estimate:g} s)" if estimate else "")
        )
    if "migration_s" in ctx.state:
        lines.append(f"migration time: {ctx.state['migration_s'] * 1000:.0f} ms")
    if "downtime_s" in ctx.state:
        lines.append(f"downtime: {ctx.state['downtime_s']:.2f} s")
    if b := ctx.state.get("backup"):
        lines.append(f"backup: {b['path']} ({b['size']} bytes, sha256 {b['sha256']})")
    if v := ctx.state.get("verification"):
        lines.append(
            "verification: " + ("passed" if not v.problems else f"{len(v.problems)} problems")
        )
    lines.append(f"journal: {ctx.journal.path}")
    return lines


def cmd_deploy(args: argparse.Namespace) -> int:
    console = make_console()
    cfg = load_config(args)
    if args.resume:
        from runbook.resume import resume

        return resume(cfg, console, yes=args.yes)
    prompter = for_terminal(args.yes, console)
    if args.skip_backup and not args.yes and not args.dry_run:
        from runbook.prompter import Option, Question

        q = Question(
            "skip_backup",
            "Skip the backup? There will be nothing to restore from.",
            (Option("no", "keep the backup"), Option("skip", "skip it (NOT RECOMMENDED)")),
            safe="no",
            confirm_word="skip-backup",
        )
        if prompter.ask(q) != "skip":
            console.print("keeping the backup")
            args.skip_backup = False
    options = Options(
        dry_run=args.dry_run,
        no_maintenance=args.no_maintenance,
        skip_backup=args.skip_backup,
        yes=args.yes,
    )
    if args.dry_run:
        console.print("[bold magenta]DRY-RUN: every check runs for real; nothing is written[/]")
    outcome, ctx = run_deploy(cfg, options, prompter, Renderer(console))
    console.print()
    style = "green" if outcome.exit_code == 0 else "red"
    for i, line in enumerate(summary_lines(outcome, ctx)):
        console.print(f"[{style}]{line}[/]" if i == 0 else f"  {line}")
    return outcome.exit_code


def cmd_preflight(args: argparse.Namespace) -> int:
    from runbook.preflight import run_checks

    cfg = load_config(args)
    target = Target(cfg.database, dry_run=True)
    report = run_checks(cfg, target, _validation(cfg))
    if args.json:
        print(json.dumps(report.as_json(), indent=2))
    else:
        console = make_console()
        render = Renderer(console)
        for c in report.checks:
            render(Event("check", "preflight", vars(c)))
        console.print("[green]ready to deploy[/]" if report.ok else "[red]not ready[/]")
    if any(c.name == "lock" and c.status == "fail" for c in report.checks):
        return exitcodes.LOCKED
    return exitcodes.OK if report.ok else exitcodes.FAILED


def cmd_verify(args: argparse.Namespace) -> int:
    from runbook.verify import verify

    cfg = load_config(args)
    target = Target(cfg.database)
    validation = _validation(cfg)
    s = target.connect()
    try:
        report = verify(s, cfg.database.database, validation)
    finally:
        s.close()
    if args.json:
        print(json.dumps(report.as_json(), indent=2))
    else:
        console = make_console()
        for line in report.passed:
            console.print(f"  [green]✓[/] {_esc(line)}")
        for line in report.problems:
            console.print(f"  [red]✗[/] {_esc(line)}")
        console.print("[green]verified[/]" if not report.problems else "[red]not verified[/]")
    return exitcodes.OK if not report.problems else exitcodes.NEEDS_PERSON


def cmd_rehearse(args: argparse.Namespace) -> int:
    """Sandbox up, the guided runbook against it, sandbox down whatever happens."""
    from runbook import drills, rehearsal

    minutes = args.minutes or rehearsal.DEFAULT_MINUTES
    if args.drill is not None and args.drill not in drills.names():
        make_console(stderr=True).print(
            f"[red]runbook rehearse: no drill {args.drill!r}; "
            f"choose one of {', '.join(drills.names())}[/]"
        )
        return exitcodes.CONFIG_ERROR
    if args.yes or not (sys.stdin.isatty() and sys.stdout.isatty()):
        return rehearsal.run_headless(
            args.drill, args.dir, args.yes, make_console(), minutes=minutes
        )
    from runbook.screens.launch import run_tui

    console = make_console()
    console.print("[bold magenta]REHEARSAL[/]: starting the sandbox")
    with rehearsal.Rehearsal.start(
        args.dir, args.drill, minutes=minutes, progress=lambda s: console.print(f"  [dim]{s}[/]")
    ) as r:
        return run_tui(None, rehearsal=r)


_HANDLERS = {
    "deploy": cmd_deploy,
    "preflight": cmd_preflight,
    "verify": cmd_verify,
    "rehearse": cmd_rehearse,
}


def dispatch(args: argparse.Namespace) -> int:
    return guarded(lambda: _HANDLERS[args.command](args))


def guarded(run: Callable[[], int]) -> int:
    """Known failures become a one-line message and their exit code, never a traceback."""
    err = make_console(stderr=True)
    try:
        return run()
    except ConfigError as exc:
        err.print(f"[red]runbook: {_esc(str(exc))}[/]")
        return exitcodes.CONFIG_ERROR
    except NeedsOperator as exc:
        err.print(f"[red]runbook: {_esc(str(exc))}[/]")
        return exitcodes.FAILED
    except DatabaseError as exc:
        err.print(f"[red]runbook: {_esc(str(exc))}[/]")
        return exitcodes.FAILED
    except journal.JournalError as exc:
        err.print(f"[red]runbook: {_esc(str(exc))}[/]")
        return exitcodes.CONFIG_ERROR
    except Exception as exc:
        from runbook.sandbox import SandboxError

        if not isinstance(exc, SandboxError):
            raise
        err.print(f"[red]runbook: {_esc(str(exc))}[/]")
        return exc.exit_code
