"""The seed's rollback procedure: Option A (down migrations), Option B (restore a backup),
then the post-rollback checklist. Step actions for the walker, and ``runbook rollback``.

Both options refuse before touching anything when their preconditions fail (exit 1,
the target as before), ask before they destroy rows, prove the result afterwards
(by fingerprints, not by trust), and work from a fresh process on another machine
with only the config and the backup file.
"""

from __future__ import annotations

import argparse
import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runbook import exitcodes, fingerprint, flow, migrate, restore, steps
from runbook.config import Config
from runbook.db import DatabaseError, Session, quote_ident
from runbook.engine import (
    Context,
    Event,
    Options,
    RunOutcome,
    StepAction,
    StepFailed,
    StepResult,
)
from runbook.prompter import NeedsOperator, Option, Prompter, Question
from runbook.restore import BackupChoice, PlanB, list_backups, plan_option_b
from runbook.signals import held

__all__ = [
    "ACTIONS",
    "BackupChoice",
    "PlanA",
    "PlanB",
    "cmd_rollback",
    "exit_code",
    "list_backups",
    "plan_option_a",
    "plan_option_b",
    "rollback_context",
    "walk_rollback",
]

# Where a refusal ends: the target is as before. A dedicated end when the flow has one.
REFUSED_END = "rollback_refused" if "rollback_refused" in flow.NODES else "failed"
NONE_GIVEN = "(none given)"
REDEPLOY = "pending: find and fix the cause, run `runbook test-migrations`, then `runbook deploy`"


# -- shared helpers --------------------------------------------------------------------


def _refused(
    ctx: Context, summary: str, evidence: list[str], exit_code: int = exitcodes.FAILED
) -> StepResult:
    ctx.state["rollback_state"] = f"{ctx.target.database} is as it was: nothing was changed"
    return StepResult(
        ok=False, summary=summary, evidence=evidence, exit_code=exit_code, goto=REFUSED_END
    )


def _take_lock(ctx: Context) -> StepResult | None:
    """The deployment lock: no rollback while a deployment (or another rollback) runs."""
    if ctx.state.get("lock_session") is not None:
        return None  # the deployment walking into its own rollback holds it already
    try:
        steps.step_lock(ctx)
    except StepFailed as exc:
        return _refused(ctx, str(exc), exc.evidence, exitcodes.LOCKED)
    return None


def _validation(ctx: Context) -> Any:
    if "validation" not in ctx.state:
        from runbook.validator import validate

        ctx.state["validation"] = validate(ctx.config.sql_dir)
    return ctx.state["validation"]


# -- Option A: the down migrations -----------------------------------------------------


@dataclass
class PlanA:
    database: str
    migrations: list[str] = field(default_factory=list)  # ours, recorded, oldest first
    tables: list[str] = field(default_factory=list)  # theirs, in the same order
    batch: int | None = None
    rows: dict[str, int] = field(default_factory=dict)
    refusals: list[str] = field(default_factory=list)

    @property
    def nothing_to_do(self) -> bool:
        return not self.migrations and not self.tables and not self.refusals

    @property
    def drop_order(self) -> list[str]:
        return list(reversed(self.tables))

    @property
    def rows_lost(self) -> int:
        return sum(self.rows.values())

    def evidence(self) -> list[str]:
        lines = [f"REFUSED: {r}" for r in self.refusals]
        if self.nothing_to_do:
            return ["none of the Phase 2 tables nor their migrations rows exist"]
        if self.tables:
            lines.append(f"down migrations of batch {self.batch}, newest first:")
            lines += [f"  DROP {t}: {self.rows.get(t, 0)} rows lost" for t in self.drop_order]
            lines.append(
                f"rows lost in total: {self.rows_lost}; "
                f"{len(self.migrations)} migrations rows deleted"
            )
        return lines


