"""What each step of the deployment does. Drivers never call these directly: the walker does."""

from __future__ import annotations

import time
from typing import Any

from runbook import backup, exitcodes, fingerprint, migrate
from runbook.db import DatabaseError, Session
from runbook.engine import Context, StepAction, StepFailed, StepResult
from runbook.laravel import App, AppError, wait_for_status
from runbook.prompter import Option, Question

CLEAR_BEFORE = ("config:clear", "cache:clear")
CLEAR_AFTER = ("config:clear", "cache:clear", "route:clear", "view:clear")


def lock_name(database: str) -> str:
    return f"runbook:{database}"


def session(ctx: Context) -> Session:
    """The run's working session, opened once."""
    if "session" not in ctx.state:
        ctx.state["session"] = ctx.target.connect()
    return ctx.state["session"]


def app(ctx: Context) -> App:
    return App(ctx.config.app.path, ctx.config.app.url)


# -- pre-deployment checks -------------------------------------------------------------


def step_preflight(ctx: Context) -> StepResult:
    from runbook.preflight import run_checks

    report = run_checks(
        ctx.config, ctx.target, ctx.state["validation"], own_journal=ctx.journal.path
    )
    if _offer_to_lift_maintenance(ctx, report):
        report = run_checks(
            ctx.config, ctx.target, ctx.state["validation"], own_journal=ctx.journal.path
        )
    ctx.state["preflight"] = report
    for check in report.checks:
        ctx.emit("check", name=check.name, status=check.status, detail=check.detail, fix=check.fix)
    failed = [c for c in report.checks if c.status == "fail"]
    if failed:
        return StepResult(
            ok=False,
            summary=f"{len(failed)} pre-deployment check(s) failed",
            evidence=[f"{c.name}: {c.detail} -> {c.fix}" for c in failed],
            exit_code=exitcodes.LOCKED if any(c.name == "lock" for c in failed) else None,
        )
    if report.nothing_to_do:
        return StepResult(ok=True, summary="already applied and verified", goto="already_applied")
    return StepResult(ok=True, summary=f"{len(report.checks)} checks passed")


def _offer_to_lift_maintenance(ctx: Context, report: Any) -> bool:
    """An earlier run left the app in maintenance: offer to lift it (never by default)."""
    stuck = [c for c in report.checks if c.name == "maintenance mode" and c.status == "fail"]
    others = [c for c in report.checks if c.status == "fail" and c.name != "maintenance mode"]
    if not stuck or others or ctx.dry_run:
        return False
    question = Question(
        id="lift_maintenance",
        text="The application is in maintenance mode already. Lift it (php artisan up)?",
        options=(
            Option("stop", "Stop here and find out who put it there"),
            Option("lift", "Lift it and go on with the checks"),
        ),
        safe="stop",
        evidence=(stuck[0].detail,),
    )
    if ctx.ask(question) != "lift":
        return False
    try:
        app(ctx).artisan("up")
    except AppError as exc:
        ctx.output(str(exc), level="error")
        return False
    ctx.output("maintenance mode lifted", level="warning")
    return True


# -- lock ------------------------------------------------------------------------------


def lock_holder(s: Session, name: str) -> str:
    rows = s.query(
        "SELECT p.ID AS id, p.USER AS user, p.HOST AS host, p.TIME AS idle "
        "FROM information_schema.PROCESSLIST p WHERE p.ID = IS_USED_LOCK(%s)",
        [name],
    )
    if not rows:
        return "a connection that has since gone"
    r = rows[0]
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(time.time() - int(r["idle"] or 0)))
    return f"connection {r['id']} ({r['user']}@{r['host']}), last active {since}"


def step_lock(ctx: Context) -> StepResult:
    name = lock_name(ctx.target.database)
    held = ctx.target.connect(pinned=False)
    got = held.scalar("SELECT GET_LOCK(%s, 0)", [name])
    if got != 1:
        holder = lock_holder(held, name)
        held.close()
        raise StepFailed(
            f"another run holds the deployment lock {name!r}: {holder}",
            evidence=[f"lock {name} held by {holder}"],
            exit_code=exitcodes.LOCKED,
        )
    ctx.state["lock_session"] = held
    return StepResult(ok=True, summary=f"holding {name} on connection {held.connection_id}")


