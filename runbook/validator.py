"""Static validation of the migration set: no database, every doubt an error.

``validate()`` reads the migrations and the baseline (the parent tables production
already has), builds the schema model from the DDL, and checks it against ``RULES``
(documented in assets/docs/validator-rules.md). Whatever sqlglot cannot fully parse
is an error finding, so an empty result means "understood and clean", never "skipped".

This module holds the findings, the set-level (structure) rules and the driver; the
per-table rules live in ``runbook.table_rules``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path

from sqlglot import exp

from runbook.ddl import (
    ParsedFile,
    TableDef,
    created_table,
    is_create_table,
    parse_sql,
    qualified_name,
    table_def,
    table_names,
)
from runbook.findings import RULES, Finding, Reporter, Where
from runbook.migrations import BASELINE, Migration, scan
from runbook.model import Schema, Table
from runbook.table_rules import check_table

__all__ = ["RULES", "Finding", "ValidationResult", "validate"]

NAME_PATTERN = re.compile(r"^\d{4}_\d{2}_\d{2}_\d{6}_create_(?P<table>\w+)_table$")


@dataclass(frozen=True)
class ValidationResult:
    findings: list[Finding]
    migrations: list[Migration]
    expected: Schema  # the tables the migrations create, in migration order
    baseline: Schema  # the parent tables production already has

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]


_TXN = (
    "transaction control has no place in a migration: DDL commits implicitly, so it "
    "only pretends to protect"
)


def _is_transaction_control(expr: exp.Expr) -> bool:
    if isinstance(expr, exp.Transaction | exp.Commit | exp.Rollback):
        return True
    return isinstance(expr, exp.Set) and "autocommit" in expr.sql("mysql").lower()


def _foreign_targets(expr: exp.Expr, own: str | None) -> list[str]:
    """What a DROP/TRUNCATE/ALTER acts on besides the migration's own table."""
    kind = str(expr.args.get("kind") or "").upper()
    if isinstance(expr, exp.Drop) and kind != "TABLE":
        return [f"{kind or 'an object'} {expr.this.sql('mysql') if expr.this else ''}".strip()]
    targets = [t for t in table_names(expr) if own is None or t.lower() != own.lower()]
    if isinstance(expr, exp.Alter):
        # ALTER TABLE own RENAME TO other moves the table away all the same.
        targets += [
            qualified_name(a.this)
            for a in expr.args.get("actions") or []
            if isinstance(a, exp.AlterRename)
        ]
    return targets


def _misplaced(expr: exp.Expr, own: str | None, where: Where, line: int) -> bool:
    """Report statements no migration file may hold; True when one was reported."""
    if _is_transaction_control(expr):
        where.add("RB105", line, _TXN)
        return True
    if targets := _foreign_targets(expr, own):
        where.add("RB104", line, f"acts on {', '.join(targets)}, which this migration does not own")
        return True
    return False


def _check_up(parsed: ParsedFile, where: Where) -> TableDef | None:
    creates = [s for s in parsed.statements if is_create_table(s.expr)]
    own = created_table(creates[0].expr) if creates else None
    where = where.on(own)
    for s in parsed.statements:
        if s not in creates and not _misplaced(s.expr, own, where, s.line):
            where.add(
                "RB102",
                s.line,
                f"unexpected {s.expr.key.upper()} statement: an up file is exactly one "
                "CREATE TABLE",
            )
    if not creates:
        if not parsed.problems:  # a parse error already explains the absence
            where.add("RB102", None, "no CREATE TABLE statement")
        return None
    for extra in creates[1:]:
        where.add("RB102", extra.line, "a second CREATE TABLE: one migration, one table")
    tdef = table_def(creates[0], where.file)
    t = tdef.table
    if not tdef.has_body or tdef.temporary:
        what = "a TEMPORARY table" if tdef.temporary else "CREATE TABLE ... LIKE / AS SELECT"
        where.add("RB102", t.line, f"{what}: the table must be declared in full")
        return None  # nothing declared to check, and nothing a deploy could verify
    if tdef.if_not_exists:
        where.add(
            "RB106",
            t.line,
            "IF NOT EXISTS turns 'the table was already there, possibly different' into a "
            "silent success",
        )
    return tdef


def _check_down(parsed: ParsedFile, own: str | None, where: Where) -> None:
    drops = 0
    for s in parsed.statements:
        drops_own = (
            isinstance(s.expr, exp.Drop)
            and str(s.expr.args.get("kind")).upper() == "TABLE"
            and own is not None
            and own.lower() in map(str.lower, table_names(s.expr))
        )
        if not _misplaced(s.expr, own, where, s.line) and not drops_own:
            where.add(
                "RB103",
                s.line,
                f"unexpected {s.expr.key.upper()} statement: a down file is exactly one "
                f"DROP TABLE of {own or 'its table'}",
            )
        if not drops_own:
            continue
        drops += 1
        if drops > 1:
            where.add("RB103", s.line, "drops its table a second time")
        if s.expr.args.get("exists"):
            where.add(
                "RB107",
                s.line,
                "IF EXISTS hides a table that is already gone (drift); the runbook only "
                "rolls back tables it knows exist",
            )
    if drops == 0 and not parsed.problems:
        where.add("RB103", None, f"no DROP TABLE of {own or 'its table'}")