def plan_option_a(session: Session, database: str, validation: Any) -> PlanA:
    """What Option A would drop and lose, and every reason it must not; writes nothing."""
    plan = PlanA(database)
    if not validation.ok:
        plan.refusals.append(
            "the migration set does not validate (runbook validate): its down files "
            "cannot be trusted"
        )
        return plan
    ours = {m.name: migrate.table_of(m) for m in validation.migrations}
    six = list(ours.values())
    rows = session.query(
        f"SELECT id, migration, batch FROM {quote_ident(database)}.migrations ORDER BY id"
    )
    recorded = [r for r in rows if r["migration"] in ours]
    existing = migrate.existing_tables(session, database)
    present = [t for t in six if t in existing]
    if not recorded and not present:
        return plan
    names = [r["migration"] for r in recorded]
    plan.migrations = names
    plan.tables = [ours[n] for n in names]
    if len(recorded) != len(ours):
        missing = [n for n in ours if n not in names]
        plan.refusals.append(
            f"partly recorded: {len(recorded)} of {len(ours)} Phase 2 migrations are in "
            f"`migrations`; not recorded: {', '.join(missing)}; tables present: "
            f"{', '.join(present) or 'none'}. An interrupted deployment? "
            "`runbook deploy --resume` finishes or undoes it"
        )
    gone = [ours[n] for n in names if ours[n] not in existing]
    if gone:
        plan.refusals.append(
            f"recorded in `migrations` but the table is missing: {', '.join(gone)}"
        )
    batches = sorted({int(r["batch"]) for r in recorded})
    if len(batches) > 1:
        split = ", ".join(f"{r['migration']} (batch {r['batch']})" for r in recorded)
        plan.refusals.append(f"the Phase 2 migrations are split over batches: {split}")
    if recorded:
        plan.batch = batches[-1]
        first_id = min(int(r["id"]) for r in recorded)
        later = [
            r
            for r in rows
            if r["migration"] not in ours and (int(r["id"]) > first_id or r["batch"] >= batches[0])
        ]
        if later:
            plan.refusals.append(
                "later migrations were recorded after Phase 2; roll them back first: "
                + ", ".join(f"{r['migration']} (batch {r['batch']})" for r in later)
            )
    plan.refusals += _dependents(session, database, six)
    plan.rows = restore.row_counts(session, database, [t for t in six if t in existing])
    return plan


def _dependents(session: Session, database: str, six: list[str]) -> list[str]:
    """Other tables, views and triggers that use these tables: dropping would break them."""
    found = []
    refs = session.query(
        "SELECT CONSTRAINT_SCHEMA AS s, TABLE_NAME AS t, CONSTRAINT_NAME AS c, "
        "REFERENCED_TABLE_NAME AS r FROM information_schema.REFERENTIAL_CONSTRAINTS "
        "WHERE UNIQUE_CONSTRAINT_SCHEMA = %s AND REFERENCED_TABLE_NAME IN ("
        + ", ".join(["%s"] * len(six))
        + ")",
        [database, *six],
    )
    for r in refs:
        if r["s"] == database and r["t"] in six:
            continue
        where = r["t"] if r["s"] == database else f"{r['s']}.{r['t']}"
        found.append(
            f"table {where} references {r['r']} (foreign key {r['c']}): drop or change it first"
        )
    words = re.compile(r"\b(" + "|".join(re.escape(t) for t in six) + r")\b")
    # the server stores a view's query with every name qualified: `db`.`table`
    qualified = re.compile(
        re.escape(quote_ident(database)) + r"\.`(" + "|".join(re.escape(t) for t in six) + ")`"
    )
    for r in session.query(
        "SELECT TABLE_SCHEMA AS s, TABLE_NAME AS name, VIEW_DEFINITION AS body "
        "FROM information_schema.VIEWS"
    ):
        if m := qualified.search(r["body"] or ""):
            where = r["name"] if r["s"] == database else f"{r['s']}.{r['name']}"
            found.append(f"view {where} uses {m.group(1)}: drop or change it first")
    for r in session.query(
        "SELECT TRIGGER_NAME AS name, EVENT_OBJECT_TABLE AS t, ACTION_STATEMENT AS body "
        "FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = %s",
        [database],
    ):
        if r["t"] not in six and (m := words.search(r["body"] or "")):
            found.append(
                f"trigger {r['name']} on {r['t']} uses {m.group(1)}: drop or change it first"
            )
    return found


