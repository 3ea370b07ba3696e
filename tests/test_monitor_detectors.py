"""Detectors, severity and the performance rule, on log text in the formats the servers write.

The Laravel entries are copied from what the sandbox's Laravel 8 really wrote
(a QueryException with its stack trace, a Log::error with context); the MariaDB
lines from what the sandbox's MariaDB 10.11 really wrote. The tests in
test_monitor.py produce the same lines live; these pin the classification.
"""

from __future__ import annotations

import pytest

from runbook.monitor import baseline as bl
from runbook.monitor import checkpoint as cp
from runbook.monitor.detectors import (
    DOWN_AFTER,
    FLOOD,
    MAJOR,
    MINOR,
    NONE,
    SPECS,
    Detectors,
    assess,
)

FK_ENTRY = """\
[2026-11-26 18:11:16] production.ERROR: SQLSTATE[23000]: Integrity constraint violation: 1452 Cannot add or update a child row: a foreign key constraint fails (`askproai_db`.`appointments`, CONSTRAINT `appointments_company_id_foreign` FOREIGN KEY (`company_id`) REFERENCES `companies` (`id`) ON DELETE CASCADE) (SQL: insert into `appointments` (`company_id`, `customer_id`) values (987654321, 987654321)) {"exception":"[object] (Illuminate\\\\Database\\\\QueryException(code: 23000): SQLSTATE[23000]: Integrity constraint violation: 1452 Cannot add or update a child row: a foreign key constraint fails (`askproai_db`.`appointments`) at /usr/share/php/Illuminate/Database/Connection.php:712)
[stacktrace]
#0 /usr/share/php/Illuminate/Database/Connection.php(672): Illuminate\\\\Database\\\\Connection->runQueryCallback()
#1 /usr/share/php/Illuminate/Database/Connection.php(502): Illuminate\\\\Database\\\\Connection->run()
#2 {main}

[previous exception] [object] (PDOException(code: 23000): SQLSTATE[23000]: Integrity constraint violation: 1452 Cannot add or update a child row: a foreign key constraint fails at /usr/share/php/Illuminate/Database/Connection.php:501)
[stacktrace]
#0 /usr/share/php/Illuminate/Database/Connection.php(501): PDOStatement->execute()
#1 {main}
"""  # noqa: E501
FK_ENTRY += '"} \n'  # Laravel ends the context with a space before the newline

HEALTH_ENTRY = (
    "[2026-11-26 18:11:06] production.ERROR: Health check failed: database unavailable "
    '{"exception":"Illuminate\\\\Database\\\\QueryException","message":"SQLSTATE[HY000] [4151] '
    'Access denied, this account is locked (SQL: select count(*) as aggregate from `companies`)"} '
)

CLEAN_APP = [
    '[2026-11-26 18:00:00] production.INFO: Booking created {"id":42}',
    "[2026-11-26 18:00:01] production.DEBUG: cache hit policy_configurations:7",
    "[2026-11-26 18:00:02] production.WARNING: Slow request 1200 ms /api/bookings",
    "[2026-11-26 18:00:03] local.NOTICE: foreign keys are checked by the database",
]

MARIADB_NOISE = [
    "2026-11-26 18:09:04 0 [Note] InnoDB: Buffer pool(s) load completed at 261126 18:09:04",
    "2026-11-26 18:09:12 16 [Warning] Aborted connection 16 to db: 'askproai_db' user: 'root' "
    "host: 'localhost' (Got an error reading communication packets)",
    "2026-11-26 18:09:20 31 [Warning] Access denied for user 'askproai_user'@'localhost' "
    "(using password: YES)",
    "2026-11-26 18:09:04 0 [Warning] 'user' entry 'root@vm' ignored in --skip-name-resolve mode.",
    "Version: '10.11.19-MariaDB-0+deb12u1'  socket: '/tmp/x/mysqld.sock'  port: 60163  Debian 12",
]


def test_a_laravel_exception_with_its_stack_trace_counts_once() -> None:
    det = Detectors()
    hits = det.app_lines(FK_ENTRY.splitlines())
    assert sorted(h.detector for h in hits) == ["app_error", "constraint_violation"]
    assert det.states["constraint_violation"].count == 1
    assert det.states["app_error"].count == 1
    assert det.states["database_error"].count == 0  # 23000 is the specific kind, not "other"
    assert det.states["app_error"].example.startswith("[2026-11-26 18:11:16] production.ERROR")
    assert assess(det).severity == MAJOR


def test_entries_split_across_polls_still_count_once() -> None:
    det = Detectors()
    lines = FK_ENTRY.splitlines()
    det.app_lines(lines[:2])
    det.app_lines(lines[2:])
    det.app_lines(lines)  # a second, identical entry: counts again
    assert det.states["constraint_violation"].count == 2
    assert det.states["app_error"].count == 2


