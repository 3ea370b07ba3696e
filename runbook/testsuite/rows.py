"""Fresh rows for the cascade tests: values a column accepts, parents inserted first."""

from __future__ import annotations

import re
import uuid
from typing import Any

from runbook.db import Session, quote_ident
from runbook.testsuite.errors import Fail
from runbook.testsuite.live import LiveColumn, LiveTable
from runbook.testsuite.sqltext import placeholders, qualified, where


def value_for(col: LiveColumn, n: int) -> Any:
    """A value a NOT NULL column without a default accepts; ``n`` keeps unique keys apart."""
    dt = col.data_type
    if dt in ("enum", "set"):
        m = re.search(r"'((?:[^']|'')*)'", col.column_type)
        return m.group(1).replace("''", "'") if m else ""
    if col.json:
        return "{}"
    if dt in ("timestamp", "datetime"):
        return "2025-10-01 00:00:00"
    if dt == "date":
        return "2025-10-01"
    if dt == "time":
        return "00:00:00"
    if dt == "year":
        return 2025
    if dt in ("tinyint", "smallint", "mediumint", "int", "bigint", "decimal", "float", "double"):
        return n % 100
    if dt == "bit":
        return 0
    if dt in ("binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"):
        raw = f"rb{n}".encode()
        return raw[: col.max_length] if col.max_length else raw
    if dt == "char" and col.max_length == 36:
        return str(uuid.uuid4())
    text = f"runbook-test-{n}"
    return text[-col.max_length :] if col.max_length else text


class RowBuilder:
    """Inserts fresh rows, their required parents first (fresh too, reused within a case)."""

    def __init__(self, s: Session, db: str, tables: dict[str, LiveTable]) -> None:
        self.s, self.db, self.tables = s, db, tables
        self.cached: dict[str, dict[str, Any]] = {}
        self.counter = 0

    def parent(self, name: str) -> dict[str, Any]:
        if name not in self.cached:
            self.insert(name)
        return self.cached[name]

    def insert(self, name: str, fixed: dict[str, Any] | None = None) -> dict[str, Any]:
        t = self.tables.get(name)
        if t is None:
            raise Fail([f"cannot build a row of {name}: no such table in the scratch database"])
        if not t.primary:
            raise Fail([f"cannot build a row of {name}: it has no primary key to find it by"])
        fixed = fixed or {}
        fk_of = {c: fk for fk in t.fks for c in fk.columns}
        values: dict[str, Any] = {}
        for col in t.columns:
            if col.generated:
                continue
            if col.name in fixed:
                values[col.name] = fixed[col.name]
                continue
            if col.auto_increment:
                continue
            fk = fk_of.get(col.name)
            if fk is not None and not col.nullable:
                if fk.ref_table == name or fk.ref_schema != self.db:
                    raise Fail(
                        [f"cannot build a row of {name}: {col.name} needs a row of {fk.ref_table}"]
                    )
                parent = self.parent(fk.ref_table)
                values[col.name] = parent[fk.ref_columns[fk.columns.index(col.name)]]
            elif fk is None and not col.nullable and not col.has_default:
                self.counter += 1
                values[col.name] = value_for(col, self.counter)
        table = qualified(self.db, name)
        self.s.execute(
            f"INSERT INTO {table} ({', '.join(map(quote_ident, values))}) "
            f"VALUES ({placeholders(len(values))})",
            list(values.values()),
        )
        key = []
        for c in t.primary:
            col = t.column(c)
            if c in values:
                key.append(values[c])
            elif col is not None and col.auto_increment:
                key.append(self.s.scalar("SELECT LAST_INSERT_ID()"))
            else:
                raise Fail([f"cannot tell the primary key of the new {name} row"])
        row = self.s.query(f"SELECT * FROM {table} WHERE {where(t.primary)}", key)[0]
        self.cached.setdefault(name, row)
        return row