def _check_a(
    before: fingerprint.Fingerprint,
    after: fingerprint.Fingerprint,
    six: list[str],
    ours: list[str],
    earlier: fingerprint.Fingerprint | None,
) -> list[str]:
    """Proof without the pre-deployment fingerprint (a fresh process has none): the six
    tables and their rows are gone, and every other table and row is as before."""
    problems = [f"table {t} still exists" for t in six if t in after.tables]
    problems += [f"migrations row {m} remains" for m, _ in after.migrations if m in ours]
    others_before = {k: v for k, v in before.tables.items() if k not in six}
    others_after = {k: v for k, v in after.tables.items() if k not in six}
    for name in sorted(set(others_before) | set(others_after)):
        if others_before.get(name) != others_after.get(name):
            problems.append(f"table {name} changed during the rollback")
    kept = tuple(x for x in before.migrations if x[0] not in ours)
    if kept != after.migrations:
        problems.append("other rows of `migrations` changed during the rollback")
    if earlier is not None:
        problems += [f"against the pre-deployment fingerprint: {d}" for d in after.diff(earlier)]
    return problems


def step_rollback_a(ctx: Context) -> StepResult:
    db = ctx.target.database
    validation = _validation(ctx)
    if (refusal := _take_lock(ctx)) is not None:
        return refusal
    s = steps.session(ctx)
    plan = plan_option_a(s, db, validation)
    ctx.state["plan_a"] = plan
    for line in plan.evidence():
        ctx.output(line, "error" if line.startswith("REFUSED") else "info")
    if plan.refusals:
        return _refused(ctx, f"Option A refused: {plan.refusals[0]}", plan.refusals)
    if plan.nothing_to_do:
        ctx.state["rollback"] = {"option": "A", "dropped": []}
        ctx.state["rollback_state"] = f"{db} holds no Phase 2 table nor migrations row"
        return StepResult(ok=True, summary="nothing to roll back: Phase 2 is not applied")
    if ctx.dry_run:
        for table in plan.drop_order:
            ctx.would("sql", f"DROP TABLE {table}; DELETE its migrations row")
        return StepResult(ok=True, summary=f"would drop {len(plan.tables)} tables")
    answer = ctx.ask(
        Question(
            id="rollback_a",
            text=(
                f"Drop the {len(plan.tables)} Phase 2 tables of batch {plan.batch}? "
                f"{plan.rows_lost} rows in them will be lost"
            ),
            options=(
                Option("drop", "Run the down migrations, newest first"),
                Option("keep", "Keep the tables; roll nothing back"),
            ),
            # --yes: the operator asked for this rollback and every check passed
            safe="drop",
            evidence=tuple(plan.evidence()),
        )
    )
    if answer != "drop":
        return _refused(ctx, "not rolled back: the operator kept the tables", [])
    before = fingerprint.take(s, db)
    six = [migrate.table_of(m) for m in validation.migrations]
    events: list[tuple[str, dict[str, Any]]] = []
    s.set_session(
        {
            "lock_wait_timeout": migrate.LOCK_WAIT_TIMEOUT_S,
            "innodb_lock_wait_timeout": migrate.LOCK_WAIT_TIMEOUT_S,
        }
    )
    # All the locks at once, before the first drop: a lock wait refuses with nothing
    # dropped, instead of stopping after three tables of six.
    locked = ", ".join(f"{quote_ident(t)} WRITE" for t in [*plan.tables, "migrations"])
    try:
        s.execute(f"LOCK TABLES {locked}")
    except DatabaseError as exc:
        blockers = migrate.blocking_connections(s, db)
        return _refused(
            ctx,
            f"could not lock the Phase 2 tables: {exc}",
            [f"blocked by: {'; '.join(blockers) or 'a metadata lock holder'}"],
        )
    failure: Exception | None = None
    with held(deliver=False) as ignored:
        try:
            migrate.undo(
                s,
                db,
                plan.tables,
                validation.migrations,
                listener=lambda kind, data: events.append((kind, data)),
            )
        except (DatabaseError, migrate.MigrationError) as exc:
            failure = exc
        finally:
            with contextlib.suppress(DatabaseError):
                s.execute("UNLOCK TABLES")
    for kind, data in events:
        ctx.emit(kind, **data)
    if ignored:
        ctx.output(
            f"ignored {', '.join(sig.name for sig in ignored)} while dropping: finishing", "warning"
        )
    if failure is not None:
        left = sorted(set(plan.tables) & migrate.existing_tables(s, db))
        ctx.state["needs_person"] = True
        ctx.state["rollback_state"] = (
            f"{db} is HALF rolled back: still present: {', '.join(left) or 'none'}"
        )
        raise StepFailed(
            f"Option A failed half way: {failure}",
            evidence=[str(failure), ctx.state["rollback_state"]],
            exit_code=exitcodes.NEEDS_PERSON,
        )
    after = fingerprint.take(s, db)
    problems = _check_a(before, after, six, plan.migrations, ctx.state.get("fingerprint_before"))
    if problems:
        ctx.state["needs_person"] = True
        ctx.state["rollback_state"] = f"{db} differs from the expected state: " + "; ".join(
            problems
        )
        raise StepFailed(
            "the rollback did not leave the expected schema",
            evidence=problems,
            exit_code=exitcodes.NEEDS_PERSON,
        )
    ctx.state["rolled_back"] = True
    ctx.state["rollback"] = {"option": "A", "dropped": plan.drop_order, "rows_lost": plan.rows_lost}
    ctx.state["rollback_state"] = (
        f"{db}: the {len(plan.tables)} Phase 2 tables and their migrations rows are gone; "
        "every other table is as it was"
    )
    proof = (
        "schema equals the pre-deployment fingerprint"
        if ctx.state.get("fingerprint_before") is not None
        else "Phase 2 tables and rows gone, every other table unchanged"
    )
    return StepResult(
        ok=True, summary=f"dropped {len(plan.tables)} tables ({plan.rows_lost} rows); {proof}"
    )