# -- backup ----------------------------------------------------------------------------


def step_backup(ctx: Context) -> StepResult:
    directory = ctx.config.backup_dir
    if ctx.options.skip_backup:
        ctx.emit("backup_skipped", reason="--skip-backup")
        return StepResult(ok=True, skipped=True, summary="skipped on request (--skip-backup)")
    if ctx.dry_run:
        with ctx.target.client_defaults_file() as defaults:
            command = backup.dump_command(ctx.target, defaults)
        shown = [
            a
            if not a.startswith("--defaults-extra-file=")
            else "--defaults-extra-file=<0600 file holding the credentials>"
            for a in command
        ]
        path = backup.backup_path(directory, ctx.target.database)
        ctx.would("backup", f"{' '.join(shown)} | gzip > {path} (mode 0600)")
        return StepResult(ok=True, summary=f"would write {path}")
    try:
        info = backup.create(
            ctx.target,
            directory,
            progress=lambda done, total: ctx.progress(done, total, "bytes"),
            expected_total=backup.estimate_size(session(ctx), ctx.target.database),
            on_quiet=lambda idle: ctx.output(
                f"waiting for mariadb-dump: no data for {idle:.0f} s "
                "(a lock on a table, or a slow server?)",
                level="warning",
            ),
        )
        ctx.output(f"wrote {info.path} ({info.size} bytes); verifying")
        checked = backup.inspect(info.path, progress=lambda d, t: ctx.progress(d, t, "bytes"))
    except backup.BackupError as exc:
        raise StepFailed(f"backup failed: {exc}", evidence=[str(exc)]) from None
    live = migrate.existing_tables(session(ctx), ctx.target.database)
    missing = sorted(live - set(checked.tables))
    if missing:
        raise StepFailed(
            f"the backup lacks table(s) {', '.join(missing)}",
            evidence=[f"{info.path}: no CREATE TABLE for {', '.join(missing)}"],
        )
    ctx.state["backup"] = {
        "path": str(info.path),
        "size": info.size,
        "sha256": info.sha256,
        "tables": len(checked.tables),
    }
    ctx.emit(
        "backup_verified",
        path=str(info.path),
        size=info.size,
        sha256=info.sha256,
        tables=len(checked.tables),
    )
    return StepResult(
        ok=True, summary=f"{info.path} ({info.size} bytes, sha256 {info.sha256[:12]})"
    )


# -- maintenance and caches ------------------------------------------------------------


BASELINE_S = 2.0


def step_maintenance(ctx: Context) -> StepResult:
    if not ctx.dry_run:
        # "performance normal" at the checkpoint is judged against the app before any change
        from runbook.monitor import record_baseline

        baseline = record_baseline(ctx, seconds=BASELINE_S)
        app_ms = f"{baseline.app_ms:.0f} ms" if baseline.app_ms is not None else "no answer"
        qps = f"{baseline.qps:.1f}" if baseline.qps is not None else "?"
        ctx.output(f"performance baseline: app {app_ms}, {qps} queries/s")
    if ctx.options.no_maintenance:
        return StepResult(ok=True, skipped=True, summary="zero downtime (--no-maintenance)")
    if ctx.dry_run:
        ctx.would("artisan", "php artisan down --retry=60, then expect HTTP 503 with Retry-After")
        return StepResult(ok=True, summary="would enter maintenance mode")
    return StepResult(ok=True, summary=enter_maintenance(ctx))


def enter_maintenance(ctx: Context) -> str:
    """php artisan down --retry=60, then the URL must answer 503 with Retry-After.

    From here on every way out brings the app back (``bring_app_up``), and the
    downtime is measured from this moment.
    """
    a = app(ctx)
    ctx.state["maintenance_on"] = True  # before the call: an interrupted `down` still gets `up`
    ctx.state["downtime_started"] = time.monotonic()
    try:
        a.artisan("down", "--retry=60")
    except AppError as exc:
        raise StepFailed(str(exc), evidence=[str(exc)]) from None
    ctx.emit("maintenance", on=True)
    answer = wait_for_status(a.url, 503, timeout=10)
    if answer.status != 503 or not answer.retry_after:
        raise StepFailed(
            f"after artisan down the app answered {answer.describe()}, not 503 with Retry-After",
            evidence=[f"{a.url}: {answer.describe()}"],
        )
    return f"{a.url}: {answer.describe()}"


