"""``runbook validate``: static DDL validation, as a table for people or JSON for machines.

Exit 0 with no errors (warnings allowed), 1 with any error, 2 when the migration
directory can't be read. Only sqlglot and, for the table, rich are imported: the
whole process stays well under half a second.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from runbook.exitcodes import CONFIG_ERROR, FAILED, OK
from runbook.migrations import MigrationSetError
from runbook.validator import RULES, ValidationResult, validate


def _summary(result: ValidationResult) -> dict[str, int]:
    return {
        "migrations": len(result.migrations),
        **result.expected.summary(),
        "errors": len(result.errors),
        "warnings": len(result.warnings),
    }


def _json_document(result: ValidationResult, sql_dir: Path | None) -> dict[str, object]:
    return {
        "ok": result.ok,
        "sql_dir": str(sql_dir) if sql_dir is not None else None,
        "summary": _summary(result),
        "findings": [{**f.to_dict(), "name": RULES[f.rule].name} for f in result.findings],
    }


def _n(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count} {singular if count == 1 else plural or singular + 's'}"


def _print_table(result: ValidationResult, sql_dir: Path | None) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console()
    if not console.is_terminal:
        # Piped into a log or CI output: long lines beat file names folded into slivers.
        console = Console(width=max(console.width, 200))
    where = str(sql_dir) if sql_dir is not None else "the shipped migrations"
    if result.findings:
        table = Table(title=f"runbook validate: {where}", title_justify="left", expand=False)
        table.add_column("rule", no_wrap=True)
        table.add_column("severity", no_wrap=True)
        table.add_column("file:line", overflow="fold")
        table.add_column("table", overflow="fold")
        table.add_column("message")
        for f in result.findings:
            colour = "bold red" if f.severity == "error" else "yellow"
            location = f.file if f.line is None else f"{f.file}:{f.line}"
            table.add_row(
                f.rule, Text(f.severity, style=colour), location, f.table or "", f.message
            )
        console.print(table)
    s = _summary(result)
    verdict = Text("OK", style="bold green") if result.ok else Text("FAILED", style="bold red")
    console.print(
        Text.assemble(
            verdict,
            f"  {_n(s['migrations'], 'migration')}: {_n(s['tables'], 'table')}, "
            f"{_n(s['foreign_keys'], 'foreign key')}, {_n(s['indexes'], 'index', 'indexes')} "
            f"(PRIMARY included), {s['unique_indexes']} unique; {_n(s['errors'], 'error')}, "
            f"{_n(s['warnings'], 'warning')}",
        )
    )


def run(sql_dir: Path | None, as_json: bool) -> int:
    """Validate ``sql_dir`` (None: the shipped set) and print the result."""
    try:
        result = validate(sql_dir)
    except MigrationSetError as e:
        if as_json:
            print(json.dumps({"ok": False, "sql_dir": str(sql_dir), "error": str(e)}, indent=2))
        else:
            print(f"runbook validate: {e}", file=sys.stderr)
        return CONFIG_ERROR
    if as_json:
        print(json.dumps(_json_document(result, sql_dir), indent=2))
    else:
        _print_table(result, sql_dir)
    return OK if result.ok else FAILED


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m runbook.validate_cmd")
    parser.add_argument("--sql-dir", type=Path, default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    return run(args.sql_dir, args.json)


if __name__ == "__main__":
    sys.exit(main())
