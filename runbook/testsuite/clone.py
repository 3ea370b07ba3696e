"""Test 2: the target's schema, migration history and a sample of its rows, cloned."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runbook import fingerprint, migrate
from runbook.db import Session, quote_ident
from runbook.testsuite.errors import Fail
from runbook.testsuite.live import LiveTable, parents_first, read_schema
from runbook.testsuite.sqltext import placeholders, qualified, rows_of_placeholders

if TYPE_CHECKING:
    from runbook.testsuite.suite import Suite

# Rows copied from each parent table: a few roots (companies), then up to
# SAMPLE_ROWS of each table below them whose parents were copied.
SAMPLE_ROOTS = 5
SAMPLE_ROWS = 200
INSERT_CHUNK = 500

Rows = list[dict[str, Any]]


def check_clone(suite: Suite) -> list[str]:
    s = suite.s
    our_migrations = {m.name for m in suite.migrations}
    with suite.connection() as reader:
        # Both ends in UTC: a TIMESTAMP read in one zone and written in another would
        # land hours away from where it was.
        reader.set_session({"time_zone": "+00:00"})
        suite.fp_target = fingerprint.take(reader, suite.db)
        live = read_schema(reader, suite.db)
        notes = []
        views = reader.scalar(
            "SELECT COUNT(*) FROM information_schema.TABLES "
            "WHERE table_schema = %s AND table_type = 'VIEW'",
            [suite.db],
        )
        if views:
            notes.append(f"{views} view(s) not cloned (the migrations do not use them)")
        already = sorted({migrate.table_of(m) for m in suite.migrations} & set(live))
        for name in already:
            del live[name]
        if already:
            notes.append(
                f"the target already has {', '.join(already)}: cloned as before the "
                "deployment, without them and their migrations rows"
            )
        order, acyclic = parents_first(live, suite.db)
        if not acyclic:
            # parents-first is impossible; the checks go back on before any migration
            s.set_session({"foreign_key_checks": 0})
        for name in order:
            s.execute(
                reader.query(f"SHOW CREATE TABLE {qualified(suite.db, name)}")[0]["Create Table"]
            )
            suite.cloned.append(name)
        if not acyclic:
            # on an error the session is only used to drop the database
            s.set_session({"foreign_key_checks": 1})
        history = _copy_history(suite, reader, live, our_migrations)
        copied = _sample(suite, reader, live, order)
        # read back by the reader, in the zone the rows were read in: exact copies
        altered = [
            name
            for name, rows in copied.items()
            if _comparable(reader.query(_select(live[name], suite.scratch))) != _comparable(rows)
        ]
    mine = fingerprint.take(s, suite.scratch)
    problems = [
        f"{name}: its definition differs from the target's"
        for name in suite.cloned
        if mine.tables.get(name) != suite.fp_target.tables.get(name)
    ]
    if mine.migrations != tuple(
        m for m in suite.fp_target.migrations if m[0] not in our_migrations
    ):
        problems.append("the migrations rows differ from the target's")
    problems += [f"{name}: the sample rows read back differ from the target's" for name in altered]
    if problems:
        raise Fail(["the clone is not a faithful copy:", *problems])
    suite.fp_clone = suite.take_fingerprint()
    how = "parents first" if acyclic else "foreign_key_checks=0 (the FKs form a cycle)"
    sample = ", ".join(f"{t} {n}" for t, n in suite.sampled.items())
    return [
        f"{len(suite.cloned)} tables cloned from {suite.db} ({how}); every definition "
        "identical to the target's (SHOW CREATE TABLE fingerprints)",
        history,
        f"sample rows, every foreign key satisfied, read back identical: {sample or 'none'}",
        *notes,
    ]


def _comparable(rows: Rows) -> list[str]:
    """Rows as an order-free, comparable list."""
    return sorted(repr(sorted(r.items())) for r in rows)


def _copy_history(suite: Suite, reader: Session, live: dict[str, LiveTable], ours: set[str]) -> str:
    if "migrations" not in live:
        return "the target has no migrations table"
    rows = [
        r
        for r in reader.query(f"SELECT * FROM {quote_ident(suite.db)}.migrations ORDER BY id")
        if r.get("migration") not in ours
    ]
    _insert_rows(suite, live["migrations"], rows)
    batches = sorted({int(r["batch"]) for r in rows if r.get("batch") is not None})
    span = f"batches {batches[0]}–{batches[-1]}" if batches else "no batches"
    return f"migration history: {len(rows)} migrations rows ({span})"


def _sample(
    suite: Suite, reader: Session, live: dict[str, LiveTable], order: list[str]
) -> dict[str, Rows]:
    """A few roots (companies) and rows of the tables the model's FKs need, consistent.

    Plain reads inside one consistent snapshot: no locks on the target's rows, and
    every child row copied references a parent row that was copied.
    """
    wanted = {fk.ref_table for t in suite.expected.tables.values() for fk in t.foreign_keys} - set(
        suite.expected.tables
    )
    closure: set[str] = set()
    stack = [t for t in wanted if t in live]
    while stack:
        name = stack.pop()
        if name in closure:
            continue
        closure.add(name)
        stack += [
            fk.ref_table
            for fk in live[name].fks
            if fk.ref_schema == suite.db and fk.ref_table in live
        ]
    suite.parent_rows = {name: t.rows_estimate for name, t in live.items()}
    copied: dict[str, Rows] = {}
    # On an error the caller closes the reader, which ends the snapshot.
    reader.query("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
    for name in order:
        if name not in closure:
            continue
        rows = _sample_rows(suite, reader, live[name], copied)
        copied[name] = rows
        _insert_rows(suite, live[name], rows)
        suite.sampled[name] = len(rows)
    reader.query("ROLLBACK")
    return copied


def _sample_rows(suite: Suite, reader: Session, t: LiveTable, copied: dict[str, Rows]) -> Rows:
    conds: list[str] = []
    args: list[Any] = []
    parents = 0
    # The anchor: the most selective NOT NULL FK, read through its index. Left to
    # itself the optimizer may walk another FK's index across the whole table (seen:
    # 169k of 200k appointments read for 200 rows); forced, it reads the sampled
    # parents' children and nothing else.
    anchor: tuple[float, str] | None = None
    for fk in t.fks:
        if fk.ref_schema != suite.db:
            continue  # a parent in another schema: the clone references the same rows
        cols = [f"c.{quote_ident(c)}" for c in fk.columns]
        null = " OR ".join(f"{c} IS NULL" for c in cols)
        keys = sorted(
            {
                tuple(r[rc] for rc in fk.ref_columns)
                for r in copied.get(fk.ref_table, [])
                if fk.ref_table != t.name
            },
            key=repr,
        )
        if fk.ref_table != t.name and fk.ref_table in copied:
            parents += 1
        if not keys:
            conds.append(f"({null})")
            continue
        if len(cols) == 1:
            test = f"{cols[0]} IN ({placeholders(len(keys))})"
        else:
            test = f"({', '.join(cols)}) IN ({rows_of_placeholders(len(cols), len(keys))})"
        args += [v for key in keys for v in key]
        columns = [t.column(c) for c in fk.columns]
        index = t.index_leading(fk.columns)
        if index and all(c is not None and not c.nullable for c in columns):
            share = len(keys) / max(1, suite.parent_rows.get(fk.ref_table, 0))
            if anchor is None or share < anchor[0]:
                anchor = (share, index)
            conds.append(f"({test})")
        else:
            conds.append(f"({null} OR {test})")
    where = " AND ".join(conds) or "1"
    hint = f" FORCE INDEX ({quote_ident(anchor[1])})" if anchor else ""
    if parents:
        limit, order = SAMPLE_ROWS, ""
    else:
        limit = SAMPLE_ROOTS
        order = (
            " ORDER BY " + ", ".join(f"c.{quote_ident(c)}" for c in t.primary) if t.primary else ""
        )
    return reader.query(
        f"{_select(t, suite.db)}{hint} WHERE {where}{order} LIMIT {int(limit)}", args
    )


def _select(t: LiveTable, db: str) -> str:
    selected = ", ".join(f"c.{quote_ident(c)}" for c in t.stored_columns)
    return f"SELECT {selected} FROM {qualified(db, t.name)} c"


def _insert_rows(suite: Suite, t: LiveTable, rows: Rows) -> None:
    cols = t.stored_columns
    for i in range(0, len(rows), INSERT_CHUNK):
        chunk = rows[i : i + INSERT_CHUNK]
        suite.s.execute(
            f"INSERT INTO {suite.q(t.name)} ({', '.join(map(quote_ident, cols))}) "
            f"VALUES {rows_of_placeholders(len(cols), len(chunk))}",
            [r[c] for r in chunk for c in cols],
        )
