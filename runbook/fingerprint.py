"""Fingerprints of a database: its schema, its migration history, its data.

"As it was before" is a claim the runbook proves by comparing fingerprints
taken before and after, never by assuming that a rollback worked.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from runbook.db import Session, quote_ident

_AUTO_INCREMENT = re.compile(r" AUTO_INCREMENT=\d+")


@dataclass(frozen=True)
class Fingerprint:
    tables: dict[str, str]  # table -> sha256 of its normalised SHOW CREATE TABLE
    migrations: tuple[tuple[str, int], ...]  # (migration, batch) in id order
    checksums: dict[str, int | None] = field(default_factory=dict)  # CHECKSUM TABLE, when taken

    def diff(self, other: Fingerprint) -> list[str]:
        """What differs from ``other`` (the earlier state), by name."""
        out = []
        for name in sorted(set(self.tables) | set(other.tables)):
            if name not in other.tables:
                out.append(f"table {name} exists now but did not before")
            elif name not in self.tables:
                out.append(f"table {name} existed before but is gone")
            elif self.tables[name] != other.tables[name]:
                out.append(f"table {name} has a different definition")
        before, after = set(other.migrations), set(self.migrations)
        out += [f"migrations row {m} (batch {b}) is new" for m, b in sorted(after - before)]
        out += [f"migrations row {m} (batch {b}) is gone" for m, b in sorted(before - after)]
        if self.checksums and other.checksums:
            for name in sorted(set(self.checksums) & set(other.checksums)):
                if self.checksums[name] != other.checksums[name]:
                    out.append(f"table {name} holds different data")
        return out


def take(session: Session, database: str, *, data: bool = False) -> Fingerprint:
    rows = session.query(
        "SELECT table_name AS name FROM information_schema.TABLES "
        "WHERE table_schema = %s AND table_type = 'BASE TABLE' ORDER BY table_name",
        [database],
    )
    tables: dict[str, str] = {}
    for row in rows:
        name = row["name"]
        create = session.query(f"SHOW CREATE TABLE {quote_ident(database)}.{quote_ident(name)}")
        ddl = _AUTO_INCREMENT.sub("", create[0]["Create Table"])
        tables[name] = hashlib.sha256(ddl.encode()).hexdigest()
    migrations: tuple[tuple[str, int], ...] = ()
    if "migrations" in tables:
        migrations = tuple(
            (r["migration"], int(r["batch"]))
            for r in session.query(
                f"SELECT migration, batch FROM {quote_ident(database)}.migrations ORDER BY id"
            )
        )
    checksums: dict[str, int | None] = {}
    if data and tables:
        names = ", ".join(f"{quote_ident(database)}.{quote_ident(t)}" for t in tables)
        for row in session.query(f"CHECKSUM TABLE {names}"):
            checksums[row["Table"].split(".", 1)[1]] = row["Checksum"]
    return Fingerprint(tables, migrations, checksums)
