"""The migration phase's SQL, highlighted, with the validator's findings for each file."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.syntax import Syntax
from rich.text import Text
from textual.widgets import Static


def findings_text(validation: Any, file: str | None = None) -> Text:
    """The validator's findings (all, or one file's), readable without colour."""
    if validation is None:
        return Text("validating the migration set…", style="dim")
    found = [f for f in validation.findings if file is None or f.file == file]
    if not found:
        scope = file or f"{len(validation.migrations)} migrations"
        return Text(f"✓ validator: no findings in {scope}", style="green")
    text = Text()
    for f in found:
        mark = "✗ ERROR" if f.severity == "error" else "! warning"
        where = f"{f.file}:{f.line}" if f.line else f.file
        text.append(f"{mark} {f.rule} {where}", style="red" if f.severity == "error" else "yellow")
        text.append(f"  {f.message}\n")
    return text


def table_of(migration_name: str) -> str:
    return migration_name.split("_create_", 1)[-1].removesuffix("_table")


class SqlView(Static):
    """Every migration with its state on one line each, then one migration's SQL in full:
    the one running (or failed, or last applied) unless the operator picked another."""

    def show(
        self,
        validation: Any,
        statements: list[dict[str, Any]],
        theme: str,
        focus_table: str | None = None,
        pick: int | None = None,
    ) -> int | None:
        """Returns the index shown, for the screen's next/previous keys."""
        if validation is None:
            self.update(Text("validating the migration set…", style="dim"))
            return None
        migrations = validation.migrations
        if not migrations:
            self.update(Text("no migrations in the set", style="red"))
            return None
        ran = {s.get("migration"): s for s in statements if not s.get("undo")}
        if pick is not None:
            index = pick % len(migrations)
        else:
            tables = [table_of(m.name) for m in migrations]
            done = [i for i, m in enumerate(migrations) if m.name in ran]
            if focus_table in tables:
                index = tables.index(focus_table)
            else:
                index = done[-1] if done else 0
        parts: list[Any] = []
        for i, m in enumerate(migrations):
            done = ran.get(m.name)
            mark = "✓" if done else "·"
            line = Text(f"{'▸' if i == index else ' '} {mark} {table_of(m.name)}")
            if done:
                line.append(f"  {done.get('elapsed_ms')} ms", style="dim")
            if any(f.file == m.up_file for f in validation.findings):
                line.append("  findings", style="yellow")
            parts.append(line)
        m = migrations[index]
        done = ran.get(m.name)
        parts.append(Text(f"\n{m.up_file or m.name}  ([ ] other migrations)", style="bold"))
        parts.append(findings_text(validation, m.up_file))
        sql = (done or {}).get("sql") or m.up_sql or "-- (missing up file)"
        parts.append(Syntax(sql.strip(), "sql", theme=theme, word_wrap=True))
        self.update(Group(*parts))
        return index