def _clear(ctx: Context, commands: tuple[str, ...]) -> None:
    a = app(ctx)
    for command in commands:
        if ctx.dry_run:
            ctx.would("artisan", f"php artisan {command}")
            continue
        try:
            a.artisan(command)
        except AppError as exc:
            raise StepFailed(str(exc), evidence=[str(exc)]) from None
        ctx.output(f"php artisan {command}: ok")


def step_cache(ctx: Context) -> StepResult:
    _clear(ctx, CLEAR_BEFORE)
    return StepResult(ok=True, summary="caches cleared")


def bring_app_up(ctx: Context) -> str:
    """php artisan up and HTTP 200, measuring the downtime; safe to call twice."""
    a = app(ctx)
    if ctx.dry_run:
        ctx.would("artisan", "php artisan up, then expect HTTP 200")
        return "would bring the app up"
    if ctx.state.get("maintenance_on") or a.in_maintenance():
        try:
            a.artisan("up")
        except AppError as exc:
            ctx.state["needs_person"] = True
            raise StepFailed(
                f"could not leave maintenance mode: {exc}", evidence=[str(exc)]
            ) from None
        ctx.state["maintenance_on"] = False
        if started := ctx.state.pop("downtime_started", None):
            ctx.state["downtime_s"] = round(time.monotonic() - started, 3)
            ctx.emit("maintenance", on=False, downtime_s=ctx.state["downtime_s"])
    answer = wait_for_status(a.url, 200, timeout=15)
    if answer.status != 200:
        ctx.state["needs_person"] = True
        raise StepFailed(
            f"{a.url} answers {answer.describe()}, not 200",
            evidence=[f"{a.url}: {answer.describe()}"],
        )
    return f"{a.url}: HTTP 200"


def step_restore(ctx: Context) -> StepResult:
    _clear(ctx, CLEAR_AFTER)
    return StepResult(ok=True, summary=bring_app_up(ctx))


def step_restore_after_failure(ctx: Context) -> StepResult:
    return StepResult(ok=True, summary=bring_app_up(ctx))


# -- migration -------------------------------------------------------------------------


def step_migrate(ctx: Context) -> StepResult:
    validation = ctx.state["validation"]
    migrations = validation.migrations
    s = session(ctx)
    db = ctx.target.database
    ctx.state.setdefault("fingerprint_before", fingerprint.take(s, db))
    if ctx.dry_run:
        batch = migrate.next_batch(s, db)
        for m in migrations:
            ctx.would("sql", m.up_sql.strip())
            ctx.would(
                "sql", f"INSERT INTO migrations (migration, batch) VALUES ('{m.name}', {batch})"
            )
        return StepResult(
            ok=True, summary=f"would apply {len(migrations)} migrations as batch {batch}"
        )
    batch = migrate.next_batch(s, db)
    created: list[str] = ctx.state.setdefault("created", [])

    def listener(kind: str, data: dict[str, Any]) -> None:
        if kind == "migration_start":
            # journaled before the statement: after a crash, resume knows what may exist
            ctx.emit("migration_start", **data)
        elif kind == "lock_wait":
            ctx.output(
                f"{data['migration']}: waited {migrate.LOCK_WAIT_TIMEOUT_S} s for a lock "
                f"(attempt {data['attempt']}); blocked by: "
                + ("; ".join(data["blockers"]) or "unknown"),
                level="warning",
            )
        else:
            ctx.emit(kind, **data)

    ctx.emit("batch", batch=batch)
    started = time.monotonic()
    try:
        applied = migrate.apply(s, db, migrations, batch, listener=listener, created=created)
    except (migrate.MigrationError, DatabaseError) as exc:
        ctx.state["migration_error"] = str(exc)
        raise StepFailed(f"migration failed: {exc}", evidence=[str(exc)]) from None
    total = time.monotonic() - started
    ctx.state["migration_s"] = round(total, 4)
    return StepResult(
        ok=True, summary=f"{len(applied)} tables created in {total * 1000:.0f} ms (batch {batch})"
    )


