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
    p.add_argument("--dir", metavar="D", type=Path, help="sandbox directory")
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


_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "validate": _cmd_validate,
    "sandbox": _cmd_sandbox,
    "preflight": _cmd_engine,
    "deploy": _cmd_engine,
    "verify": _cmd_engine,
    "rehearse": _cmd_engine,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, which is our code too
        return int(exc.code or 0)
    if args.command is None:
        parser.print_help()
        return CONFIG_ERROR
    try:
        return _COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print("runbook: interrupted", file=sys.stderr)
        return 130


def entry() -> None:
    sys.exit(main())
