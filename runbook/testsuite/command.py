"""``runbook test-migrations``: the suite from the command line, rendered with Rich."""

from __future__ import annotations

import argparse
from typing import Any

from runbook import exitcodes
from runbook.config import Config
from runbook.testsuite.report import TEST_COUNT, SuiteReport
from runbook.testsuite.suite import Emit
from runbook.validator import ValidationResult


def _mark(ok: bool) -> str:
    return "[green]✓[/]" if ok else "[red]✗[/]"


def cmd_test_migrations(args: argparse.Namespace) -> int:
    """``runbook test-migrations --config F [--sql-dir D] [--json]``: a server or journal
    that fails becomes a one-line message and its exit code (commands.guarded)."""
    from runbook.commands import guarded

    return guarded(lambda: _test_migrations(args))


def _test_migrations(args: argparse.Namespace) -> int:
    import json

    from rich.markup import escape

    from runbook import config as config_mod
    from runbook.commands import make_console
    from runbook.config import ConfigError
    from runbook.migrations import MigrationSetError
    from runbook.validator import validate

    err = make_console(stderr=True)
    try:
        cfg = config_mod.load(getattr(args, "config", None))
        sql_dir = getattr(args, "sql_dir", None) or cfg.sql_dir
        validation = validate(sql_dir)
    except (ConfigError, MigrationSetError) as exc:
        err.print(f"[red]runbook: {escape(str(exc))}[/]")
        return exitcodes.CONFIG_ERROR
    console = make_console(stderr=False)
    as_json = bool(getattr(args, "json", False))

    def emit(kind: str, data: dict[str, Any]) -> None:
        if as_json:
            return
        if kind == "test_start":
            console.print(f"[bold cyan]▶ {escape(data['name'])}[/]")
        elif kind == "test_end":
            console.print(
                f"  {_mark(data['ok'])} {escape(data['name'])} [dim]({data['elapsed_s']:.2f} s)[/]"
            )
        elif kind == "output":
            style = {"error": "red", "warning": "yellow"}.get(data.get("level", ""), "dim")
            console.print(f"  [{style}]{escape(data['text'])}[/]")

    report = _walk(cfg, validation, emit)
    if report is None:  # interrupted: the walk journaled it and dropped the scratch copy
        err.print("[red]runbook: the test suite was interrupted[/]")
        return exitcodes.FAILED
    if as_json:
        print(json.dumps(report.as_json(), indent=2, default=str))
    else:
        _render(console, report)
    return exitcodes.OK if report.ok else exitcodes.FAILED


def _walk(cfg: Config, validation: ValidationResult, emit: Emit) -> SuiteReport | None:
    """The flow's own test-suite step and its decision, journaled like any run; the walk
    ends where the deployment would begin. No notification: nothing was deployed."""
    from runbook import runs
    from runbook.engine import Event, Options
    from runbook.prompter import SafeDefaultPrompter

    def sink(event: Event) -> None:
        emit(event.kind, event.data)

    # the decision after the suite is automatic: no one is asked anything
    # the set validated above: --sql-dir may name another than the config's
    ctx = runs.new_context(cfg, Options(), SafeDefaultPrompter(), sink, "test", validation)
    runs.walk(ctx, "test_suite", only={"test_suite"}, until="preflight")
    return ctx.state.get("test_suite")


def _render(console: Any, report: SuiteReport) -> None:
    from rich.markup import escape
    from rich.table import Table

    if not console.is_terminal:  # logs and pipes: one line per test, evidence indented
        console.print(f"Automated test suite on {escape(report.target)}")
        for r in report.results:
            console.print(f"{_mark(r.ok)} {escape(r.name)} ({r.elapsed_s:.2f} s)")
            for line in r.evidence:
                console.print(f"    {escape(line)}")
    else:
        table = Table(title=f"Automated test suite on {report.target}")
        table.add_column("test", no_wrap=True)
        table.add_column("", justify="center", no_wrap=True)
        table.add_column("evidence", ratio=1)
        table.add_column("time", justify="right", no_wrap=True)
        for r in report.results:
            table.add_row(
                escape(r.name), _mark(r.ok), escape("\n".join(r.evidence)), f"{r.elapsed_s:.2f} s"
            )
        console.print(table)
    if report.cleanup_error:
        console.print(f"[red]{escape(report.cleanup_error)}[/]")
    else:
        console.print(f"[dim]{report.scratch} dropped[/]")
    if report.ok:
        console.print(f"[green]ALL {TEST_COUNT} TESTS PASS ✓[/]: proceed to deployment")
    else:
        console.print(
            f"[red]{len(report.failed)} of {TEST_COUNT} tests failed: STOP DEPLOYMENT[/] "
            "(review the evidence, fix, re-test)"
        )
