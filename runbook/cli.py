"""The ``runbook`` command line: argument parsing and dispatch only.

Each command imports its own module when it runs, so ``runbook validate``
pays for sqlglot and nothing else, and no headless command loads textual.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from runbook import __version__
from runbook.exitcodes import CONFIG_ERROR


def _minutes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of minutes") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("minutes must be above 0")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="runbook",
        description="A guided, crash-safe runbook for the Phase 2 MySQL/MariaDB schema deployment.",
    )
    parser.add_argument("--version", action="version", version=f"runbook {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def config_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--config",
            metavar="F",
            help="config file (default: $RUNBOOK_CONFIG, else ./runbook.toml)",
        )

    p = sub.add_parser("validate", help="static DDL validation with sqlglot; needs no database")
    p.add_argument(
        "--sql-dir", metavar="D", type=Path, help="migration directory (default: shipped)"
    )
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")

    p = sub.add_parser("sandbox", help="the throwaway rehearsal target")
    p.add_argument("action", choices=["up", "down", "status"])
    p.add_argument("--dir", metavar="D", type=Path, help="sandbox directory")
    p.add_argument("--rows", metavar="N", type=_positive_int, help="scale of the largest tables")
    p.add_argument("--json", action="store_true", help="machine-readable status")

    p = sub.add_parser("preflight", help="every read-only pre-deployment check; writes nothing")
    config_arg(p)
    p.add_argument("--sql-dir", metavar="D", type=Path)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("deploy", help="the deployment, headless")
    config_arg(p)
    p.add_argument("--sql-dir", metavar="D", type=Path)
    p.add_argument("--yes", action="store_true", help="answer every prompt with the safe default")
    p.add_argument("--dry-run", action="store_true", help="run the checks, show every write")
    p.add_argument("--no-maintenance", action="store_true", help="zero downtime: no artisan down")
    p.add_argument("--skip-backup", action="store_true", help="NOT RECOMMENDED: no backup")
    p.add_argument("--resume", action="store_true", help="finish or undo an interrupted run")

    p = sub.add_parser("verify", help="post-deployment verification only")
    config_arg(p)
    p.add_argument("--sql-dir", metavar="D", type=Path)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("rehearse", help="sandbox up, guided deployment against it, sandbox down")
    p.add_argument("--drill", metavar="NAME", help="inject a fault for training")
    p.add_argument("--dir", metavar="D", type=Path, help="sandbox directory (default: a new one)")
    p.add_argument("--yes", action="store_true", help="headless, the safe default everywhere")
    p.add_argument("--minutes", type=_minutes, help="the compressed monitoring window")

    p = sub.add_parser("tui", help="the guided runbook in the terminal")
    config_arg(p)
    p.add_argument("--dry-run", action="store_true", help="run the checks, show every write")

    p = sub.add_parser(
        "test-migrations", help="the automated migration test suite, on a scratch copy"
    )
    config_arg(p)
    p.add_argument("--sql-dir", metavar="D", type=Path)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("rollback", help="Option A (down-migrations) or Option B (restore a backup)")
    config_arg(p)
    p.add_argument("--sql-dir", metavar="D", type=Path)
    how = p.add_mutually_exclusive_group()
    how.add_argument("--migrations", action="store_true", help="Option A: the down files")
    how.add_argument("--restore", metavar="FILE", type=Path, help="Option B: restore this backup")
    p.add_argument("--yes", action="store_true", help="answer every prompt with the safe default")

    p = sub.add_parser("monitor", help="post-deployment monitoring, headless")
    config_arg(p)
    p.add_argument("--minutes", type=_minutes, help="the window (default: [monitor] minutes)")
    p.add_argument("--json", action="store_true", help="one JSON document at the end")
    p.add_argument("--yes", action="store_true", help="answer every prompt with the safe default")
    return parser


def _cmd_validate(args: argparse.Namespace) -> int:
    from runbook.validate_cmd import run

    return run(args.sql_dir, args.json)


def _cmd_sandbox(args: argparse.Namespace) -> int:
    from runbook.sandbox.command import run

    return run(args.action, args.dir, args.rows, args.json)


def _cmd_engine(args: argparse.Namespace) -> int:
    from runbook.commands import dispatch

    return dispatch(args)


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def _cmd_tui(args: argparse.Namespace) -> int:
    from runbook.commands import guarded

    def run() -> int:
        from runbook.config import find_config
        from runbook.screens.launch import run_tui

        return run_tui(find_config(getattr(args, "config", None)), dry_run=args.dry_run)

    return guarded(run)


def _cmd_rollback(args: argparse.Namespace) -> int:
    """Incident responders land on the rollback screen; --yes and scripts stay headless."""
    if not args.yes and _interactive():
        from runbook.commands import guarded

        def run() -> int:
            from runbook.config import find_config
            from runbook.screens.launch import run_tui

            return run_tui(find_config(args.config), rollback=True)

        return guarded(run)
    if not args.migrations and args.restore is None:
        print(
            "runbook rollback: choose --migrations (Option A) or --restore FILE (Option B)",
            file=sys.stderr,
        )
        return CONFIG_ERROR
    from runbook.rollback import cmd_rollback

    return cmd_rollback(args)


def _cmd_test_migrations(args: argparse.Namespace) -> int:
    from runbook.testsuite import cmd_test_migrations

    return cmd_test_migrations(args)


def _cmd_monitor(args: argparse.Namespace) -> int:
    from runbook.monitor import cmd_monitor

    return cmd_monitor(args)


_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "validate": _cmd_validate,
    "sandbox": _cmd_sandbox,
    "preflight": _cmd_engine,
    "deploy": _cmd_engine,
    "verify": _cmd_engine,
    "rehearse": _cmd_engine,
    "tui": _cmd_tui,
    "rollback": _cmd_rollback,
    "test-migrations": _cmd_test_migrations,
    "monitor": _cmd_monitor,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, which is our code too
        return int(exc.code or 0)
    if args.command is None:
        # bare `runbook`: the guided runbook, as the contract says
        args = parser.parse_args(["tui"])
    try:
        return _COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print("runbook: interrupted", file=sys.stderr)
        return 130


def entry() -> None:
    sys.exit(main())