def _check_name(m: Migration, t: Table, where: Where) -> None:
    match = NAME_PATTERN.match(m.name)
    if match is None:
        where.add(
            "RB109",
            t.line,
            f"'{m.name}' is not YYYY_MM_DD_HHMMSS_create_<table>_table (Laravel orders and "
            "records migrations by name)",
        )
    elif match.group("table") != t.name:
        where.add(
            "RB109",
            t.line,
            f"the name says '{match.group('table')}' but the file creates '{t.name}'",
        )


def _name_table(migration_name: str) -> str | None:
    match = NAME_PATTERN.match(migration_name)
    return match.group("table") if match else None


def _baseline(text: str, file: str, rep: Reporter) -> Schema:
    parsed = parse_sql(text)
    rep.problems(parsed, rep.at(file))
    tables = [table_def(s, file).table for s in parsed.statements if is_create_table(s.expr)]
    return Schema({t.name: t for t in tables})


def _file_order(mset_migrations: list[Migration]) -> dict[str, int]:
    order = {BASELINE: 0}
    for m in mset_migrations:
        order.setdefault(f"{m.name}.up.sql", len(order))
        order.setdefault(f"{m.name}.down.sql", len(order))
    return order


def validate(sql_dir: Path | Traversable | str | None = None) -> ValidationResult:
    """Check every migration in ``sql_dir`` (default: the shipped set).

    Raises ``MigrationSetError`` when the directory can't be read.
    """
    mset = scan(sql_dir)
    rep = Reporter()

    if mset.baseline_sql is not None:
        baseline = _baseline(mset.baseline_sql, BASELINE, rep)
    else:
        from runbook.resources import sql_dir as shipped

        rep.at(BASELINE).add(
            "RB003",
            None,
            "the directory has no baseline.sql; the parent tables come from the shipped one",
        )
        text = (shipped() / BASELINE).read_text(encoding="utf-8")
        baseline = _baseline(text, f"{BASELINE} (shipped)", rep)

    for stray in mset.stray_files:
        rep.at(stray).add(
            "RB110",
            None,
            "not baseline.sql and not <name>.up.sql/.down.sql: it will never run (a "
            "misnamed migration?)",
        )

    # First pass: what each migration creates, so FK checks know which parents come later.
    tdefs: list[tuple[Migration, TableDef]] = []
    # Tables whose migration didn't parse: already an error, so FKs to them aren't
    # reported a second time as unknown parents.
    unreadable: set[str] = set()
    for m in mset.migrations:
        guess = _name_table(m.name)
        if m.up_sql is None:
            rep.at(f"{m.name}.up.sql", guess).add(
                "RB101", None, "the migration has a down file but no up file"
            )
        if m.down_sql is None:
            rep.at(f"{m.name}.down.sql", guess).add(
                "RB101", None, "the migration has an up file but no down file: no rollback"
            )
        tdef = None
        if m.up_sql is not None and m.up_file is not None:
            parsed = parse_sql(m.up_sql)
            rep.problems(parsed, rep.at(m.up_file, guess))
            tdef = _check_up(parsed, rep.at(m.up_file))
            if tdef is not None:
                tdefs.append((m, tdef))
                _check_name(m, tdef.table, rep.at(m.up_file, tdef.table.name))
            elif parsed.problems and guess:
                unreadable.add(guess)
        if m.down_sql is not None and m.down_file is not None:
            own = tdef.table.name if tdef else guess
            parsed = parse_sql(m.down_sql)
            rep.problems(parsed, rep.at(m.down_file, own))
            _check_down(parsed, own, rep.at(m.down_file, own))

    expected: dict[str, Table] = {}
    created_by = {td.table.name: m.name for m, td in reversed(tdefs)}
    fk_names = {fk.name.lower() for t in baseline.tables.values() for fk in t.foreign_keys}
    for _, tdef in tdefs:
        t = tdef.table
        where = rep.at(t.file or "", t.name)
        if t.name in expected or t.name in baseline.tables:
            origin = f"migration {created_by[t.name]}" if t.name in expected else "the baseline"
            where.add("RB108", t.line, f"{t.name} already exists in {origin}")
            continue
        known = {**baseline.tables, **expected}
        later = {n: mig for n, mig in created_by.items() if n not in known and n != t.name}
        check_table(tdef, known, later, unreadable, where)
        for fk in t.foreign_keys:
            if fk.name.lower() in fk_names:
                where.add(
                    "RB406",
                    fk.line,
                    f"constraint name {fk.name} is already used in this database (InnoDB "
                    "foreign key names are database-wide: errno 121)",
                )
            fk_names.add(fk.name.lower())
        expected[t.name] = t

    order = _file_order(mset.migrations)
    findings = sorted(
        rep.findings, key=lambda f: (order.get(f.file, len(order)), f.file, f.line or 0)
    )
    return ValidationResult(
        findings=findings,
        migrations=mset.migrations,
        expected=Schema(expected),
        baseline=baseline,
    )
