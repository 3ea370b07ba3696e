"""Pre-deployment checks: all read-only, all reported together, each with what to do.

A mismatch that would make a CREATE TABLE fail half way through the set is
caught here, before the lock, the backup or maintenance mode.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runbook import backup, journal, migrate
from runbook.config import Config
from runbook.db import PINNED_SETTINGS, DatabaseError, Session, Target
from runbook.laravel import App, probe
from runbook.model import normalize_type

LONG_TRANSACTION_S = 10


@dataclass
class Check:
    name: str
    status: str  # pass | fail | warn
    detail: str
    fix: str = ""


@dataclass
class PreflightReport:
    checks: list[Check] = field(default_factory=list)
    nothing_to_do: bool = False

    @property
    def ok(self) -> bool:
        return all(c.status != "fail" for c in self.checks)

    def add(self, name: str, status: str, detail: str, fix: str = "") -> None:
        self.checks.append(Check(name, status, detail, fix))

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "nothing_to_do": self.nothing_to_do,
            "checks": [vars(c) for c in self.checks],
        }


def run_checks(
    cfg: Config, target: Target, validation: Any, *, own_journal: Path | None = None
) -> PreflightReport:
    report = PreflightReport()
    if not validation.ok:
        errors = [f for f in validation.findings if f.severity == "error"]
        report.add(
            "migration set",
            "fail",
            f"{len(errors)} validation error(s), first: {errors[0].file}:{errors[0].line} "
            f"{errors[0].message}",
            "run `runbook validate` and fix sql/",
        )
    else:
        report.add("migration set", "pass", f"{len(validation.migrations)} migrations validate")
    try:
        s = target.connect(pinned=False)
    except DatabaseError as exc:
        report.add(
            "connectivity",
            "fail",
            str(exc),
            "check [database] in the config, and that the server is running",
        )
        _app_checks(cfg, report)
        return report
    try:
        _server_checks(s, cfg, report)
        _privilege_checks(s, report)
        _parent_checks(s, target.database, validation, report)
        _target_table_checks(s, target.database, validation, report)
        _transaction_checks(s, report)
        _backup_dir_check(s, cfg, target.database, report)
        _lock_check(s, target.database, report)
    finally:
        s.close()
    _journal_check(cfg, target.database, report, own_journal)
    _app_checks(cfg, report)
    return report


def _server_checks(s: Session, cfg: Config, report: PreflightReport) -> None:
    row = s.query(
        "SELECT VERSION() AS version, @@version_comment AS comment, @@sql_mode AS sql_mode, "
        "@@default_storage_engine AS engine, @@explicit_defaults_for_timestamp AS edt, "
        "@@foreign_key_checks AS fkc, @@lower_case_table_names AS lctn, "
        "@@innodb_default_row_format AS row_format"
    )[0]
    flavour = "MariaDB" if "mariadb" in (row["version"] + row["comment"]).lower() else "MySQL"
    report.add("connectivity", "pass", f"{cfg.database.where}: {flavour} {row['version']}")
    major = tuple(int(p) for p in row["version"].split("-")[0].split(".")[:2])
    if (flavour == "MariaDB" and major < (10, 5)) or (flavour == "MySQL" and major < (8, 0)):
        report.add(
            "server version",
            "fail",
            f"{flavour} {row['version']} is older than supported",
            "MariaDB 10.5+ or MySQL 8.0+",
        )
    differs = []
    if "STRICT_TRANS_TABLES" not in row["sql_mode"]:
        differs.append("sql_mode not strict")
    if row["engine"].lower() != "innodb":
        differs.append(f"default engine {row['engine']}")
    if int(row["edt"]) != 1:
        differs.append("explicit_defaults_for_timestamp OFF")
    if int(row["fkc"]) != 1:
        differs.append("foreign_key_checks OFF")
    pinned = ", ".join(f"{k}={v}" for k, v in PINNED_SETTINGS.items() if k != "sql_mode")
    report.add(
        "server settings",
        "pass",
        ("server differs (" + "; ".join(differs) + "), " if differs else "")
        + f"pinned in the runbook's own session: strict sql_mode, {pinned}; "
        f"row format {row['row_format']}",
    )
    if int(row["lctn"]) not in (0, 1, 2):
        report.add("lower_case_table_names", "fail", str(row["lctn"]), "")


_NEEDED = ("SELECT", "INSERT", "DELETE", "CREATE", "DROP", "INDEX", "REFERENCES", "LOCK TABLES")


def _privilege_checks(s: Session, report: PreflightReport) -> None:
    grants = " ".join(next(iter(r.values())) for r in s.query("SHOW GRANTS")).upper()
    if "ALL PRIVILEGES" in grants:
        report.add("privileges", "pass", "ALL PRIVILEGES")
        return
    missing = [p for p in _NEEDED if p not in grants]
    if missing:
        report.add(
            "privileges",
            "fail",
            f"missing {', '.join(missing)}",
            "GRANT them on the target database to the deploying user",
        )
    else:
        report.add("privileges", "pass", ", ".join(_NEEDED))


def _columns(s: Session, database: str, table: str) -> dict[str, dict[str, Any]]:
    rows = s.query(
        "SELECT column_name AS name, column_type AS type, is_nullable AS nullable, "
        "collation_name AS collation, character_set_name AS charset "
        "FROM information_schema.COLUMNS WHERE table_schema = %s AND table_name = %s",
        [database, table],
    )
    return {r["name"]: r for r in rows}


def _unique_keys(s: Session, database: str, table: str) -> list[tuple[str, ...]]:
    rows = s.query(
        "SELECT index_name AS name, column_name AS col FROM information_schema.STATISTICS "
        "WHERE table_schema = %s AND table_name = %s AND non_unique = 0 "
        "ORDER BY index_name, seq_in_index",
        [database, table],
    )
    keys: dict[str, list[str]] = {}
    for r in rows:
        keys.setdefault(r["name"], []).append(r["col"])
    return [tuple(v) for v in keys.values()]


def _parent_checks(s: Session, database: str, validation: Any, report: PreflightReport) -> None:
    expected = validation.expected
    new_tables = set(expected.tables)
    problems: list[str] = []
    parents: set[str] = set()
    for table in expected.tables.values():
        for fk in table.foreign_keys:
            if fk.ref_table in new_tables:
                continue
            parents.add(fk.ref_table)
            live = _columns(s, database, fk.ref_table)
            if not live:
                problems.append(
                    f"{fk.ref_table}: table missing (referenced by {table.name}.{fk.name})"
                )
                continue
            if tuple(fk.ref_columns) not in _unique_keys(s, database, fk.ref_table):
                problems.append(
                    f"{fk.ref_table}({', '.join(fk.ref_columns)}): not a primary or "
                    f"unique key (referenced by {table.name}.{fk.name})"
                )
            for child_col, parent_col in zip(fk.columns, fk.ref_columns, strict=False):
                p = live.get(parent_col)
                c = table.column(child_col)
                if p is None or c is None:
                    problems.append(f"{fk.ref_table}.{parent_col}: column missing")
                    continue
                if normalize_type(p["type"]) != c.type:
                    problems.append(
                        f"{table.name}.{child_col} is {c.type} but "
                        f"{fk.ref_table}.{parent_col} is {normalize_type(p['type'])}"
                    )
                want = table.column_collation(child_col)
                if want and p["collation"] and p["collation"] != want:
                    problems.append(
                        f"{table.name}.{child_col} collation {want} but "
                        f"{fk.ref_table}.{parent_col} is {p['collation']} "
                        "(CREATE TABLE would fail with errno 150)"
                    )
    if problems:
        report.add(
            "parent tables",
            "fail",
            "; ".join(problems),
            "align the parent keys or the migrations before deploying",
        )
    else:
        report.add(
            "parent tables", "pass", f"{len(parents)} parents match: {', '.join(sorted(parents))}"
        )


def _target_table_checks(
    s: Session, database: str, validation: Any, report: PreflightReport
) -> None:
    existing = migrate.existing_tables(s, database)
    if "migrations" not in existing:
        report.add(
            "migrations table",
            "fail",
            "no `migrations` table",
            "this is not the Laravel database; check [database] database",
        )
        return
    done = migrate.recorded(s, database)
    present = []
    problems = []
    for m in validation.migrations:
        table = migrate.table_of(m)
        if table in existing:
            present.append(table)
            if m.name not in done:
                problems.append(f"{table} exists but {m.name} is not recorded in migrations")
        elif m.name in done:
            problems.append(f"{m.name} is recorded but table {table} does not exist")
    if problems:
        report.add(
            "phase 2 tables",
            "fail",
            "; ".join(problems),
            "someone created or dropped these by hand: inspect before deploying",
        )
    elif len(present) == len(validation.migrations):
        from runbook.verify import verify

        result = verify(s, database, validation, behavioural=False)
        if result.problems:
            report.add(
                "phase 2 tables",
                "fail",
                "already applied but different: " + "; ".join(result.problems),
                "compare with sql/ and decide by hand",
            )
        else:
            report.nothing_to_do = True
            report.add("phase 2 tables", "pass", "already applied and identical: nothing to do")
    elif present:
        report.add(
            "phase 2 tables",
            "fail",
            f"partly applied: {', '.join(present)} exist",
            "an earlier run did not finish: `runbook deploy --resume`",
        )
    else:
        report.add("phase 2 tables", "pass", f"none of the {len(validation.migrations)} exist yet")


def _transaction_checks(s: Session, report: PreflightReport) -> None:
    try:
        rows = s.query(
            "SELECT t.trx_mysql_thread_id AS id, p.USER AS user, p.HOST AS host, "
            "TIMESTAMPDIFF(SECOND, t.trx_started, NOW()) AS age, "
            "t.trx_rows_locked AS rows_locked, t.trx_tables_locked AS tables_locked "
            "FROM information_schema.INNODB_TRX t "
            "LEFT JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id "
            "WHERE t.trx_mysql_thread_id <> CONNECTION_ID() ORDER BY t.trx_started"
        )
    except DatabaseError as exc:
        report.add(
            "open transactions",
            "warn",
            f"cannot read INNODB_TRX: {exc}",
            "grant PROCESS to see transactions that would block the DDL",
        )
        return
    # A transaction holding locks blocks the FK's metadata lock on its parent however
    # young it is; an old one is likely to be holding something we cannot see.
    long = [
        r
        for r in rows
        if (r["age"] or 0) >= LONG_TRANSACTION_S or r["rows_locked"] or r["tables_locked"]
    ]
    if long:
        detail = "; ".join(
            f"connection {r['id']} ({r['user']}@{r['host']}) open {r['age']} s, "
            f"{r['rows_locked']} row lock(s)"
            for r in long
        )
        report.add(
            "open transactions",
            "fail",
            detail,
            "creating foreign keys waits on these (metadata locks on the parents); "
            "let them finish or KILL them",
        )
    else:
        report.add(
            "open transactions", "pass", f"{len(rows)} open, none older than {LONG_TRANSACTION_S} s"
        )


def _backup_dir_check(s: Session, cfg: Config, database: str, report: PreflightReport) -> None:
    directory = cfg.backup_dir
    size = backup.estimate_size(s, database)
    if not directory.is_dir():
        report.add(
            "backup directory",
            "fail",
            f"{directory} does not exist",
            f"mkdir -m 700 -p {directory}",
        )
        return
    if not os.access(directory, os.W_OK | os.X_OK):
        report.add(
            "backup directory",
            "fail",
            f"{directory} is not writable by this user",
            f"fix the permissions of {directory}, or set [backup] dir",
        )
        return
    free = shutil.disk_usage(directory).free
    if free < size:
        report.add(
            "backup directory",
            "fail",
            f"{free // 2**20} MiB free, the data is {size // 2**20} MiB",
            "free space or point [backup] dir elsewhere",
        )
        return
    report.add(
        "backup directory",
        "pass",
        f"{directory} writable, {free // 2**20} MiB free for about {max(size // 2**20, 1)} MiB",
    )


def _lock_check(s: Session, database: str, report: PreflightReport) -> None:
    from runbook.steps import lock_holder, lock_name

    name = lock_name(database)
    if s.scalar("SELECT IS_USED_LOCK(%s)", [name]) is not None:
        report.add(
            "lock",
            "fail",
            f"{name} is held by {lock_holder(s, name)}",
            "another run is deploying; wait for it or find out who it is",
        )
    else:
        report.add("lock", "pass", f"{name} is free")


def _journal_check(cfg: Config, database: str, report: PreflightReport, own: Path | None) -> None:
    unfinished = journal.unfinished_deploy(cfg.journal_dir, database, exclude=own)
    if unfinished:
        who = unfinished.started
        report.add(
            "unfinished run",
            "fail",
            f"{unfinished.path.name} started {who.get('ts')} by {who.get('operator')}@"
            f"{who.get('host')} never finished",
            "`runbook deploy --resume` finishes it or returns the target to before",
        )
    else:
        report.add("unfinished run", "pass", "no unfinished deployment in the journal")


def _app_checks(cfg: Config, report: PreflightReport) -> None:
    app = App(cfg.app.path, cfg.app.url)
    if not app.present():
        report.add("laravel app", "fail", f"no artisan in {cfg.app.path}", "set [app] path")
        return
    database, where = app.configured_database()
    if database != cfg.database.database:
        report.add(
            "laravel app",
            "fail",
            f"the app uses database {database!r} ({where}), not {cfg.database.database!r}",
            "php artisan config:clear, or fix the app's .env",
        )
        return
    answer = probe(cfg.app.url)
    if app.in_maintenance():
        report.add(
            "maintenance mode",
            "fail",
            f"the app is in maintenance mode already ({answer.describe()})",
            "an earlier run left it on: `php artisan up`",
        )
    elif answer.status != 200:
        report.add(
            "laravel app",
            "fail",
            f"{cfg.app.url} answers {answer.describe()}",
            "the app must answer 200 before the deployment",
        )
        return
    report.add(
        "laravel app", "pass", f"{cfg.app.path} uses {database}; {cfg.app.url} {answer.describe()}"
    )