# -- Option B: restore the backup ------------------------------------------------------


class _Refusal(Exception):
    """Option B stops with the target untouched (exit 1, or 3 for the lock)."""

    def __init__(self, message: str, evidence: list[str] | None = None) -> None:
        super().__init__(message)
        self.evidence = evidence or []


def _restore_path(ctx: Context) -> Path | None:
    if ctx.state.get("restore_file"):
        return Path(ctx.state["restore_file"])
    if b := ctx.state.get("backup"):
        return Path(b["path"])
    return None


def step_rollback_b(ctx: Context) -> StepResult:
    path = _restore_path(ctx)
    if path is None:
        return _refused(ctx, "no backup to restore", ["name one: runbook rollback --restore FILE"])
    if (refusal := _take_lock(ctx)) is not None:
        return refusal
    db = ctx.target.database
    s = steps.session(ctx)
    ctx.state["restore"] = {"phase": "checking", "path": str(path)}
    ctx.output(f"checking {path} whole: gzip, dump-completed trailer, sha256, database")
    own = ctx.state.get("backup") or {}
    plan = plan_option_b(
        s,
        db,
        path,
        journal_dir=ctx.config.journal_dir,
        expected_sha256=own.get("sha256") if own.get("path") == str(path) else None,
        progress=lambda done, total: ctx.progress(done, total, "bytes"),
    )
    ctx.state["plan_b"] = plan
    if plan.refusals:
        for line in plan.refusals:
            ctx.output(line, "error")
        return _refused(ctx, f"backup refused: {plan.refusals[0]}", plan.evidence())
    if ctx.dry_run:
        ctx.would("restore", f"load {path} into a scratch schema, swap it in by RENAME TABLE")
        return StepResult(ok=True, summary=f"would restore {path}")
    try:
        return _restore(ctx, s, plan)
    except _Refusal as exc:
        _cleanup_b(ctx)
        return _refused(ctx, str(exc), exc.evidence)
    except BaseException:
        _cleanup_b(ctx)
        raise


