"""``deploy --resume``: finish an interrupted deployment or return the target to before.

The journal says what the dead run started; the server says what really exists.
Only tables the dead run began to create are ever dropped, and only when the
set is not complete and verified.
"""

from __future__ import annotations

from typing import Any

from runbook import exitcodes, journal, migrate
from runbook.config import Config
from runbook.db import Target
from runbook.laravel import App, AppError, wait_for_status


def resume(cfg: Config, console: Any, *, yes: bool) -> int:
    from runbook.validator import validate
    from runbook.verify import verify

    unfinished = journal.unfinished_deploy(cfg.journal_dir, cfg.database.database)
    if unfinished is None:
        console.print("nothing to resume: every deployment in the journal has finished")
        return exitcodes.OK
    jr = journal.Journal.reopen(unfinished.path)
    started = unfinished.started
    console.print(
        f"resuming {unfinished.path.name}: started {started['ts']} by "
        f"{started['operator']}@{started['host']}"
    )
    jr.write("resume_start")
    validation = validate(cfg.sql_dir)
    began = [e["table"] for e in unfinished.events if e["event"] == "migration_start"]
    target = Target(cfg.database)
    s = target.connect()
    code = exitcodes.OK
    try:
        db = cfg.database.database
        existing = migrate.existing_tables(s, db)
        all_tables = [migrate.table_of(m) for m in validation.migrations]
        complete = all(t in existing for t in all_tables)
        report = verify(s, db, validation) if complete else None
        if complete and report is not None and not report.problems:
            outcome = "finished"
            console.print("[green]all tables exist and verify: finishing the deployment[/]")
        else:
            ours = list(dict.fromkeys(began))
            console.print(
                f"the set is incomplete or unverified; dropping what the run created: "
                f"{', '.join(t for t in ours if t in existing) or 'nothing'}"
            )
            migrate.undo(
                s,
                db,
                ours,
                validation.migrations,
                listener=lambda kind, data: jr.write(kind, **data),
            )
            left = [t for t in all_tables if t in migrate.existing_tables(s, db)]
            if left:
                jr.write("output", text=f"tables not created by this run remain: {left}")
            outcome = "rolled_back"
            code = exitcodes.FAILED
        app = App(cfg.app.path, cfg.app.url)
        if app.in_maintenance():
            try:
                app.artisan("up")
            except AppError as exc:
                console.print(f"[red]{exc}[/]")
                code = exitcodes.NEEDS_PERSON
        answer = wait_for_status(cfg.app.url, 200, timeout=15)
        console.print(f"{cfg.app.url}: {answer.describe()}")
        if answer.status != 200:
            code = exitcodes.NEEDS_PERSON
        jr.write(journal.RUN_END, outcome=outcome, exit_code=code, resumed=True)
    finally:
        s.close()
        jr.close()
    return code