def test_an_app_log_error_is_minor_and_names_its_sqlstate() -> None:
    det = Detectors()
    hits = det.app_lines([HEALTH_ENTRY])
    assert sorted(h.detector for h in hits) == ["app_error", "database_error"]
    verdict = assess(det)
    assert verdict.severity == MINOR
    assert "minor: Application log ERROR entries: 1" in verdict.reasons
    assert "minor: Other SQLSTATE errors: 1" in verdict.reasons


@pytest.mark.parametrize("level", ["ERROR", "CRITICAL", "ALERT", "EMERGENCY"])
def test_every_bad_laravel_level_counts_in_any_environment(level: str) -> None:
    det = Detectors()
    det.app_lines([f"[2025-10-01T12:00:00.123456+00:00] staging.{level}: boom"])
    assert det.states["app_error"].count == 1


def test_a_clean_app_log_and_server_noise_are_quiet() -> None:
    det = Detectors()
    assert det.app_lines(CLEAN_APP) == []
    assert det.mysql_lines(MARIADB_NOISE) == []
    assert assess(det).severity == NONE
    assert assess(det).reason == "no issues detected"


def test_mysql_error_lines_deadlock_notes_and_mysql8_format() -> None:
    det = Detectors()
    hits = det.mysql_lines(
        [
            "2026-11-26 18:09:22 25 [ERROR] Could not use /proc/x.log for logging (error 2).",
            "2026-11-26 18:09:17 22 [Note] InnoDB: Transactions deadlock detected, dumping "
            "detailed information.",
            "2026-11-26 18:09:17 22 [Note] InnoDB: *** (1) TRANSACTION:",
            "",
            "TRANSACTION 80, ACTIVE 1 sec starting index read",
            "2025-10-01T12:00:00.123456Z 12 [ERROR] [MY-013183] [InnoDB] Assertion failure",
            "251001 12:00:00 [ERROR] mysqld: Table './db/t' is marked as crashed",
        ]
    )
    assert [h.detector for h in hits] == ["mysql_error", "deadlock", "mysql_error", "mysql_error"]
    assert assess(det).severity == MAJOR  # the deadlock


def test_a_server_side_fk_error_counts_as_constraint_violation() -> None:
    det = Detectors()
    det.mysql_lines(
        [
            "2026-11-26 18:09:29 30 [ERROR] Event Scheduler: [root@localhost][askproai_db.ev] "
            "Cannot add or update a child row: a foreign key constraint fails (`askproai_db`."
            "`appointments`, CONSTRAINT `appointments_company_id_foreign` FOREIGN KEY "
            "(`company_id`) REFERENCES `companies` (`id`) ON DELETE CASCADE)",
            "2026-11-26 18:09:29 30 [Note] Event Scheduler: [root@localhost][askproai_db.ev] "
            "At line 1 in askproai_db.ev",
        ]
    )
    assert det.states["constraint_violation"].count == 1
    assert det.states["constraint_violation"].sources == {"mysql_log": 1}
    assert det.states["mysql_error"].count == 1


@pytest.mark.parametrize(
    "line",
    [
        "SQLSTATE[23000]: Integrity constraint violation: 1062 Duplicate entry 'a' for key 'u'",
        "SQLSTATE[23000]: Integrity constraint violation: 1048 Column 'company_id' cannot be null",
        "SQLSTATE[23000]: Integrity constraint violation: 1451 Cannot delete or update a parent "
        "row: a foreign key constraint fails",
        "SQLSTATE[HY000]: General error: 4025 CONSTRAINT `policy_configurations.config` failed "
        "for `askproai_db`.`policy_configurations`",
    ],
)
def test_every_kind_of_constraint_violation_is_major(line: str) -> None:
    det = Detectors()
    det.app_lines([f"[2025-10-01 12:00:00] production.ERROR: {line}"])
    assert det.states["constraint_violation"].count == 1
    assert assess(det).severity == MAJOR


def test_laravel_deadlock_is_major() -> None:
    det = Detectors()
    det.app_lines(
        [
            "[2025-10-01 12:00:00] production.ERROR: SQLSTATE[40001]: Serialization failure: 1213 "
            "Deadlock found when trying to get lock; try restarting transaction"
        ]
    )
    assert det.states["deadlock"].count == 1
    assert det.states["database_error"].count == 0
    assert assess(det).severity == MAJOR


def test_a_few_errors_are_minor_a_flood_is_major() -> None:
    det = Detectors()
    det.app_lines([f"[2025-10-01 12:00:0{i % 10}] production.ERROR: oops {i}" for i in range(3)])
    assert assess(det).severity == MINOR
    det.app_lines(
        [f"[2025-10-01 12:00:0{i % 10}] production.ERROR: oops {i}" for i in range(FLOOD - 3)]
    )
    verdict = assess(det)
    assert verdict.severity == MAJOR
    assert "flood" in verdict.reason