def _restore(ctx: Context, s: Session, plan: PlanB) -> StepResult:
    db = ctx.target.database
    info = plan.info
    assert info is not None
    path = plan.path
    st = ctx.state["restore"]
    scratch, old = restore.scratch_names()
    reasons = []
    mode = "swap"
    if plan.current_objects:
        mode = "in_place"
        reasons.append(
            f"{db} holds {', '.join(plan.current_objects)}, which RENAME TABLE cannot move"
        )
    try:
        restore.create_schema_like(s, scratch, db)
        st["scratch"] = scratch
    except DatabaseError as exc:
        if not restore.is_access_denied(exc):
            raise _Refusal(f"cannot create the scratch schema {scratch}: {exc}") from None
        mode, scratch = "in_place", ""
        reasons.append(
            f"no privilege to create a scratch schema ({exc}); GRANT ALL ON "
            "`runbook\\_scratch\\_%`.* makes the restore atomic"
        )
    progress = lambda done, total: ctx.progress(done, total, "bytes")  # noqa: E731
    expected: fingerprint.Fingerprint | None = None
    if scratch:
        st["phase"] = "loading"
        ctx.output(f"loading the backup into {scratch}; {db} and the app carry on meanwhile")
        try:
            loaded = restore.load(
                ctx.target, scratch, path, total=info.uncompressed, progress=progress
            )
        except (restore.RestoreError, DatabaseError) as exc:
            raise _Refusal(f"the backup does not load: {exc}", [str(exc)]) from None
        st["phase"] = "loaded"
        if loaded.sha256 != info.sha256:
            raise _Refusal(f"{path} changed while it was being loaded (sha256 {loaded.sha256})")
        ctx.emit("restore_loaded", schema=scratch, bytes=loaded.bytes, seconds=loaded.seconds)
        restore.fill_from_scratch(plan, s, scratch)
        missing = sorted(set(info.tables) - set(plan.backup_tables))
        if missing and not restore.other_objects(s, scratch):
            raise _Refusal(f"the loaded backup lacks table(s) {', '.join(missing)}")
        if objects := restore.other_objects(s, scratch):
            if mode == "swap":
                reasons.append(f"the backup holds {', '.join(objects)}")
            mode = "in_place"
        expected = fingerprint.take(s, scratch, data=True)
    else:
        try:  # no scratch copy: read the whole stream before the target sees any of it
            scanned = restore.stream(path, None, total=info.uncompressed, progress=progress)
        except restore.RestoreError as exc:
            raise _Refusal(str(exc)) from None
        if scanned.sha256 != info.sha256:
            raise _Refusal(f"{path} changed while it was being checked")
    for reason in reasons:
        ctx.output(f"restoring in place: {reason}", "warning")
    if mode == "in_place":
        ctx.output(
            "in place, an interruption leaves the database half restored (exit 4)", "warning"
        )
    st["mode"] = mode
    for line in plan.evidence():
        ctx.output(line)
    answer = ctx.ask(
        Question(
            id="rollback_b",
            text=f"Restore {path.name} over {db}? Everything written since the backup is lost",
            options=(
                Option("restore", "Restore the backup (maintenance mode meanwhile)"),
                Option("keep", "Keep the database as it is"),
            ),
            safe="restore",  # --yes: the operator asked for this restore; every check passed
            evidence=tuple(plan.evidence()),
        )
    )
    if answer != "restore":
        raise _Refusal("not restored: the operator kept the database as it is")
    try:
        steps.enter_maintenance(ctx)
    except StepFailed as exc:
        raise _Refusal(f"maintenance mode failed: {exc}", exc.evidence) from None
    if mode == "swap":
        _swap(ctx, s, scratch, old)
    else:
        _in_place(ctx, s, plan)
    return _verify_b(ctx, s, plan, expected)


def _swap(ctx: Context, s: Session, scratch: str, old: str) -> None:
    db = ctx.target.database
    st = ctx.state["restore"]
    try:
        restore.create_schema_like(s, old, db)
        st["old"] = old
        outgoing = restore.base_tables(s, db)
        incoming = restore.base_tables(s, scratch)
    except DatabaseError as exc:
        raise _Refusal(f"cannot prepare the swap: {exc}") from None
    st.update(outgoing=outgoing, incoming=incoming)
    # journaled before the statement: after a crash the journal says what may have moved
    ctx.emit(
        "restore_swap",
        statement=restore.swap_statement(db, scratch, old, incoming, outgoing),
        scratch=scratch,
        old=old,
    )
    st["phase"] = "swapping"
    with held(deliver=False) as ignored:
        try:
            restore.swap(s, db, scratch, old, incoming, outgoing)
        except DatabaseError as exc:
            st["phase"] = "loaded"  # one statement, all or nothing: nothing moved
            blockers = migrate.blocking_connections(s, db)
            raise _Refusal(
                f"the swap was refused, nothing moved: {exc}",
                [f"blocked by: {'; '.join(blockers)}"] if blockers else [str(exc)],
            ) from None
        st["phase"] = "swapped"
    if ignored:
        ctx.output(
            f"ignored {', '.join(sig.name for sig in ignored)} during the swap: finishing",
            "warning",
        )
    ctx.output(f"swapped: {len(incoming)} tables of the backup in, {len(outgoing)} out to {old}")


