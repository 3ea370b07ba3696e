"""Tests 3, 7 and 8: the migrations run up, down newest first, and up again."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from runbook import migrate
from runbook.testsuite.errors import Fail
from runbook.testsuite.keys import fk_compat, topic
from runbook.verify import verify

if TYPE_CHECKING:
    from runbook.testsuite.suite import Suite


def _apply(suite: Suite) -> tuple[list[migrate.Applied], int, float]:
    s = suite.s
    incomplete = [m.name for m in suite.validation.migrations if not m.complete]
    if incomplete:
        raise Fail([f"incomplete migration (an up or down file missing): {n}" for n in incomplete])
    if not suite.migrations:
        raise Fail(["the migration set is empty"])
    if "migrations" not in suite.cloned:
        raise Fail([f"{suite.db} has no migrations table: the history cannot be recorded"])
    # The DDL below is unqualified, as the deployment runs it: prove where it lands.
    if s.scalar("SELECT DATABASE()") != suite.scratch:
        raise Fail(["the working session is not in the scratch database; nothing was run"])
    if int(s.scalar("SELECT @@SESSION.foreign_key_checks")) != 1:
        raise Fail(["foreign_key_checks is off: the migrations must run with it on"])
    batch = migrate.next_batch(s, suite.scratch)
    created: list[str] = []
    suite.created = created

    def listener(kind: str, data: dict[str, Any]) -> None:
        if kind == "statement":
            suite.say(f"applied {data['migration']} in {data['elapsed_ms']} ms")
        elif kind == "lock_wait":
            suite.say(f"{data['migration']}: waited for a lock", "warning")

    started = time.monotonic()
    applied = migrate.apply(
        s, suite.scratch, suite.migrations, batch, listener=listener, created=created
    )
    return applied, batch, time.monotonic() - started


# -- 3. migration execution ------------------------------------------------------------------


def check_migration(suite: Suite) -> list[str]:
    s = suite.s
    try:
        applied, batch, seconds = _apply(suite)
    except migrate.MigrationError as exc:
        failing = next(
            (migrate.table_of(m) for m in suite.migrations if m.name == exc.migration), None
        )
        table = suite.expected.table(failing) if failing else None
        why = fk_compat(s, suite.scratch, suite.expected, [table] if table else [])
        suite.checkpoint("after the failed migration")
        raise Fail(
            [
                str(exc),
                *why,
                f"{len(suite.created)} of {len(suite.migrations)} applied before it"
                + (f": {', '.join(suite.created)}" if suite.created else ""),
            ]
        ) from None
    recorded = migrate.recorded(s, suite.scratch)
    missing = [m.name for m in suite.migrations if recorded.get(m.name) != batch]
    if missing:
        raise Fail([f"not recorded in migrations as batch {batch}: {', '.join(missing)}"])
    suite.verified = verify(s, suite.scratch, suite.validation, behavioural=False)
    schema = [p for p in suite.verified.problems if topic(p) == "schema"]
    suite.fp_migrated = suite.checkpoint("after migration")
    if schema:
        raise Fail(["the tables as created differ from sql/:", *schema])
    warnings = [f"{a.table}: {w}" for a in applied for w in a.warnings]
    return [
        f"{len(applied)} migrations applied as batch {batch} with foreign_key_checks=1 in "
        f"{seconds * 1000:.0f} ms, by the deployment's own code (runbook.migrate.apply)",
        f"{len(applied)} migrations rows recorded; every table matches sql/ column for column",
        *(["server warnings: " + "; ".join(warnings)] if warnings else []),
    ]


# -- 7. rollback -----------------------------------------------------------------------------


def check_rollback(suite: Suite) -> list[str]:
    ran: list[str] = []

    def listener(kind: str, data: dict[str, Any]) -> None:
        if kind == "statement":
            ran.append(data["table"])
            suite.say(f"down: dropped {data['table']}")

    expected_order = list(reversed(suite.created))
    migrate.undo(suite.s, suite.scratch, suite.created, suite.migrations, listener=listener)
    suite.created = [t for t in suite.created if t not in ran]
    after = suite.checkpoint("after rollback")
    problems = []
    if ran != expected_order:
        problems.append(
            f"down files ran in the order {', '.join(ran)}; newest first is "
            + ", ".join(expected_order)
        )
    assert suite.fp_clone is not None
    problems += after.diff(suite.fp_clone)
    if problems:
        raise Fail(["the scratch database is not as cloned after the rollback:", *problems])
    return [
        f"{len(ran)} down files ran newest first: {' → '.join(ran)}",
        f"schema, migrations rows and data identical to the clone (fingerprint of "
        f"{len(after.tables)} tables, {len(after.migrations)} migrations rows)",
    ]


# -- 8. re-migration -------------------------------------------------------------------------


def check_remigration(suite: Suite) -> list[str]:
    try:
        applied, batch, seconds = _apply(suite)
    except migrate.MigrationError as exc:
        raise Fail([f"the second run failed: {exc}"]) from None
    report = verify(suite.s, suite.scratch, suite.validation, behavioural=False)
    again = suite.checkpoint("after re-migration")
    assert suite.fp_migrated is not None
    # migrations rows get new auto-increment ids the second time: their (name, batch)
    # pairs are compared instead, by the fingerprint itself
    problems = report.problems + [
        d for d in again.diff(suite.fp_migrated) if d != "table migrations holds different data"
    ]
    if problems:
        raise Fail(["the second run differs from the first:", *problems])
    return [
        f"{len(applied)} migrations applied again as batch {batch} in {seconds * 1000:.0f} ms",
        "schema, migrations rows and data identical to the first run (fingerprint); "
        "verify: 0 differences from sql/",
    ]
