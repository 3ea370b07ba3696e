"""What the live server says about a database: its tables, columns, keys, FK order."""

from __future__ import annotations

import re
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from typing import Any

from runbook.db import DatabaseError, Session


@dataclass(frozen=True)
class LiveColumn:
    name: str
    data_type: str
    column_type: str
    nullable: bool
    has_default: bool
    auto_increment: bool
    generated: bool
    max_length: int | None
    collation: str | None
    json: bool


@dataclass(frozen=True)
class LiveForeignKey:
    name: str
    table: str
    columns: tuple[str, ...]
    ref_schema: str
    ref_table: str
    ref_columns: tuple[str, ...]
    on_delete: str


@dataclass
class LiveTable:
    name: str
    columns: list[LiveColumn] = field(default_factory=list)
    primary: tuple[str, ...] = ()
    fks: list[LiveForeignKey] = field(default_factory=list)
    indexes: dict[str, tuple[str, ...]] = field(default_factory=dict)  # name -> columns
    rows_estimate: int = 0  # information_schema's TABLE_ROWS: InnoDB's estimate

    def index_leading(self, columns: Sequence[str]) -> str | None:
        """An index whose first columns are ``columns`` (InnoDB keeps one for every FK)."""
        want = tuple(columns)
        return next((n for n, cols in self.indexes.items() if cols[: len(want)] == want), None)

    def column(self, name: str) -> LiveColumn | None:
        return next((c for c in self.columns if c.name == name), None)

    @property
    def stored_columns(self) -> list[str]:
        """The columns a copied row carries: the server computes the generated ones."""
        return [c.name for c in self.columns if not c.generated]


def read_schema(s: Session, db: str) -> dict[str, LiveTable]:
    """Columns, primary keys and foreign keys of every base table of ``db``."""
    tables: dict[str, LiveTable] = {
        r["name"]: LiveTable(r["name"], rows_estimate=int(r["n"] or 0))
        for r in s.query(
            "SELECT table_name AS name, table_rows AS n FROM information_schema.TABLES "
            "WHERE table_schema = %s AND table_type = 'BASE TABLE' ORDER BY table_name",
            [db],
        )
    }
    json_checked: set[tuple[str, str]] = set()
    with suppress(DatabaseError):  # MySQL's CHECK_CONSTRAINTS has no table_name; json is native
        for r in s.query(
            "SELECT table_name AS t, check_clause AS clause "
            "FROM information_schema.CHECK_CONSTRAINTS WHERE constraint_schema = %s",
            [db],
        ):
            for col in re.findall(r"json_valid\(`?(\w+)`?\)", r["clause"] or "", re.I):
                json_checked.add((r["t"], col))
    for r in s.query(
        "SELECT table_name AS t, column_name AS name, data_type AS dt, column_type AS ct, "
        "is_nullable AS nullable, column_default AS dflt, extra, "
        "character_maximum_length AS len, collation_name AS coll "
        "FROM information_schema.COLUMNS WHERE table_schema = %s "
        "ORDER BY table_name, ordinal_position",
        [db],
    ):
        if r["t"] not in tables:
            continue
        extra = (r["extra"] or "").upper()
        tables[r["t"]].columns.append(
            LiveColumn(
                name=r["name"],
                data_type=r["dt"].lower(),
                column_type=r["ct"],
                nullable=r["nullable"] == "YES",
                has_default=r["dflt"] is not None,
                auto_increment="AUTO_INCREMENT" in extra,
                generated="VIRTUAL GENERATED" in extra
                or "STORED GENERATED" in extra
                or "PERSISTENT GENERATED" in extra,
                max_length=int(r["len"]) if r["len"] is not None else None,
                collation=r["coll"],
                json=r["dt"].lower() == "json" or (r["t"], r["name"]) in json_checked,
            )
        )
    indexes: dict[tuple[str, str], list[str]] = {}
    for r in s.query(
        "SELECT table_name AS t, index_name AS i, column_name AS col "
        "FROM information_schema.STATISTICS WHERE table_schema = %s "
        "ORDER BY table_name, index_name, seq_in_index",
        [db],
    ):
        indexes.setdefault((r["t"], r["i"]), []).append(r["col"])
    for (name, index), cols in indexes.items():
        if name in tables:
            tables[name].indexes[index] = tuple(cols)
    for t in tables.values():
        t.primary = t.indexes.get("PRIMARY", ())
    fks: dict[tuple[str, str], dict[str, Any]] = {}
    for r in s.query(
        "SELECT k.table_name AS t, k.constraint_name AS name, k.column_name AS col, "
        "k.referenced_table_schema AS rs, k.referenced_table_name AS rt, "
        "k.referenced_column_name AS rc, rc.delete_rule AS on_delete "
        "FROM information_schema.KEY_COLUMN_USAGE k "
        "JOIN information_schema.REFERENTIAL_CONSTRAINTS rc "
        "  ON rc.constraint_schema = k.constraint_schema "
        " AND rc.constraint_name = k.constraint_name AND rc.table_name = k.table_name "
        "WHERE k.table_schema = %s AND k.referenced_table_name IS NOT NULL "
        "ORDER BY k.table_name, k.constraint_name, k.ordinal_position",
        [db],
    ):
        fk = fks.setdefault(
            (r["t"], r["name"]),
            {"rs": r["rs"], "rt": r["rt"], "cols": [], "refs": [], "on_delete": r["on_delete"]},
        )
        fk["cols"].append(r["col"])
        fk["refs"].append(r["rc"])
    for (t, name), fk in fks.items():
        if t in tables:
            tables[t].fks.append(
                LiveForeignKey(
                    name,
                    t,
                    tuple(fk["cols"]),
                    fk["rs"],
                    fk["rt"],
                    tuple(fk["refs"]),
                    fk["on_delete"],
                )
            )
    return tables


def parents_first(tables: dict[str, LiveTable], db: str) -> tuple[list[str], bool]:
    """Table names with every FK parent before its children; False when FKs form a cycle."""
    graph = {
        name: {
            fk.ref_table
            for fk in t.fks
            if fk.ref_schema == db and fk.ref_table != name and fk.ref_table in tables
        }
        for name, t in sorted(tables.items())
    }
    try:
        return list(TopologicalSorter(graph).static_order()), True
    except CycleError:
        return sorted(tables), False