def _in_place(ctx: Context, s: Session, plan: PlanB) -> None:
    db = ctx.target.database
    st = ctx.state["restore"]
    assert plan.info is not None
    sent = restore.Streamed()
    st["sent"] = sent
    st["phase"] = "in_place"
    try:
        restore.load(
            ctx.target,
            db,
            plan.path,
            total=plan.info.uncompressed,
            progress=lambda done, total: ctx.progress(done, total, "bytes"),
            into=sent,
        )
    except (restore.RestoreError, DatabaseError) as exc:
        raise StepFailed(f"the restore failed half way: {exc}", evidence=[str(exc)]) from None
    st["phase"] = "restored"
    backup_tables = set(sent.tables)
    extra = sorted(set(restore.base_tables(s, db)) - backup_tables)
    views = [
        o.split(" ", 1)[1]
        for o in restore.other_objects(s, db)
        if o.startswith("view ") and o.split(" ", 1)[1] not in backup_tables
    ]
    if extra or views:
        ctx.output(f"dropping what the backup does not hold: {', '.join(views + extra)}")
        restore.drop_tables(s, db, extra, views)
    if scratch := st.get("scratch"):
        # routines, events, triggers created after the backup: the dump only replaces
        # its own, so the loaded copy says which ones do not belong
        stray = sorted(set(restore.other_objects(s, db)) - set(restore.other_objects(s, scratch)))
        if stray:
            ctx.output(f"dropping what the backup does not hold: {', '.join(stray)}")
            restore.drop_objects(s, db, stray)


def _verify_b(
    ctx: Context, s: Session, plan: PlanB, expected: fingerprint.Fingerprint | None
) -> StepResult:
    db = ctx.target.database
    st = ctx.state["restore"]
    assert plan.info is not None
    after = fingerprint.take(s, db, data=True)
    if expected is not None:
        # the backup as loaded into its own schema, tables, definitions, rows and checksums
        problems = after.diff(expected)
        how = "every table, definition, migrations row and CHECKSUM equals the backup's"
        if st.get("mode") == "in_place" and (scratch := st.get("scratch")):
            now, then = restore.other_objects(s, db), restore.other_objects(s, scratch)
            problems += [f"{o} exists but is not in the backup" for o in set(now) - set(then)]
            problems += [f"{o} of the backup is missing" for o in set(then) - set(now)]
            how += ", and so do its views, triggers, routines and events"
    else:
        want = set(plan.info.tables)
        problems = [f"table {t} exists but is not in the backup" for t in set(after.tables) - want]
        problems += [f"table {t} of the backup is missing" for t in want - set(after.tables)]
        how = "the tables are exactly the backup's (no scratch copy to compare rows against)"
    validation = ctx.state.get("validation")
    if validation is not None and validation.ok:
        recorded = {m for m, _ in after.migrations}
        for m in validation.migrations:
            table = migrate.table_of(m)
            if (m.name in recorded) != (table in after.tables):
                ctx.output(
                    f"the backup itself disagrees: {m.name} "
                    f"{'recorded' if m.name in recorded else 'not recorded'} but table {table} "
                    f"{'exists' if table in after.tables else 'does not'}",
                    "warning",
                )
    if problems:
        ctx.state["needs_person"] = True
        kept = st.get("old")
        ctx.state["rollback_state"] = f"{db} was restored but differs from the backup" + (
            f"; the tables it replaced are kept in {kept}" if kept else ""
        )
        st["phase"] = "verify_failed"  # the cleanup keeps this message and the old tables
        raise StepFailed(
            "the database does not equal the backup",
            evidence=[*problems, ctx.state["rollback_state"]],
            exit_code=exitcodes.NEEDS_PERSON,
        )
    st["phase"] = "done"
    ctx.state["rolled_back"] = True
    ctx.state["rollback"] = {"option": "B", "path": str(plan.path), "rows_lost": plan.rows_lost}
    ctx.state["rollback_state"] = f"{db} equals the backup {plan.path}: {how}"
    ctx.emit("restore_verified", path=str(plan.path), sha256=plan.info.sha256, proof=how)
    try:
        app = steps.bring_app_up(ctx)
    finally:
        # after the app is back: dropping the displaced tables is off the downtime path
        for key in ("old", "scratch"):
            if name := st.get(key):
                try:
                    restore.drop_schema(s, name)
                except DatabaseError as exc:
                    ctx.output(f"could not drop {name} ({exc}): drop it by hand", "warning")
    return StepResult(ok=True, summary=f"{db} equals {plan.path.name}; {app}")