def test_one_failed_probe_is_minor_an_outage_is_major() -> None:
    det = Detectors()
    assert det.probe(200, "HTTP 200", "http://app/") == []
    [blip] = det.probe(503, "HTTP 503", "http://app/")
    assert blip.detector == "app_probe_failed"
    assert assess(det).severity == MINOR
    assert det.probe(200, "HTTP 200", "http://app/") == []
    hits = []
    for _ in range(DOWN_AFTER + 3):
        hits += det.probe(None, "no answer (Connection refused)", "http://app/")
    assert [h.detector for h in hits] == ["app_probe_failed", "app_down"]  # one per outage
    assert assess(det).severity == MAJOR


def test_database_outage_and_resource_episodes() -> None:
    det = Detectors()
    assert det.database(False, "cannot connect") == []
    assert [h.detector for h in det.database(False, "cannot connect")] == ["mysql_down"]
    assert det.database(True, "") == []
    det2 = Detectors()
    assert len(det2.pressure("memory", True, "memory 95 %")) == 1
    assert det2.pressure("memory", True, "memory 96 %") == []  # same episode
    det2.pressure("memory", False, "")
    assert len(det2.pressure("memory", True, "memory 97 %")) == 1
    assert det2.states["resources"].count == 2
    assert assess(det2).severity == MINOR


def test_sustained_cpu_only() -> None:
    det = Detectors()
    hits = []
    for second in range(100):  # one sample a second; the busy run is broken at 20 s
        hits += det.cpu(99.0 if second != 20 else 10.0, 90.0, float(second))
        if second == 19:
            assert hits == []  # 20 s of 99 % is a burst, not an issue
    assert len(hits) == 1  # 21 s .. 51 s: one episode, however long it lasts
    assert "30 s" in hits[0].line


def test_operator_issues_carry_their_severity() -> None:
    det = Detectors()
    det.raise_issue("a customer cannot book", MINOR)
    assert assess(det).severity == MINOR
    det.raise_issue("bookings page is blank for every tenant", MAJOR)
    verdict = assess(det)
    assert verdict.severity == MAJOR
    assert "bookings page is blank" in verdict.reason
    with pytest.raises(ValueError, match="severity"):
        det.raise_issue("x", "catastrophic")


def test_every_detector_has_a_defined_severity() -> None:
    for spec in SPECS.values():
        assert spec.severity in (MINOR, MAJOR), spec.name
    majors = {n for n, s in SPECS.items() if s.severity == MAJOR}
    assert majors == {"constraint_violation", "deadlock", "server_deadlocks", "app_down",
                      "mysql_down"}  # fmt: skip


def test_performance_rule() -> None:
    base = bl.from_samples([10.0, 12.0, 11.0], 1.0, [40.0, 50.0], [5.0], 5.0, "before")
    assert base.app_ms == 11.0 and base.qps == 45.0
    assert bl.judge(base, 30.0, 50.0).normal is True
    slow = bl.judge(base, 11.0 * bl.RESPONSE_FACTOR + bl.RESPONSE_SLACK_MS + 1, 50.0)
    assert slow.normal is False and "SLOWER" in slow.detail
    storm = bl.judge(base, 12.0, 45.0 * bl.QPS_FACTOR + bl.QPS_SLACK + 1)
    assert storm.normal is False and "QUERY STORM" in storm.detail
    stopped = bl.judge(base, 12.0, 1.0)
    assert stopped.normal is False and "QUERIES STOPPED" in stopped.detail
    idle = bl.from_samples([5.0], 1.0, [0.2], [1.0], 1.0, "before")
    assert bl.judge(idle, 6.0, 0.0).normal is True  # an idle baseline cannot "stop"
    assert bl.judge(None, 6.0, 0.0).normal is None


def test_user_reports_are_never_claimed_for_the_operator() -> None:
    unattended = cp.user_reports_check(None, "unattended: --yes")
    assert unattended.status == cp.UNCONFIRMED
    assert "not confirmed (unattended: --yes)" in unattended.detail
    assert cp.user_reports_check("unknown").status == cp.UNCONFIRMED
    assert cp.user_reports_check("none").status == cp.PASS
    assert cp.user_reports_check("major").status == cp.FAIL
    assert cp.ask_user_reports(None, unattended=True) == (None, "unattended: --yes")
    assert cp.USER_REPORTS_QUESTION.safe == "unknown"
    assert [cp.APP_LOGS, cp.CONSTRAINTS, cp.PERFORMANCE, cp.USER_REPORTS] == [
        "No errors in application logs",
        "No database constraint violations",
        "Application performance normal",
        "No user-reported issues",
    ]
