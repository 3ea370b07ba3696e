"""Applying and undoing the migration set, one whole table at a time.

Each up file is a single CREATE TABLE, so a migration happens whole or not at
all; the runbook records it in ``migrations`` only after the server accepted
it, and on failure drops exactly what this run created, newest first.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from runbook.db import DatabaseError, Session, quote_ident

LOCK_WAIT_TIMEOUT_S = 5
LOCK_RETRIES = 3
# 1205: lock wait timeout (innodb row locks and metadata locks alike)
LOCK_WAIT_ERRORS = {1205}


class MigrationLike(Protocol):
    name: str
    up_sql: str
    down_sql: str


def table_of(migration: MigrationLike) -> str:
    m = re.search(r"_create_(\w+)_table$", migration.name)
    if m:
        return m.group(1)
    m = re.search(r"CREATE\s+TABLE\s+`?(\w+)`?", migration.up_sql, re.I)
    if not m:
        raise ValueError(f"{migration.name}: cannot tell which table it creates")
    return m.group(1)


@dataclass
class Applied:
    migration: str
    table: str
    elapsed_s: float
    warnings: list[str] = field(default_factory=list)


class MigrationError(Exception):
    def __init__(self, migration: str, message: str, code: int | None = None) -> None:
        super().__init__(f"{migration}: {message}")
        self.migration = migration
        self.code = code


Listener = Callable[[str, dict[str, object]], None]


def recorded(session: Session, database: str) -> dict[str, int]:
    """migration name -> batch, from Laravel's table."""
    rows = session.query(
        f"SELECT migration, batch FROM {quote_ident(database)}.migrations ORDER BY id"
    )
    return {r["migration"]: int(r["batch"]) for r in rows}


def existing_tables(session: Session, database: str) -> set[str]:
    rows = session.query(
        "SELECT table_name AS name FROM information_schema.TABLES WHERE table_schema = %s",
        [database],
    )
    return {r["name"] for r in rows}


def next_batch(session: Session, database: str) -> int:
    value = session.scalar(
        f"SELECT COALESCE(MAX(batch), 0) + 1 FROM {quote_ident(database)}.migrations"
    )
    return int(value)


def blocking_connections(session: Session) -> list[str]:
    """Who holds the transactions that make our DDL wait, for the message that names them."""
    rows = session.query(
        "SELECT t.trx_mysql_thread_id AS id, p.USER AS user, p.HOST AS host, "
        "TIMESTAMPDIFF(SECOND, t.trx_started, NOW()) AS age, p.INFO AS info "
        "FROM information_schema.INNODB_TRX t "
        "LEFT JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id "
        "WHERE t.trx_mysql_thread_id <> CONNECTION_ID() ORDER BY t.trx_started"
    )
    return [
        f"connection {r['id']} ({r['user']}@{r['host']}), transaction open {r['age']} s"
        + (f", running: {r['info'][:80]}" if r.get("info") else "")
        for r in rows
    ]


def _retrying(
    session: Session,
    database: str,
    migration: str,
    sql: str,
    args: Sequence[object] | None,
    listener: Listener,
) -> None:
    """Run one statement; on a lock wait, say who blocks and retry a bounded number of times."""
    for attempt in range(1, LOCK_RETRIES + 1):
        try:
            session.execute(sql, args)
            return
        except DatabaseError as exc:
            if exc.code not in LOCK_WAIT_ERRORS:
                raise MigrationError(
                    migration, f"the server refused it: [{exc.code}] {exc}", exc.code
                ) from None
            blockers = blocking_connections(session)
            if attempt < LOCK_RETRIES:
                listener(
                    "lock_wait", {"migration": migration, "attempt": attempt, "blockers": blockers}
                )
                continue
            raise MigrationError(
                migration,
                f"gave up after {attempt} lock waits of {LOCK_WAIT_TIMEOUT_S} s; blocked by "
                + ("; ".join(blockers) or "a metadata lock holder that left no transaction"),
                exc.code,
            ) from None


def apply(
    session: Session,
    database: str,
    migrations: Sequence[MigrationLike],
    batch: int,
    *,
    listener: Listener,
    created: list[str],
) -> list[Applied]:
    """Apply each migration in order; ``created`` grows as tables appear, so a caller can
    undo exactly them even if this raises half way."""
    # Both waits are bounded: metadata locks (DDL) and InnoDB row locks (the INSERT into
    # migrations). The server defaults are a day and 50 s: an operator would see a hang.
    session.set_session(
        {"lock_wait_timeout": LOCK_WAIT_TIMEOUT_S, "innodb_lock_wait_timeout": LOCK_WAIT_TIMEOUT_S}
    )
    done: list[Applied] = []
    for migration in migrations:
        table = table_of(migration)
        sql = migration.up_sql.strip().rstrip(";")
        listener("migration_start", {"migration": migration.name, "table": table})
        started = time.monotonic()
        _retrying(session, database, migration.name, sql, None, listener)
        elapsed = time.monotonic() - started
        created.append(table)
        warnings = [f"{w['Level']} {w['Code']}: {w['Message']}" for w in session.warnings()]
        _retrying(
            session,
            database,
            migration.name,
            f"INSERT INTO {quote_ident(database)}.migrations (migration, batch) VALUES (%s, %s)",
            [migration.name, batch],
            listener,
        )
        listener(
            "statement",
            {
                "migration": migration.name,
                "table": table,
                "sql": sql,
                "elapsed_ms": round(elapsed * 1000, 2),
                "warnings": warnings,
                "batch": batch,
            },
        )
        done.append(Applied(migration.name, table, elapsed, warnings))
    return done


def undo(
    session: Session,
    database: str,
    tables: Sequence[str],
    migrations: Sequence[MigrationLike],
    *,
    listener: Listener,
) -> None:
    """Drop exactly ``tables`` newest first and delete their ``migrations`` rows."""
    by_table = {table_of(m): m for m in migrations}
    present = existing_tables(session, database)
    done = recorded(session, database)
    for table in reversed(list(tables)):
        migration = by_table.get(table)
        if table in present:
            sql = (
                migration.down_sql.strip().rstrip(";")
                if migration
                else f"DROP TABLE {quote_ident(database)}.{quote_ident(table)}"
            )
            session.execute(sql)
            listener("statement", {"table": table, "sql": sql, "undo": True})
        # only rows that exist: a DELETE that matches nothing still waits on row locks
        if migration is not None and migration.name in done:
            session.execute(
                f"DELETE FROM {quote_ident(database)}.migrations WHERE migration = %s",
                [migration.name],
            )