def _cleanup_b(ctx: Context) -> None:
    """Whatever stopped Option B: no client left, no scratch schema left unless it holds
    the only copy of something, the app up, and the database's state said plainly."""
    st = ctx.state.get("restore") or {}
    if st.get("cleaned") or st.get("phase") == "done":
        return
    st["cleaned"] = True
    db = ctx.target.database
    with held(deliver=False) as ignored:
        phase = st.get("phase")
        try:
            s: Session | None = ctx.target.connect()
        except DatabaseError as exc:
            s = None
            ctx.output(f"cannot reach the server to clean up: {exc}", "error")
        scratch, old = st.get("scratch"), st.get("old")
        if phase == "swapping" and s is not None:
            # RENAME TABLE is all or nothing: where the tables are says which happened
            moved = bool(st.get("incoming")) and not restore.base_tables(s, scratch)
            phase = "swapped" if moved else "loaded"
        if phase == "swapping":  # no server to ask
            state, level = "unknown", "error"
            ctx.state["needs_person"] = True
            text = (
                f"cannot tell whether the swap happened: {db} holds either its own tables "
                f"or the backup's, never a mix; the other set is in {scratch} or {old}"
            )
        elif phase in ("checking", "loading", "loaded"):
            state, level = "untouched", "warning"
            text = f"{db} was not touched"
            if scratch:
                text += f": the backup was being loaded into {scratch}"
            if s is not None:
                for name in (scratch, old):
                    if name:
                        with contextlib.suppress(DatabaseError):
                            restore.drop_schema(s, name)
                text += ", which is dropped" if scratch else ""
        elif phase == "verify_failed":
            state, level = "differs", "error"
            text = ctx.state["rollback_state"]
        elif phase == "swapped":
            state, level = "restored_unverified", "error"
            ctx.state["needs_person"] = True
            text = (
                f"{db} holds the backup's tables (the swap completed) but was not verified; "
                f"the tables it replaced are kept in {old}: compare, then DROP DATABASE {old}"
            )
        else:  # in_place / restored: the target is partly the backup
            state, level = "half_restored", "error"
            ctx.state["needs_person"] = True
            sent: restore.Streamed | None = st.get("sent")
            total = len(plan.info.tables) if (plan := ctx.state.get("plan_b")) and plan.info else 0
            done = len(sent.tables) if sent else 0
            text = (
                f"{db} is HALF RESTORED: {done} of {total} tables of the backup were sent"
                + (f" (last: {sent.tables[-1]})" if sent and sent.tables else "")
                + "; the others keep their pre-restore contents. The backup file is intact: "
                f"run `runbook rollback --restore {st.get('path')}` again to finish"
            )
            if phase == "restored":
                text = (
                    f"{db} was restored in place but not verified (tables created after the "
                    "backup may remain): run the restore again to finish"
                )
        if s is not None:
            # the scratch copy only ever holds the backup, which the file still has
            if scratch and state != "untouched":
                with contextlib.suppress(DatabaseError):
                    restore.drop_schema(s, scratch)
            s.close()
        ctx.state["rollback_state"] = text
        ctx.emit("restore_state", state=state, detail=text)
        ctx.output(text, level)
        if ctx.state.get("maintenance_on"):
            try:
                ctx.output("bringing the application back up", "warning")
                steps.bring_app_up(ctx)
            except StepFailed as exc:
                ctx.output(f"the app did not come back: {exc}", "error")
    if ignored:
        ctx.output(f"ignored {', '.join(sig.name for sig in ignored)} while cleaning up", "warning")


# -- post-rollback ---------------------------------------------------------------------


def _note(ctx: Context) -> str:
    """One line for the record: from the driver if it has one, else asked, else none."""
    if note := ctx.state.get("rollback_note"):
        return str(note)
    question = Question(
        id="rollback_note",
        text="One line for the record: what went wrong?",
        options=(Option("note", "a one-line note"),),
        safe=NONE_GIVEN,
    )
    try:
        answer = ctx.prompter.ask_text(question)
    except NeedsOperator:
        answer = ""
    return str(answer).strip().splitlines()[0] if str(answer).strip() else NONE_GIVEN


