"""Test 9: pre-existing rows untouched at every checkpoint, no orphans, the target unchanged."""

from __future__ import annotations

from typing import TYPE_CHECKING

from runbook import fingerprint
from runbook.db import Session, quote_ident
from runbook.testsuite.errors import Fail
from runbook.testsuite.live import LiveForeignKey, read_schema
from runbook.testsuite.report import plural
from runbook.testsuite.sqltext import qualified

if TYPE_CHECKING:
    from runbook.testsuite.suite import Suite


def check_integrity(suite: Suite) -> list[str]:
    s = suite.s
    assert suite.fp_clone is not None and suite.fp_target is not None
    before = suite.fp_clone.checksums
    existing = [t for t in suite.cloned if t != "migrations"]
    problems = []
    for label, fp in suite.checkpoints:
        changed = [t for t in existing if fp.checksums.get(t) != before.get(t)]
        if changed:
            problems.append(f"{label}: {', '.join(changed)} changed (CHECKSUM TABLE)")
    live = read_schema(s, suite.scratch)
    fks = [fk for t in live.values() for fk in t.fks]
    orphans = {}
    for fk in fks:
        n = _orphans(s, suite.scratch, fk)
        if n:
            orphans[fk.name] = n
    problems += [f"{fk}: {n} orphaned row(s)" for fk, n in orphans.items()]
    with suite.connection() as reader:
        target_now = fingerprint.take(reader, suite.db)
    changed_target = target_now.diff(suite.fp_target)
    problems += [f"the target {suite.db} changed: {d}" for d in changed_target]
    if problems:
        raise Fail(problems)
    new = sum(1 for fk in fks if fk.table in suite.expected.tables)
    rows = sum(suite.sampled.values())
    labels = ", ".join(label for label, _ in suite.checkpoints) or "none (nothing ran)"
    return [
        f"{len(existing)} pre-existing tables ({rows} sampled rows) kept their checksums "
        f"at {plural(len(suite.checkpoints), 'checkpoint')}: {labels}",
        f"0 orphaned rows across {len(fks)} foreign keys ({new} new, {len(fks) - new} existing)",
        f"target {suite.db}: schema and migrations rows unchanged (fingerprint)",
    ]


def _orphans(s: Session, db: str, fk: LiveForeignKey) -> int:
    on = " AND ".join(
        f"p.{quote_ident(rc)} = c.{quote_ident(cc)}"
        for cc, rc in zip(fk.columns, fk.ref_columns, strict=True)
    )
    not_null = " AND ".join(f"c.{quote_ident(cc)} IS NOT NULL" for cc in fk.columns)
    return int(
        s.scalar(
            f"SELECT COUNT(*) FROM {qualified(db, fk.table)} c WHERE {not_null} "
            f"AND NOT EXISTS (SELECT 1 FROM {qualified(fk.ref_schema, fk.ref_table)} p "
            f"WHERE {on})"
        )
    )
