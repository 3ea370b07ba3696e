"""Post-deployment verification: the live server against the model parsed from sql/.

Nothing here is a number typed into code: the expected tables, columns, foreign
keys, indexes and unique keys all come from the DDL, so changing the DDL changes
what is verified.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from runbook import migrate
from runbook.db import DatabaseError, Session, quote_ident
from runbook.model import (
    Column,
    Schema,
    Table,
    normalize_default,
    normalize_type,
    same_referential_action,
)


@dataclass
class VerifyReport:
    problems: list[str] = field(default_factory=list)
    passed: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    orphans: dict[str, int] = field(default_factory=dict)

    def headline(self) -> list[str]:
        c = self.counts
        return [
            f"{c.get('tables', 0)} tables",
            f"{c.get('foreign_keys', 0)} foreign keys",
            f"{c.get('indexes', 0)} indexes",
            f"{c.get('unique_indexes', 0)} unique",
            f"{sum(self.orphans.values())} orphans",
        ]

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": not self.problems,
            "problems": self.problems,
            "passed": self.passed,
            "counts": self.counts,
            "orphans": self.orphans,
        }


def _live_columns(s: Session, db: str, table: str) -> dict[str, dict[str, Any]]:
    rows = s.query(
        "SELECT column_name AS name, column_type AS type, is_nullable AS nullable, "
        "column_default AS dflt, collation_name AS collation, extra, "
        "generation_expression AS gen "
        "FROM information_schema.COLUMNS WHERE table_schema = %s AND table_name = %s "
        "ORDER BY ordinal_position",
        [db, table],
    )
    return {r["name"]: r for r in rows}


def _json_checked(s: Session, db: str, table: str) -> set[str]:
    """MariaDB stores json as longtext with CHECK (json_valid(col)): the columns that have it."""
    try:
        rows = s.query(
            "SELECT constraint_name AS name, check_clause AS clause "
            "FROM information_schema.CHECK_CONSTRAINTS "
            "WHERE constraint_schema = %s AND table_name = %s",
            [db, table],
        )
    except DatabaseError:  # MySQL's CHECK_CONSTRAINTS has no table_name; json is native there
        return set()
    return {r["name"] for r in rows if "json_valid" in (r["clause"] or "").lower()}


def _live_indexes(s: Session, db: str, table: str) -> dict[str, tuple[tuple[str, ...], bool]]:
    rows = s.query(
        "SELECT index_name AS name, column_name AS col, non_unique AS nu "
        "FROM information_schema.STATISTICS WHERE table_schema = %s AND table_name = %s "
        "ORDER BY index_name, seq_in_index",
        [db, table],
    )
    out: dict[str, tuple[list[str], bool]] = {}
    for r in rows:
        cols, _ = out.setdefault(r["name"], ([], int(r["nu"]) == 0))
        cols.append(r["col"])
    return {name: (tuple(cols), unique) for name, (cols, unique) in out.items()}


def _live_fks(s: Session, db: str, table: str) -> dict[str, dict[str, Any]]:
    rows = s.query(
        "SELECT rc.constraint_name AS name, rc.referenced_table_name AS ref, "
        "rc.delete_rule AS on_delete, rc.update_rule AS on_update, "
        "k.column_name AS col, k.referenced_column_name AS refcol "
        "FROM information_schema.REFERENTIAL_CONSTRAINTS rc "
        "JOIN information_schema.KEY_COLUMN_USAGE k "
        "  ON k.constraint_schema = rc.constraint_schema "
        " AND k.constraint_name = rc.constraint_name AND k.table_name = rc.table_name "
        "WHERE rc.constraint_schema = %s AND rc.table_name = %s "
        "ORDER BY rc.constraint_name, k.ordinal_position",
        [db, table],
    )
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        fk = out.setdefault(
            r["name"],
            {
                "ref": r["ref"],
                "on_delete": r["on_delete"],
                "on_update": r["on_update"],
                "cols": [],
                "refcols": [],
            },
        )
        fk["cols"].append(r["col"])
        fk["refcols"].append(r["refcol"])
    return out


def _column_problems(
    table: Table, col: Column, live: dict[str, Any], json_cols: set[str]
) -> list[str]:
    where = f"{table.name}.{col.name}"
    out = []
    live_type = normalize_type(live["type"])
    if col.type == "json" and live_type == "longtext" and col.name in json_cols:
        live_type = "json"
    if live_type != col.type:
        out.append(f"{where}: type {live_type}, expected {col.type}")
    nullable = live["nullable"] == "YES"
    if nullable != col.nullable:
        out.append(
            f"{where}: {'NULL' if nullable else 'NOT NULL'}, expected "
            f"{'NULL' if col.nullable else 'NOT NULL'}"
        )
    if col.generated is None and not col.auto_increment:
        live_default = normalize_default(live["dflt"])
        if live_default != col.default and not (
            col.default is not None
            and live_default is not None
            and _same_number(col.default, live_default)
        ):
            out.append(f"{where}: default {live_default!r}, expected {col.default!r}")
    if (col.generated is not None) != bool(live["gen"]):
        out.append(f"{where}: generated column mismatch")
    want = table.column_collation(col.name)
    if want and live["collation"] and live["collation"] != want:
        out.append(f"{where}: collation {live['collation']}, expected {want}")
    if "on update" in (live["extra"] or "").lower() and not col.on_update:
        out.append(f"{where}: has ON UPDATE CURRENT_TIMESTAMP the DDL does not declare")
    return out


def _same_number(a: str, b: str) -> bool:
    try:
        return float(a) == float(b)
    except ValueError:
        return False


def verify(
    session: Session, database: str, validation: Any, *, behavioural: bool = True
) -> VerifyReport:
    expected: Schema = validation.expected
    report = VerifyReport()
    existing = migrate.existing_tables(session, database)
    fk_total = idx_total = uniq_total = 0
    for table in expected.tables.values():
        if table.name not in existing:
            report.problems.append(f"table {table.name} does not exist")
            continue
        live_cols = _live_columns(session, database, table.name)
        json_cols = _json_checked(session, database, table.name)
        problems: list[str] = []
        for col in table.columns:
            live = live_cols.get(col.name)
            if live is None:
                problems.append(f"{table.name}.{col.name}: column missing")
                continue
            problems += _column_problems(table, col, live, json_cols)
        extra = sorted(set(live_cols) - {c.name for c in table.columns})
        problems += [f"{table.name}.{c}: column not in sql/" for c in extra]
        company = table.column("company_id")
        if company is None or company.nullable:
            problems.append(f"{table.name}.company_id must be NOT NULL")

        live_idx = _live_indexes(session, database, table.name)
        for index in table.indexes:
            name = "PRIMARY" if index.primary else index.name
            got = live_idx.get(name)
            if got is None:
                problems.append(f"{table.name}: index {name} missing")
            elif got[0] != index.columns:
                problems.append(
                    f"{table.name}: index {name} on ({', '.join(got[0])}), "
                    f"expected ({', '.join(index.columns)})"
                )
            elif got[1] != (index.unique or index.primary):
                problems.append(f"{table.name}: index {name} uniqueness differs")
        declared = {"PRIMARY" if i.primary else i.name for i in table.indexes}
        problems += [
            f"{table.name}: index {n} not in sql/ (created implicitly?)"
            for n in sorted(set(live_idx) - declared)
        ]
        idx_total += len(live_idx)
        uniq_total += sum(1 for n, (_, u) in live_idx.items() if u and n != "PRIMARY")

        live_fks = _live_fks(session, database, table.name)
        for fk in table.foreign_keys:
            got_fk = live_fks.get(fk.name)
            if got_fk is None:
                problems.append(f"{table.name}: foreign key {fk.name} missing")
                continue
            if (
                tuple(got_fk["cols"]) != fk.columns
                or got_fk["ref"] != fk.ref_table
                or tuple(got_fk["refcols"]) != fk.ref_columns
            ):
                problems.append(
                    f"{table.name}: foreign key {fk.name} is ({', '.join(got_fk['cols'])}) "
                    f"→ {got_fk['ref']}, expected ({', '.join(fk.columns)}) → {fk.ref_table}"
                )
            if not same_referential_action(got_fk["on_delete"], fk.on_delete):
                problems.append(
                    f"{table.name}: foreign key {fk.name} ON DELETE {got_fk['on_delete']}, "
                    f"expected {fk.on_delete}"
                )
        problems += [
            f"{table.name}: foreign key {n} not in sql/"
            for n in sorted(set(live_fks) - {f.name for f in table.foreign_keys})
        ]
        fk_total += len(live_fks)
        if problems:
            report.problems += problems
        else:
            report.passed.append(
                f"{table.name}: {len(table.columns)} columns, "
                f"{len(live_idx)} indexes, {len(live_fks)} foreign keys match"
            )
    report.counts = {
        "tables": sum(1 for t in expected.tables if t in existing),
        "foreign_keys": fk_total,
        "indexes": idx_total,
        "unique_indexes": uniq_total,
    }
    want = expected.summary()
    for key, value in want.items():
        if report.counts[key] != value:
            report.problems.append(f"{key}: {report.counts[key]} live, {value} in sql/")
    if "migrations" in existing:
        done = migrate.recorded(session, database)
        missing = [m.name for m in validation.migrations if m.name not in done]
        if missing:
            report.problems.append("not recorded in migrations: " + ", ".join(missing))
        else:
            batches = sorted({done[m.name] for m in validation.migrations})
            report.passed.append(
                f"{len(validation.migrations)} migrations recorded "
                f"(batch {', '.join(map(str, batches))})"
            )
    if report.problems:
        return report
    _orphans(session, database, expected, report)
    if behavioural:
        _cascade_check(session, database, validation, report)
    return report


def _orphans(s: Session, db: str, expected: Schema, report: VerifyReport) -> None:
    for table in expected.tables.values():
        for fk in table.foreign_keys:
            on = " AND ".join(
                f"p.{quote_ident(rc)} = c.{quote_ident(cc)}"
                for cc, rc in zip(fk.columns, fk.ref_columns, strict=True)
            )
            not_null = " AND ".join(f"c.{quote_ident(cc)} IS NOT NULL" for cc in fk.columns)
            count = int(
                s.scalar(
                    f"SELECT COUNT(*) FROM {quote_ident(db)}.{quote_ident(table.name)} c "
                    f"WHERE {not_null} AND NOT EXISTS (SELECT 1 FROM "
                    f"{quote_ident(db)}.{quote_ident(fk.ref_table)} p WHERE {on})"
                )
            )
            report.orphans[fk.name] = count
            if count:
                report.problems.append(f"{table.name}: {count} orphaned row(s) for {fk.name}")
    if not any(report.orphans.values()):
        report.passed.append(f"0 orphaned rows across {len(report.orphans)} foreign keys")


# -- behavioural check: a company and children, deleted inside a rolled-back transaction --


def _value_for(col: Column) -> Any:
    t = col.type
    if t.startswith("enum("):
        return t[len("enum('") :].split("'", 1)[0]
    if t in ("json",):
        return "{}"
    if t.startswith(("timestamp", "datetime")):
        return "2025-10-01 00:00:00"
    if t.startswith("date"):
        return "2025-10-01"
    if t.startswith(("char(36)",)):
        return str(uuid.uuid4())
    if t.startswith(("char", "varchar", "text", "longtext", "mediumtext", "tinytext")):
        return "runbook-verify"
    return 0


class _Builder:
    """Creates one row per table, parents first, all belonging to one new company."""

    def __init__(self, s: Session, db: str, schema: dict[str, Table]) -> None:
        self.s, self.db, self.schema = s, db, schema
        self.ids: dict[str, Any] = {}

    def row(self, name: str) -> Any:
        if name in self.ids:
            return self.ids[name]
        table = self.schema[name]
        fk_of = {fk.columns[0]: fk for fk in table.foreign_keys if len(fk.columns) == 1}
        values: dict[str, Any] = {}
        pk = table.primary_key
        pk_col = table.column(pk.columns[0]) if pk else None
        for col in table.columns:
            if col.generated is not None or col.auto_increment:
                continue
            fk = fk_of.get(col.name)
            if fk is not None and fk.ref_table != name:
                if col.nullable and fk.ref_table not in ("companies",):
                    continue
                values[col.name] = self.row(fk.ref_table)
            elif col is pk_col or (not col.nullable and col.default is None):
                values[col.name] = _value_for(col)
        cols = ", ".join(quote_ident(c) for c in values)
        marks = ", ".join(["%s"] * len(values))
        self.s.execute(
            f"INSERT INTO {quote_ident(self.db)}.{quote_ident(name)} ({cols}) VALUES ({marks})",
            list(values.values()),
        )
        ident = (
            values.get(pk_col.name)
            if pk_col and pk_col.name in values
            else self.s.scalar("SELECT LAST_INSERT_ID()")
        )
        self.ids[name] = ident
        return ident


def _cascade_check(s: Session, db: str, validation: Any, report: VerifyReport) -> None:
    schema = {**validation.baseline.tables, **validation.expected.tables}
    if "companies" not in schema:
        return
    s.execute("START TRANSACTION")
    try:
        builder = _Builder(s, db, schema)
        company = builder.row("companies")
        for name in validation.expected.tables:
            builder.row(name)
        s.execute(f"DELETE FROM {quote_ident(db)}.companies WHERE id = %s", [company])
        left = {
            name: int(
                s.scalar(
                    f"SELECT COUNT(*) FROM {quote_ident(db)}.{quote_ident(name)} "
                    "WHERE company_id = %s",
                    [company],
                )
            )
            for name in validation.expected.tables
        }
    except DatabaseError as exc:
        report.problems.append(f"cascade check could not run: {exc}")
        return
    finally:
        s.execute("ROLLBACK")
    stuck = {n: c for n, c in left.items() if c}
    if stuck:
        report.problems += [
            f"{n}: {c} row(s) survived deleting their company" for n, c in stuck.items()
        ]
    else:
        report.passed.append(
            f"deleting a company cascades into all {len(left)} tables "
            "(checked in a rolled-back transaction)"
        )