def step_post_rollback(ctx: Context) -> StepResult:
    option = (ctx.state.get("rollback") or {}).get("option")
    if ctx.dry_run:
        ctx.would("check", "the app answers 200; ask for a note; record the re-deploy")
        return StepResult(ok=True, summary="would run the post-rollback checklist")
    try:
        app, app_ok = steps.bring_app_up(ctx), True
    except StepFailed as exc:
        app, app_ok = str(exc), False
    ctx.output(f"verify the app works: {app}", "info" if app_ok else "error")
    note = _note(ctx)
    ctx.output(f"issue noted: {note}")
    ctx.output(f"re-deploy: {REDEPLOY}")
    ctx.emit(
        "post_rollback",
        option=option,
        app=app,
        app_ok=app_ok,
        note=note,
        redeploy=REDEPLOY,
        state=ctx.state.get("rollback_state"),
    )
    if not app_ok:
        ctx.state["needs_person"] = True
        return StepResult(
            ok=False,
            summary="rolled back, but the application does not answer 200",
            evidence=[app],
            exit_code=exitcodes.NEEDS_PERSON,
            goto="needs_person",
        )
    return StepResult(ok=True, summary=f"{app}; note recorded; re-deploy scheduled")


ACTIONS: dict[str, StepAction] = {
    "rollback_a": step_rollback_a,
    "rollback_b": step_rollback_b,
    "post_rollback": step_post_rollback,
}


# -- the command -----------------------------------------------------------------------


def rollback_context(
    cfg: Config,
    options: Options,
    prompter: Prompter,
    sink: Callable[[Event], None],
    *,
    restore_file: Path | None = None,
) -> Context:
    """A rollback run of its own (journal ``<db>_rollback_<id>.jsonl``), built like every run."""
    from runbook import runs

    ctx = runs.new_context(cfg, options, prompter, sink, "rollback")
    if restore_file is not None:
        ctx.state["restore_file"] = str(Path(restore_file).absolute())
    return ctx


def walk_rollback(ctx: Context, option: str) -> RunOutcome:
    """Walk Option A ("A") or B ("B"), the post-rollback checklist, notify and archive."""
    from runbook import runs

    return runs.walk(ctx, "rollback_a" if option == "A" else "rollback_b")


def exit_code(outcome: RunOutcome) -> int:
    """A completed rollback is what the rollback command was asked to do: exit 0."""
    return exitcodes.OK if outcome.outcome == "rolled_back" else outcome.exit_code


def cmd_rollback(args: argparse.Namespace) -> int:
    """``runbook rollback --config F (--migrations | --restore FILE) [--yes]``."""
    from runbook.commands import Renderer, load_config, make_console, summary_lines
    from runbook.config import ConfigError
    from runbook.journal import JournalError
    from runbook.prompter import for_terminal

    console = make_console()
    err = make_console(stderr=True)
    restore_file = getattr(args, "restore", None)
    migrations = bool(getattr(args, "migrations", False))
    if migrations == (restore_file is not None):
        err.print("[red]runbook rollback: choose one: --migrations (A) or --restore FILE (B)[/]")
        return exitcodes.CONFIG_ERROR
    if restore_file is not None and not Path(restore_file).is_file():
        err.print(f"runbook rollback: {restore_file}: no such backup file", markup=False)
        return exitcodes.CONFIG_ERROR
    yes = bool(getattr(args, "yes", False))
    try:
        cfg = load_config(args)
        ctx = rollback_context(
            cfg,
            Options(yes=yes),
            for_terminal(yes, console),
            Renderer(console),
            restore_file=restore_file,
        )
    except (ConfigError, JournalError) as exc:
        err.print(f"runbook: {exc}", markup=False, highlight=False)
        return exitcodes.CONFIG_ERROR
    try:
        outcome = walk_rollback(ctx, "A" if migrations else "B")
    except (NeedsOperator, DatabaseError) as exc:
        err.print(f"runbook: {exc}", markup=False, highlight=False)
        if ctx.state.get("needs_person"):
            err.print(f"runbook: {ctx.state.get('rollback_state', 'the target changed')}")
            return exitcodes.NEEDS_PERSON
        return exitcodes.FAILED
    code = exit_code(outcome)
    console.print()
    style = "green" if code == exitcodes.OK else "red"
    what = "rolled back" if code == exitcodes.OK else outcome.outcome
    console.print(f"[{style}]outcome: {what} (exit {code})[/]")
    if state := ctx.state.get("rollback_state"):
        console.print(f"  database: {state}", markup=False, highlight=False)
    for line in summary_lines(outcome, ctx)[1:]:
        console.print(f"  {line}", markup=False, highlight=False)
    return code