def rollback_created(ctx: Context) -> list[str]:
    """Drop what this run created and prove the schema is as before; returns differences."""
    created = ctx.state.get("created", [])
    s = session(ctx)
    db = ctx.target.database
    migrate.undo(
        s,
        db,
        created,
        ctx.state["validation"].migrations,
        listener=lambda kind, data: ctx.emit(kind, **data),
    )
    ctx.state["created"] = []
    before = ctx.state.get("fingerprint_before")
    if before is None:
        return []
    return fingerprint.take(s, db).diff(before)


def step_auto_rollback(ctx: Context) -> StepResult:
    if ctx.dry_run:
        return StepResult(ok=True, summary="dry-run: nothing was created")
    differences = rollback_created(ctx)
    if differences:
        ctx.state["needs_person"] = True
        raise StepFailed(
            "the rollback did not restore the pre-deployment schema", evidence=differences
        )
    ctx.state["rolled_back"] = True
    return StepResult(ok=True, summary="schema equals the pre-deployment fingerprint")


# -- verification ----------------------------------------------------------------------


def step_verify(ctx: Context) -> StepResult:
    from runbook.verify import verify

    if ctx.dry_run:
        return StepResult(ok=True, skipped=True, summary="dry-run: nothing to verify yet")
    report = verify(session(ctx), ctx.target.database, ctx.state["validation"])
    ctx.state["verification"] = report
    for line in report.passed:
        ctx.output(f"ok: {line}")
    if report.problems:
        return StepResult(
            ok=False,
            summary=f"{len(report.problems)} difference(s) from sql/",
            evidence=report.problems,
        )
    # Verified: from here on an interruption keeps these tables instead of dropping them.
    ctx.state["verified_tables"] = ctx.state.pop("created", [])
    return StepResult(ok=True, summary="; ".join(report.headline()))


def step_keep_unverified(ctx: Context) -> StepResult:
    ctx.state["needs_person"] = True
    ctx.output("keeping the unverified schema as asked; check it by hand", level="error")
    return StepResult(ok=True, summary=bring_app_up(ctx))


ACTIONS: dict[str, StepAction] = {
    "preflight": step_preflight,
    "lock": step_lock,
    "backup": step_backup,
    "maintenance": step_maintenance,
    "cache": step_cache,
    "migrate": step_migrate,
    "auto_rollback": step_auto_rollback,
    "verify": step_verify,
    "keep_unverified": step_keep_unverified,
    "restore": step_restore,
    "restore_after_failure": step_restore_after_failure,
}


def on_abort(ctx: Context, reason: str) -> None:
    """Ctrl-C, SIGTERM or a crash in any phase: leave the target verified or as before.

    Tables not yet verified are dropped; once verification has passed they are kept,
    the application restore is finished, and the run counts as done.
    """
    if ctx.state.get("created") and not ctx.dry_run:
        ctx.output(
            f"{reason}: dropping the {len(ctx.state['created'])} table(s) this run created",
            level="warning",
        )
        differences = rollback_created(ctx)
        if differences:
            ctx.state["needs_person"] = True
            ctx.output("schema differs from before: " + "; ".join(differences), level="error")
    if (
        ctx.state.get("verified_tables")
        and not ctx.dry_run
        and ctx.current in ("verification_failed", "restore")
    ):
        ctx.output(f"{reason}: the schema is verified; finishing the application restore")
        step_restore(ctx)
        ctx.state["abort_outcome"] = "success"
        return
    if ctx.state.get("maintenance_on"):
        ctx.output(f"{reason}: bringing the application back up", level="warning")
        bring_app_up(ctx)


def close_sessions(ctx: Context) -> None:
    for key in ("session", "lock_session"):
        if s := ctx.state.pop(key, None):
            s.close()
