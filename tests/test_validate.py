"""``runbook validate``: every rule, fail-closed parsing, the command, and the schema contract.

Each bad case copies the shipped set and breaks exactly one thing, then asserts that
exactly the expected rule fires, at the expected file and line: a test can only pass
for the right reason.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from runbook.model import normalize_default, normalize_type
from runbook.resources import assets_dir, sql_dir
from runbook.validate_cmd import run
from runbook.validator import RULES, Finding, ValidationResult, validate

NC = "2025_10_01_060100_create_notification_configurations_table"
PC = "2025_10_01_060201_create_policy_configurations_table"
CR = "2025_10_01_060203_create_callback_requests_table"
AM = "2025_10_01_060304_create_appointment_modifications_table"
CE = "2025_10_01_060305_create_callback_escalations_table"
AMS = "2025_10_01_060400_create_appointment_modification_stats_table"


# --- helpers ------------------------------------------------------------------------


@pytest.fixture
def sql(tmp_path: Path) -> Path:
    """A private copy of the shipped migration set, to break one thing in."""
    d = tmp_path / "sql"
    d.mkdir()
    for entry in sql_dir().iterdir():
        if entry.name.endswith(".sql"):
            (d / entry.name).write_text(entry.read_text(encoding="utf-8"), encoding="utf-8")
    return d


def edit(d: Path, file: str, old: str, new: str) -> None:
    path = d / file
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} must occur once in {file}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def line_of(d: Path, file: str, needle: str) -> int:
    lines = (d / file).read_text(encoding="utf-8").splitlines()
    hits = [n for n, text in enumerate(lines, 1) if needle in text]
    assert len(hits) == 1, f"{needle!r} must be on exactly one line of {file}: {hits}"
    return hits[0]


def only(result: ValidationResult, code: str) -> Finding:
    """The single finding of the set; anything else fired means the case is wrong."""
    assert [f.rule for f in result.findings] == [code], result.findings
    return result.findings[0]


def up(name: str) -> str:
    return f"{name}.up.sql"


def down(name: str) -> str:
    return f"{name}.down.sql"


def assert_finding(
    f: Finding, code: str, file: str, line: int | None, table: str | None = None
) -> None:
    assert (f.rule, f.severity, f.file, f.line) == (code, RULES[code].severity, file, line)
    if table is not None:
        assert f.table == table


# --- the shipped set ----------------------------------------------------------------


def test_shipped_set_has_no_findings_at_all() -> None:
    result = validate()
    assert result.findings == []
    assert result.ok


def test_a_pristine_copy_validates_the_same(sql: Path) -> None:
    assert validate(sql).findings == []


# --- the schema contract (schema.md, written out) -------------------------------------

CONTRACT_FKS = {
    # (child table, child column, parent table, parent column, ON DELETE, nullable)
    ("notification_configurations", "company_id", "companies", "id", "CASCADE", False),
    ("policy_configurations", "company_id", "companies", "id", "CASCADE", False),
    ("callback_requests", "company_id", "companies", "id", "CASCADE", False),
    ("appointment_modifications", "company_id", "companies", "id", "CASCADE", False),
    ("callback_escalations", "company_id", "companies", "id", "CASCADE", False),
    ("appointment_modification_stats", "company_id", "companies", "id", "CASCADE", False),
    ("callback_requests", "customer_id", "customers", "id", "CASCADE", True),
    ("appointment_modifications", "customer_id", "customers", "id", "CASCADE", False),
    ("appointment_modifications", "appointment_id", "appointments", "id", "CASCADE", False),
    ("callback_requests", "branch_id", "branches", "id", "CASCADE", False),
    ("callback_requests", "service_id", "services", "id", "SET NULL", True),
    ("callback_requests", "staff_id", "staff", "id", "SET NULL", True),
    ("callback_requests", "assigned_to", "staff", "id", "SET NULL", True),
    ("callback_escalations", "escalated_from", "staff", "id", "SET NULL", True),
    ("callback_escalations", "escalated_to", "staff", "id", "SET NULL", True),
    ("policy_configurations", "overrides_id", "policy_configurations", "id", "SET NULL", True),
    ("callback_escalations", "callback_request_id", "callback_requests", "id", "CASCADE", False),
}

TS = ("created_at", "timestamp", True, None), ("updated_at", "timestamp", True, None)
SOFT = (("deleted_at", "timestamp", True, None),)
KEY = ("id", "bigint unsigned", False, None), ("company_id", "bigint unsigned", False, None)
CONTRACT_COLUMNS: dict[str, tuple[tuple[str, str, bool, str | None], ...]] = {
    "notification_configurations": (
        *KEY,
        ("configurable_type", "varchar(255)", False, None),
        ("configurable_id", "varchar(36)", False, None),
        ("event_type", "varchar(100)", False, None),
        ("channel", "enum('email','sms','whatsapp','push')", False, None),
        ("fallback_channel", "enum('email','sms','whatsapp','push','none')", True, None),
        ("is_enabled", "tinyint(1)", False, "1"),
        ("retry_count", "int unsigned", False, "3"),
        ("retry_delay_minutes", "int unsigned", False, "5"),
        ("template_override", "varchar(255)", True, None),
        ("metadata", "json", True, None),
        *TS,
    ),
    "policy_configurations": (
        *KEY,
        ("configurable_type", "varchar(255)", False, None),
        ("configurable_id", "varchar(36)", False, None),
        ("policy_type", "enum('cancellation','reschedule','recurring')", False, None),
        ("config", "json", False, None),
        ("is_override", "tinyint(1)", False, "0"),
        ("overrides_id", "bigint unsigned", True, None),
        *TS,
        *SOFT,
        ("active_key", "tinyint unsigned", True, None),  # the generated uniqueness marker
    ),
    "callback_requests": (
        *KEY,
        ("customer_id", "bigint unsigned", True, None),
        ("branch_id", "char(36)", False, None),
        ("service_id", "bigint unsigned", True, None),
        ("staff_id", "char(36)", True, None),
        ("phone_number", "varchar(50)", False, None),
        ("customer_name", "varchar(255)", False, None),
        ("preferred_time_window", "json", True, None),
        ("priority", "enum('normal','high','urgent')", False, "normal"),
        (
            "status",
            "enum('pending','assigned','contacted','completed','expired','cancelled')",
            False,
            "pending",
        ),
        ("assigned_to", "char(36)", True, None),
        ("assigned_at", "timestamp", True, None),
        ("contacted_at", "timestamp", True, None),
        ("completed_at", "timestamp", True, None),
        ("expires_at", "timestamp", False, None),
        ("notes", "text", True, None),
        ("metadata", "json", True, None),
        *TS,
        *SOFT,
    ),
    "appointment_modifications": (
        *KEY,
        ("appointment_id", "bigint unsigned", False, None),
        ("customer_id", "bigint unsigned", False, None),
        ("modification_type", "enum('cancel','reschedule')", False, None),
        ("within_policy", "tinyint(1)", False, "1"),
        ("fee_charged", "decimal(10,2)", False, "0.00"),
        ("reason", "text", True, None),
        ("modified_by_type", "varchar(255)", True, None),
        ("modified_by_id", "varchar(36)", True, None),
        ("metadata", "json", True, None),
        *TS,
        *SOFT,
    ),
    "callback_escalations": (
        *KEY,
        ("callback_request_id", "bigint unsigned", False, None),
        (
            "escalation_reason",
            "enum('sla_breach','manual_escalation','multiple_attempts_failed')",
            False,
            None,
        ),
        ("escalated_from", "char(36)", True, None),
        ("escalated_to", "char(36)", True, None),
        # resolved_at before escalated_at: see the rule RB412 and the file's comment.
        ("resolved_at", "timestamp", True, None),
        ("escalated_at", "timestamp", False, None),
        ("resolution_notes", "text", True, None),
        ("metadata", "json", True, None),
        *TS,
    ),
    "appointment_modification_stats": (
        *KEY,
        ("customer_id", "bigint unsigned", False, None),
        (
            "stat_type",
            "enum('cancel_30d','reschedule_30d','cancel_90d','reschedule_90d','violation')",
            False,
            None,
        ),
        ("period_start", "date", False, None),
        ("period_end", "date", False, None),
        ("count", "int unsigned", False, "0"),
        ("calculated_at", "timestamp", False, "CURRENT_TIMESTAMP"),
        ("metadata", "json", True, None),
        *TS,
    ),
}

# schema.md "Indexes" per table, as (columns, unique); PRIMARY (id) everywhere besides.
CONTRACT_INDEXES: dict[str, set[tuple[tuple[str, ...], bool]]] = {
    "notification_configurations": {
        (
            ("company_id", "configurable_type", "configurable_id", "event_type", "channel"),
            True,
        ),
        (("company_id", "event_type", "is_enabled"), False),
        (("configurable_type", "configurable_id"), False),
    },
    "policy_configurations": {
        (
            ("company_id", "configurable_type", "configurable_id", "policy_type", "active_key"),
            True,
        ),
        (("company_id", "policy_type"), False),
        (("overrides_id",), False),
    },
    "callback_requests": {
        (("company_id", "status", "priority", "expires_at"), False),
        (("company_id", "assigned_to", "status"), False),
        (("company_id", "created_at"), False),
        (("customer_id",), False),
        (("branch_id", "status"), False),
        (("service_id",), False),
        (("staff_id",), False),
        (("assigned_to",), False),
    },
    "appointment_modifications": {
        (("company_id", "customer_id", "modification_type", "created_at"), False),
        (("company_id", "within_policy", "modification_type"), False),
        (("appointment_id", "created_at"), False),
        (("customer_id",), False),
        (("modified_by_type", "modified_by_id"), False),
    },
    "callback_escalations": {
        (("company_id", "escalated_at"), False),
        (("company_id", "escalation_reason"), False),
        (("callback_request_id",), False),
        (("escalated_from",), False),
        (("escalated_to", "resolved_at"), False),
    },
    "appointment_modification_stats": {
        (("company_id", "customer_id", "stat_type", "period_start"), True),
        (("company_id", "period_end", "calculated_at"), False),
        (("company_id", "calculated_at", "stat_type"), False),
        (("customer_id", "stat_type"), False),
    },
}


def test_model_totals_come_from_the_parsed_ddl() -> None:
    schema = validate().expected
    assert list(schema.tables) == list(CONTRACT_COLUMNS)  # migration order
    assert schema.fk_count == 17
    assert schema.index_count >= 32
    assert schema.unique_count == 3
    assert schema.summary() == {
        "tables": 6,
        "foreign_keys": 17,
        "indexes": schema.index_count,
        "unique_indexes": 3,
    }


def test_foreign_keys_are_exactly_the_seventeen_of_schema_md() -> None:
    schema = validate().expected
    found = set()
    for t in schema.tables.values():
        for fk in t.foreign_keys:
            assert len(fk.columns) == 1 and len(fk.ref_columns) == 1
            col = t.column(fk.columns[0])
            assert col is not None
            found.add(
                (t.name, col.name, fk.ref_table, fk.ref_columns[0], fk.on_delete, col.nullable)
            )
            assert fk.name == f"{t.name}_{col.name}_foreign"
    assert found == CONTRACT_FKS


def test_company_id_is_bigint_unsigned_not_null_everywhere() -> None:
    for t in validate().expected.tables.values():
        col = t.column("company_id")
        assert col is not None and (col.type, col.nullable) == ("bigint unsigned", False), t.name


def test_columns_match_schema_md() -> None:
    for t in validate().expected.tables.values():
        got = tuple((c.name, c.type, c.nullable, c.default) for c in t.columns)
        assert got == CONTRACT_COLUMNS[t.name], t.name
        assert t.column("id").auto_increment  # type: ignore[union-attr]
        assert (t.engine, t.charset, t.collation) == ("InnoDB", "utf8mb4", "utf8mb4_unicode_ci")


def test_indexes_match_schema_md_and_names_are_deterministic() -> None:
    for t in validate().expected.tables.values():
        assert t.primary_key is not None and t.primary_key.columns == ("id",)
        got = {(i.columns, i.unique) for i in t.indexes if not i.primary}
        assert got == CONTRACT_INDEXES[t.name], t.name
        for i in t.indexes:
            if not i.primary:
                assert i.name.startswith(f"{t.name}_") and len(i.name) <= 64
                assert i.name.endswith("_unique" if i.unique else "_index")


def test_active_key_is_a_stored_generated_column_null_for_deleted_rows() -> None:
    col = validate().expected.tables["policy_configurations"].column("active_key")
    assert col is not None and col.generated is not None and col.generated.stored
    assert "deleted_at" in col.generated.expression and col.nullable


def test_no_timestamp_gets_an_on_update_and_deadlines_have_no_default() -> None:
    tables = validate().expected.tables
    for t in tables.values():
        assert all(c.on_update is None for c in t.columns), t.name
    for table, column in (
        ("callback_requests", "expires_at"),
        ("callback_escalations", "escalated_at"),
    ):
        col = tables[table].column(column)
        assert col is not None and (col.nullable, col.default) == (False, None)


# --- normalisation ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("bigint(20) unsigned", "bigint unsigned"),
        ("BIGINT UNSIGNED", "bigint unsigned"),
        ("int(10) unsigned", "int unsigned"),
        ("int(11)", "int"),
        ("INTEGER", "int"),
        ("tinyint(1)", "tinyint(1)"),
        ("TINYINT(1)", "tinyint(1)"),
        ("tinyint(3) unsigned", "tinyint unsigned"),
        ("tinyint(4)", "tinyint"),
        ("boolean", "tinyint(1)"),
        ("char(36)", "char(36)"),
        ("CHAR", "char(1)"),
        ("varchar(255)", "varchar(255)"),
        ("DECIMAL(10, 2)", "decimal(10,2)"),
        ("decimal", "decimal(10,0)"),
        ("ENUM('a', 'b')", "enum('a','b')"),
        ("enum('a','b')", "enum('a','b')"),
        ("enum('Keep Case, ok','x''y')", "enum('Keep Case, ok','x''y')"),
        ("timestamp", "timestamp"),
        ("TIMESTAMP(0)", "timestamp"),
        ("timestamp(6)", "timestamp(6)"),
        ("date", "date"),
        ("text", "text"),
        ("JSON", "json"),
        ("longtext", "longtext"),
        ("int(10) unsigned zerofill", "int unsigned"),
    ],
)
def test_normalize_type(raw: str, canonical: str) -> None:
    assert normalize_type(raw) == canonical


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        (None, None),
        ("NULL", None),
        ("'normal'", "normal"),  # MariaDB quotes string defaults
        ("normal", "normal"),  # MySQL doesn't
        ("'it''s'", "it's"),
        ("current_timestamp()", "CURRENT_TIMESTAMP"),
        ("CURRENT_TIMESTAMP", "CURRENT_TIMESTAMP"),
        ("now()", "CURRENT_TIMESTAMP"),
        ("0.00", "0.00"),
        ("1", "1"),
    ],
)
def test_normalize_default(raw: str | None, canonical: str | None) -> None:
    assert normalize_default(raw) == canonical


# --- RB0xx: reading and parsing fails closed ------------------------------------------


def test_rb001_garbage_is_a_parse_error_with_its_line(sql: Path) -> None:
    edit(sql, up(NC), "NOT NULL DEFAULT 3,", "NOT NULL DEFAULT 3 4,")
    f = only(validate(sql), "RB001")
    assert_finding(f, "RB001", up(NC), line_of(sql, up(NC), "DEFAULT 3 4"))


def test_rb001_a_missing_comma_in_a_key(sql: Path) -> None:
    edit(sql, up(NC), "(`configurable_type`, `configurable_id`),", "(`configurable_type` `x`),")
    f = only(validate(sql), "RB001")
    assert_finding(f, "RB001", up(NC), line_of(sql, up(NC), "(`configurable_type` `x`)"))


def test_rb002_a_misspelt_create_is_opaque_and_an_error(sql: Path) -> None:
    edit(sql, up(NC), "CREATE TABLE", "CREATE TABEL")
    f = only(validate(sql), "RB002")
    assert_finding(f, "RB002", up(NC), line_of(sql, up(NC), "CREATE TABEL"))


def test_rb001_unterminated_string_points_at_where_it_starts(sql: Path) -> None:
    edit(sql, up(AMS), "DEFAULT 0,", "DEFAULT '0,")
    f = only(validate(sql), "RB001")
    assert_finding(f, "RB001", up(AMS), line_of(sql, up(AMS), "DEFAULT '0,"))
    assert "unterminated" in f.message


def test_rb001_a_stray_comma_sqlglot_would_accept_is_still_an_error(sql: Path) -> None:
    edit(sql, up(AMS), "  PRIMARY KEY (`id`),", "  PRIMARY KEY (`id`),,")
    f = only(validate(sql), "RB001")
    assert_finding(f, "RB001", up(AMS), line_of(sql, up(AMS), "PRIMARY KEY"))


def test_rb001_a_column_without_a_type(sql: Path) -> None:
    # sqlglot reads a lone UNSIGNED as BIGINT UNSIGNED; the server wants a type.
    edit(sql, up(AMS), "`count` int unsigned NOT NULL", "`count` unsigned NOT NULL")
    f = only(validate(sql), "RB001")
    assert_finding(f, "RB001", up(AMS), line_of(sql, up(AMS), "`count` unsigned"))


def test_rb001_a_reserved_word_as_a_bare_name(sql: Path) -> None:
    edit(sql, up(AMS), "  `metadata` json NULL", "  order int NULL,\n  `metadata` json NULL")
    f = only(validate(sql), "RB001")
    assert_finding(f, "RB001", up(AMS), line_of(sql, up(AMS), "order int"))
    assert "reserved" in f.message


def test_rb001_a_foreign_key_clause_sqlglot_kept_as_free_text(sql: Path) -> None:
    edit(sql, up(AMS), "ON DELETE CASCADE", "ON DELETE CASCADE ON DELETE RESTRICT")
    f = only(validate(sql), "RB001")
    assert_finding(f, "RB001", up(AMS), line_of(sql, up(AMS), "FOREIGN KEY"))


def test_rb002_a_table_option_the_model_does_not_know(sql: Path) -> None:
    edit(
        sql,
        up(AMS),
        "COLLATE=utf8mb4_unicode_ci;",
        "COLLATE=utf8mb4_unicode_ci\n  PAGE_COMPRESSED=1;",
    )
    f = only(validate(sql), "RB002")
    assert_finding(f, "RB002", up(AMS), line_of(sql, up(AMS), "PAGE_COMPRESSED"))


def test_rb002_create_trigger_is_opaque_and_an_error(sql: Path) -> None:
    trigger = "CREATE TRIGGER t BEFORE INSERT ON callback_escalations FOR EACH ROW SET NEW.id = 1;"
    (sql / up(CE)).write_text((sql / up(CE)).read_text() + trigger + "\n")
    f = only(validate(sql), "RB002")
    assert_finding(f, "RB002", up(CE), line_of(sql, up(CE), "CREATE TRIGGER"))


def test_rb002_rename_table_is_opaque_and_an_error(sql: Path) -> None:
    (sql / down(AM)).write_text(
        "RENAME TABLE `appointment_modifications` TO `am_old`;\n"
        "DROP TABLE `appointment_modifications`;\n"
    )
    f = only(validate(sql), "RB002")
    assert_finding(f, "RB002", down(AM), 1, "appointment_modifications")


def test_opaque_statements_leave_no_noise_on_stderr(sql: Path) -> None:
    (sql / down(AM)).write_text("RENAME TABLE a TO b;\nDROP TABLE `appointment_modifications`;\n")
    code = "import sys; from runbook.validate_cmd import run; sys.exit(run(sys.argv[1], True))"
    out = subprocess.run(
        [sys.executable, "-c", code, str(sql)], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 1
    assert out.stderr == ""
    assert [f["rule"] for f in json.loads(out.stdout)["findings"]] == ["RB002"]


def test_rb003_no_baseline_falls_back_to_the_shipped_one(sql: Path) -> None:
    (sql / "baseline.sql").unlink()
    result = validate(sql)
    assert_finding(only(result, "RB003"), "RB003", "baseline.sql", None)
    assert result.ok  # a warning
    assert "companies" in result.baseline.tables


def test_a_broken_baseline_is_an_error(sql: Path) -> None:
    edit(sql, "baseline.sql", "CREATE TABLE `staff` (", "CREATE TABLE `staff` ((")
    result = validate(sql)
    assert not result.ok
    assert any(f.rule == "RB001" and f.file == "baseline.sql" for f in result.findings)


# --- RB1xx: structure -----------------------------------------------------------------


def test_rb101_missing_down_file(sql: Path) -> None:
    (sql / down(CE)).unlink()
    assert_finding(only(validate(sql), "RB101"), "RB101", down(CE), None)


def test_rb101_missing_up_file(sql: Path) -> None:
    (sql / up(AMS)).unlink()
    assert_finding(only(validate(sql), "RB101"), "RB101", up(AMS), None)


def test_rb102_an_extra_statement_in_an_up_file(sql: Path) -> None:
    (sql / up(AMS)).write_text(
        (sql / up(AMS)).read_text()
        + "INSERT INTO `appointment_modification_stats` (id) VALUES (1);\n"
    )
    f = only(validate(sql), "RB102")
    assert_finding(f, "RB102", up(AMS), line_of(sql, up(AMS), "INSERT INTO"))


def test_rb102_two_create_tables_in_one_up_file(sql: Path) -> None:
    extra = "CREATE TABLE `b` (`id` int NOT NULL, PRIMARY KEY (`id`)) ENGINE=InnoDB;\n"
    (sql / up(AMS)).write_text((sql / up(AMS)).read_text() + extra)
    f = only(validate(sql), "RB102")
    assert_finding(f, "RB102", up(AMS), line_of(sql, up(AMS), "CREATE TABLE `b`"))


def test_rb102_create_table_like(sql: Path) -> None:
    (sql / up(AMS)).write_text(
        "CREATE TABLE `appointment_modification_stats` LIKE `appointments`;\n"
    )
    assert_finding(only(validate(sql), "RB102"), "RB102", up(AMS), 1)


def test_rb102_an_empty_up_file(sql: Path) -> None:
    (sql / up(AMS)).write_text("-- nothing here\n")
    assert_finding(only(validate(sql), "RB102"), "RB102", up(AMS), None)


def test_rb103_a_down_file_that_drops_twice(sql: Path) -> None:
    (sql / down(CE)).write_text(
        "DROP TABLE `callback_escalations`;\nDROP TABLE `callback_escalations`;\n"
    )
    assert_finding(only(validate(sql), "RB103"), "RB103", down(CE), 2)


def test_rb103_a_down_file_that_drops_nothing(sql: Path) -> None:
    (sql / down(CE)).write_text("-- forgot\n")
    assert_finding(only(validate(sql), "RB103"), "RB103", down(CE), None)


def test_rb103_a_down_file_with_another_statement(sql: Path) -> None:
    (sql / down(CE)).write_text(
        "DELETE FROM `callback_escalations`;\nDROP TABLE `callback_escalations`;\n"
    )
    assert_finding(only(validate(sql), "RB103"), "RB103", down(CE), 1)


def test_rb104_a_down_file_that_drops_a_parent_too(sql: Path) -> None:
    (sql / down(CE)).write_text("DROP TABLE `callback_escalations`;\nDROP TABLE `companies`;\n")
    f = only(validate(sql), "RB104")
    assert_finding(f, "RB104", down(CE), 2, "callback_escalations")
    assert "companies" in f.message


def test_rb104_one_drop_naming_two_tables(sql: Path) -> None:
    (sql / down(CE)).write_text("DROP TABLE `callback_escalations`, `callback_requests`;\n")
    assert_finding(only(validate(sql), "RB104"), "RB104", down(CE), 1)


def test_rb104_truncate_of_another_table_in_an_up_file(sql: Path) -> None:
    (sql / up(AMS)).write_text("TRUNCATE TABLE `customers`;\n" + (sql / up(AMS)).read_text())
    assert_finding(only(validate(sql), "RB104"), "RB104", up(AMS), 1)


def test_rb104_alter_of_a_parent_in_an_up_file(sql: Path) -> None:
    (sql / up(AMS)).write_text(
        (sql / up(AMS)).read_text() + "ALTER TABLE `customers` ADD COLUMN `x` int;\n"
    )
    f = only(validate(sql), "RB104")
    assert_finding(f, "RB104", up(AMS), line_of(sql, up(AMS), "ALTER TABLE"))


def test_rb104_alter_rename_of_its_own_table(sql: Path) -> None:
    (sql / down(CE)).write_text(
        "ALTER TABLE `callback_escalations` RENAME TO `ce_old`;\n"
        "DROP TABLE `callback_escalations`;\n"
    )
    assert_finding(only(validate(sql), "RB104"), "RB104", down(CE), 1)


def test_rb104_drop_database(sql: Path) -> None:
    (sql / down(CE)).write_text(
        "DROP TABLE `callback_escalations`;\nDROP DATABASE `askproai_db`;\n"
    )
    assert_finding(only(validate(sql), "RB104"), "RB104", down(CE), 2)


def test_rb105_transaction_control_around_the_create(sql: Path) -> None:
    (sql / up(AMS)).write_text("START TRANSACTION;\n" + (sql / up(AMS)).read_text() + "COMMIT;\n")
    result = validate(sql)
    assert [f.rule for f in result.findings] == ["RB105", "RB105"]
    assert_finding(result.findings[0], "RB105", up(AMS), 1)
    assert_finding(result.findings[1], "RB105", up(AMS), line_of(sql, up(AMS), "COMMIT"))


@pytest.mark.parametrize("stmt", ["BEGIN", "ROLLBACK", "SET autocommit = 0"])
def test_rb105_other_transaction_control_in_a_down_file(sql: Path, stmt: str) -> None:
    (sql / down(CE)).write_text(f"{stmt};\nDROP TABLE `callback_escalations`;\n")
    assert_finding(only(validate(sql), "RB105"), "RB105", down(CE), 1)


def test_rb106_if_not_exists(sql: Path) -> None:
    edit(sql, up(AMS), "CREATE TABLE `app", "CREATE TABLE IF NOT EXISTS `app")
    f = only(validate(sql), "RB106")
    assert_finding(f, "RB106", up(AMS), line_of(sql, up(AMS), "CREATE TABLE"))


def test_rb107_drop_if_exists_in_a_down_file(sql: Path) -> None:
    (sql / down(CE)).write_text("\nDROP TABLE IF EXISTS `callback_escalations`;\n")
    f = only(validate(sql), "RB107")
    assert_finding(f, "RB107", down(CE), 2)
    assert f.severity == "warning"


def test_rb108_two_migrations_create_the_same_table(sql: Path) -> None:
    again = "2025_10_02_000000_create_notification_configurations_table"
    shutil.copy(sql / up(NC), sql / up(again))
    shutil.copy(sql / down(NC), sql / down(again))
    f = only(validate(sql), "RB108")
    assert_finding(f, "RB108", up(again), line_of(sql, up(again), "CREATE TABLE"))
    assert NC in f.message


def test_rb108_a_migration_creates_a_baseline_table(sql: Path) -> None:
    name = "2025_10_02_000000_create_staff_table"
    (sql / up(name)).write_text(
        "CREATE TABLE `staff` (\n  `id` char(36) NOT NULL,\n  PRIMARY KEY (`id`)\n"
        ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;\n"
    )
    (sql / down(name)).write_text("DROP TABLE `staff`;\n")
    assert_finding(only(validate(sql), "RB108"), "RB108", up(name), 1)


def test_rb109_migration_name_does_not_match_the_table(sql: Path) -> None:
    wrong = "2025_10_01_060400_create_modification_stats_table"
    (sql / up(AMS)).rename(sql / up(wrong))
    (sql / down(AMS)).rename(sql / down(wrong))
    f = only(validate(sql), "RB109")
    assert_finding(f, "RB109", up(wrong), line_of(sql, up(wrong), "CREATE TABLE"))


def test_rb109_migration_name_without_a_timestamp(sql: Path) -> None:
    wrong = "create_appointment_modification_stats_table"
    (sql / up(AMS)).rename(sql / up(wrong))
    (sql / down(AMS)).rename(sql / down(wrong))
    f = only(validate(sql), "RB109")
    assert_finding(f, "RB109", up(wrong), line_of(sql, up(wrong), "CREATE TABLE"))


def test_rb110_a_stray_sql_file(sql: Path) -> None:
    (sql / f"{AMS}.sql").write_text("SELECT 1;\n")
    result = validate(sql)
    assert_finding(only(result, "RB110"), "RB110", f"{AMS}.sql", None)
    assert result.ok


# --- RB2xx: tenancy -----------------------------------------------------------------


def test_rb201_company_id_nullable(sql: Path) -> None:
    edit(sql, up(CE), "`company_id` bigint unsigned NOT NULL", "`company_id` bigint unsigned NULL")
    f = only(validate(sql), "RB201")
    assert_finding(f, "RB201", up(CE), line_of(sql, up(CE), "`company_id` bigint"))


def test_rb201_company_id_missing(sql: Path) -> None:
    (sql / up(NC)).write_text(
        "CREATE TABLE `notification_configurations` (\n"
        "  `id` bigint unsigned NOT NULL AUTO_INCREMENT,\n"
        "  PRIMARY KEY (`id`)\n"
        ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;\n"
    )
    result = validate(sql)
    assert [f.rule for f in result.findings] == ["RB201", "RB202"]
    assert_finding(result.findings[0], "RB201", up(NC), 1)


def test_rb202_company_fk_not_cascade(sql: Path) -> None:
    edit(
        sql,
        up(AMS),
        "REFERENCES `companies` (`id`) ON DELETE CASCADE",
        "REFERENCES `companies` (`id`) ON DELETE RESTRICT",
    )
    f = only(validate(sql), "RB202")
    assert_finding(f, "RB202", up(AMS), line_of(sql, up(AMS), "FOREIGN KEY (`company_id`)"))


def test_rb202_company_fk_missing(sql: Path) -> None:
    edit(
        sql,
        up(AMS),
        ",\n  CONSTRAINT `appointment_modification_stats_company_id_foreign` FOREIGN KEY "
        "(`company_id`) REFERENCES `companies` (`id`) ON DELETE CASCADE",
        "",
    )
    f = only(validate(sql), "RB202")
    assert_finding(f, "RB202", up(AMS), line_of(sql, up(AMS), "`company_id` bigint"))


# --- RB3xx: foreign keys --------------------------------------------------------------


def test_rb301_inline_references(sql: Path) -> None:
    edit(
        sql,
        up(AMS),
        "`customer_id` bigint unsigned NOT NULL,",
        "`customer_id` bigint unsigned NOT NULL REFERENCES `customers` (`id`),",
    )
    f = only(validate(sql), "RB301")
    assert_finding(f, "RB301", up(AMS), line_of(sql, up(AMS), "REFERENCES `customers`"))


def test_rb302_set_null_on_a_not_null_column(sql: Path) -> None:
    edit(
        sql,
        up(CR),
        "`service_id` bigint unsigned NULL DEFAULT NULL",
        "`service_id` bigint unsigned NOT NULL",
    )
    f = only(validate(sql), "RB302")
    assert_finding(f, "RB302", up(CR), line_of(sql, up(CR), "FOREIGN KEY (`service_id`)"))


def test_rb303_set_default(sql: Path) -> None:
    edit(
        sql,
        up(CE),
        "REFERENCES `staff` (`id`) ON DELETE SET NULL,",
        "REFERENCES `staff` (`id`) ON DELETE SET DEFAULT,",
    )
    f = only(validate(sql), "RB303")
    assert_finding(f, "RB303", up(CE), line_of(sql, up(CE), "FOREIGN KEY (`escalated_from`)"))


def test_rb304_fk_column_without_a_leading_index(sql: Path) -> None:
    edit(sql, up(CE), "  KEY `callback_escalations_escalated_from_index` (`escalated_from`),\n", "")
    f = only(validate(sql), "RB304")
    assert_finding(f, "RB304", up(CE), line_of(sql, up(CE), "FOREIGN KEY (`escalated_from`)"))


def test_rb304_an_index_where_the_fk_column_is_not_leftmost(sql: Path) -> None:
    edit(
        sql,
        up(CE),
        "(`escalated_to`, `resolved_at`)",
        "(`resolved_at`, `escalated_to`)",
    )
    f = only(validate(sql), "RB304")
    assert_finding(f, "RB304", up(CE), line_of(sql, up(CE), "FOREIGN KEY (`escalated_to`)"))


def test_rb305_unknown_parent(sql: Path) -> None:
    edit(sql, up(CR), "REFERENCES `services` (`id`)", "REFERENCES `service` (`id`)")
    f = only(validate(sql), "RB305")
    assert_finding(f, "RB305", up(CR), line_of(sql, up(CR), "FOREIGN KEY (`service_id`)"))


def test_rb305_parent_created_by_a_later_migration(sql: Path) -> None:
    edit(
        sql,
        up(PC),
        "REFERENCES `policy_configurations` (`id`)",
        "REFERENCES `callback_requests` (`id`)",
    )
    f = only(validate(sql), "RB305")
    assert_finding(f, "RB305", up(PC), line_of(sql, up(PC), "FOREIGN KEY (`overrides_id`)"))
    assert CR in f.message and "reorder" in f.message


def test_fk_to_an_earlier_migration_and_self_reference_pass(sql: Path) -> None:
    # callback_escalations → callback_requests (earlier) and policy_configurations →
    # itself are in the shipped set; checked here on the copy for the record.
    result = validate(sql)
    assert result.ok and result.findings == []


def test_rb306_fk_type_mismatch(sql: Path) -> None:
    edit(sql, up(CR), "`service_id` bigint unsigned NULL", "`service_id` int unsigned NULL")
    f = only(validate(sql), "RB306")
    assert_finding(f, "RB306", up(CR), line_of(sql, up(CR), "`service_id` int"))


def test_rb306_fk_signedness_mismatch(sql: Path) -> None:
    edit(sql, up(CE), "`callback_request_id` bigint unsigned", "`callback_request_id` bigint")
    f = only(validate(sql), "RB306")
    assert_finding(f, "RB306", up(CE), line_of(sql, up(CE), "`callback_request_id` bigint"))


def test_rb307_char36_with_another_collation(sql: Path) -> None:
    edit(sql, up(CR), "`staff_id` char(36) NULL", "`staff_id` char(36) COLLATE utf8mb4_bin NULL")
    f = only(validate(sql), "RB307")
    assert_finding(f, "RB307", up(CR), line_of(sql, up(CR), "`staff_id` char(36)"))
    assert "errno 150" in f.message


def test_rb307_charset_without_collate_takes_the_server_default(sql: Path) -> None:
    edit(
        sql,
        up(CR),
        "`branch_id` char(36) NOT NULL",
        "`branch_id` char(36) CHARACTER SET latin1 NOT NULL",
    )
    f = only(validate(sql), "RB307")
    assert_finding(f, "RB307", up(CR), line_of(sql, up(CR), "`branch_id` char(36)"))


def test_rb307_charset_of_the_table_without_collate_is_still_the_server_default(
    sql: Path,
) -> None:
    # Measured on MariaDB 10.11: this column gets utf8mb4_general_ci, and the CREATE
    # fails with errno 150 against staff.id (utf8mb4_unicode_ci).
    edit(
        sql,
        up(CE),
        "`escalated_to` char(36) NULL",
        "`escalated_to` char(36) CHARACTER SET utf8mb4 NULL",
    )
    f = only(validate(sql), "RB307")
    assert_finding(f, "RB307", up(CE), line_of(sql, up(CE), "`escalated_to` char(36)"))
    assert "server default" in f.message


def test_rb308_parent_column_not_unique(sql: Path) -> None:
    edit(
        sql,
        up(CE),
        "FOREIGN KEY (`escalated_from`) REFERENCES `staff` (`id`)",
        "FOREIGN KEY (`escalated_from`) REFERENCES `staff` (`branch_id`)",
    )
    f = only(validate(sql), "RB308")
    assert_finding(f, "RB308", up(CE), line_of(sql, up(CE), "FOREIGN KEY (`escalated_from`)"))


def test_rb309_parent_column_that_does_not_exist(sql: Path) -> None:
    edit(
        sql,
        up(CE),
        "FOREIGN KEY (`escalated_from`) REFERENCES `staff` (`id`)",
        "FOREIGN KEY (`escalated_from`) REFERENCES `staff` (`uuid`)",
    )
    f = only(validate(sql), "RB309")
    assert_finding(f, "RB309", up(CE), line_of(sql, up(CE), "FOREIGN KEY (`escalated_from`)"))


def test_rb309_column_count_mismatch(sql: Path) -> None:
    edit(
        sql,
        up(CE),
        "FOREIGN KEY (`escalated_from`) REFERENCES `staff` (`id`)",
        "FOREIGN KEY (`escalated_from`) REFERENCES `staff` (`id`, `company_id`)",
    )
    assert_finding(
        only(validate(sql), "RB309"),
        "RB309",
        up(CE),
        line_of(sql, up(CE), "FOREIGN KEY (`escalated_from`)"),
    )


# --- RB4xx: keys, types and names -----------------------------------------------------


def test_rb401_no_primary_key(sql: Path) -> None:
    edit(sql, up(AMS), "  PRIMARY KEY (`id`),\n", "")
    result = validate(sql)
    # The AUTO_INCREMENT id then leads no key either: the server's own complaint (1075).
    assert [f.rule for f in result.findings] == ["RB401", "RB413"]
    assert_finding(result.findings[0], "RB401", up(AMS), line_of(sql, up(AMS), "CREATE TABLE"))


def test_rb402_myisam(sql: Path) -> None:
    edit(sql, up(AMS), "ENGINE=InnoDB", "ENGINE=MyISAM")
    assert_finding(
        only(validate(sql), "RB402"), "RB402", up(AMS), line_of(sql, up(AMS), "ENGINE=MyISAM")
    )


def test_rb402_engine_not_set(sql: Path) -> None:
    edit(sql, up(AMS), "ENGINE=InnoDB ", "")
    assert_finding(
        only(validate(sql), "RB402"), "RB402", up(AMS), line_of(sql, up(AMS), "DEFAULT CHARSET")
    )


def test_rb403_other_collation(sql: Path) -> None:
    edit(sql, up(AMS), "COLLATE=utf8mb4_unicode_ci", "COLLATE=utf8mb4_general_ci")
    assert_finding(
        only(validate(sql), "RB403"), "RB403", up(AMS), line_of(sql, up(AMS), "ENGINE=InnoDB")
    )


def test_rb404_identifier_longer_than_64(sql: Path) -> None:
    long = "appointment_modification_stats_customer_id_stat_type_lookup_index"
    assert len(long) > 64
    edit(sql, up(AMS), "appointment_modification_stats_customer_id_stat_type_index", long)
    assert_finding(only(validate(sql), "RB404"), "RB404", up(AMS), line_of(sql, up(AMS), long))


def test_rb405_index_on_an_unknown_column(sql: Path) -> None:
    edit(sql, up(AMS), "(`customer_id`, `stat_type`)", "(`customer_id`, `stat_kind`)")
    assert_finding(
        only(validate(sql), "RB405"), "RB405", up(AMS), line_of(sql, up(AMS), "`stat_kind`")
    )


def test_rb406_fk_name_already_used_by_another_table(sql: Path) -> None:
    edit(
        sql,
        up(AMS),
        "`appointment_modification_stats_company_id_foreign`",
        "`callback_requests_company_id_foreign`",
    )
    f = only(validate(sql), "RB406")
    assert_finding(f, "RB406", up(AMS), line_of(sql, up(AMS), "callback_requests_company_id"))
    assert "errno 121" in f.message


def test_rb406_column_declared_twice(sql: Path) -> None:
    edit(sql, up(AMS), "  `metadata` json NULL", "  `count` int NULL,\n  `metadata` json NULL")
    assert_finding(
        only(validate(sql), "RB406"), "RB406", up(AMS), line_of(sql, up(AMS), "`count` int NULL")
    )


def test_rb407_unnamed_index(sql: Path) -> None:
    edit(
        sql,
        up(CE),
        "KEY `callback_escalations_escalated_from_index` (`escalated_from`)",
        "KEY (`escalated_from`)",
    )
    assert_finding(
        only(validate(sql), "RB407"),
        "RB407",
        up(CE),
        line_of(sql, up(CE), "  KEY (`escalated_from`)"),
    )


def test_rb407_unnamed_foreign_key(sql: Path) -> None:
    edit(sql, up(CE), "CONSTRAINT `callback_escalations_escalated_to_foreign` ", "")
    assert_finding(
        only(validate(sql), "RB407"),
        "RB407",
        up(CE),
        line_of(sql, up(CE), "FOREIGN KEY (`escalated_to`)"),
    )


def test_rb408_duplicate_index(sql: Path) -> None:
    edit(
        sql,
        up(AMS),
        "  CONSTRAINT",
        "  KEY `ams_again` (`company_id`, `period_end`, `calculated_at`),\n  CONSTRAINT",
    )
    f = only(validate(sql), "RB408")
    assert_finding(f, "RB408", up(AMS), line_of(sql, up(AMS), "ams_again"))
    assert f.severity == "warning"


def test_rb408_plain_index_beside_a_unique_one(sql: Path) -> None:
    edit(
        sql,
        up(AMS),
        "  PRIMARY KEY (`id`),\n",
        "  PRIMARY KEY (`id`),\n"
        "  KEY `ams_plain` (`company_id`, `customer_id`, `stat_type`, `period_start`),\n",
    )
    assert_finding(
        only(validate(sql), "RB408"), "RB408", up(AMS), line_of(sql, up(AMS), "ams_plain")
    )


def test_rb409_left_prefix_index_even_when_it_serves_an_fk(sql: Path) -> None:
    edit(
        sql,
        up(AMS),
        "  PRIMARY KEY (`id`),\n",
        "  PRIMARY KEY (`id`),\n  KEY `ams_company_id_index` (`company_id`),\n",
    )
    f = only(validate(sql), "RB409")
    assert_finding(f, "RB409", up(AMS), line_of(sql, up(AMS), "ams_company_id_index"))
    assert f.severity == "warning"


def test_rb409_a_unique_prefix_is_not_redundant(sql: Path) -> None:
    edit(
        sql,
        up(AMS),
        "  PRIMARY KEY (`id`),\n",
        "  PRIMARY KEY (`id`),\n  UNIQUE KEY `ams_period_unique` (`company_id`, `period_end`),\n",
    )
    assert validate(sql).findings == []


def test_rb410_unique_key_over_deleted_at(sql: Path) -> None:
    edit(sql, up(PC), "`policy_type`, `active_key`)", "`policy_type`, `deleted_at`)")
    f = only(validate(sql), "RB410")
    assert_finding(f, "RB410", up(PC), line_of(sql, up(PC), "UNIQUE KEY"))
    assert "generated" in f.message


def test_rb410_the_generated_column_pattern_is_not_warned() -> None:
    # policy_configurations' unique key holds the nullable generated active_key.
    t = validate().expected.tables["policy_configurations"]
    unique = next(i for i in t.indexes if i.unique and not i.primary)
    assert "active_key" in unique.columns
    assert validate().findings == []


def test_rb411_literal_default_on_json(sql: Path) -> None:
    edit(sql, up(AMS), "`metadata` json NULL DEFAULT NULL", "`metadata` json NULL DEFAULT '{}'")
    f = only(validate(sql), "RB411")
    assert_finding(f, "RB411", up(AMS), line_of(sql, up(AMS), "`metadata` json"))


def test_rb411_expression_default_on_json_passes(sql: Path) -> None:
    edit(sql, up(AMS), "`metadata` json NULL DEFAULT NULL", "`metadata` json NULL DEFAULT ('{}')")
    assert validate(sql).findings == []


def test_rb412_first_timestamp_not_null_without_default(sql: Path) -> None:
    # schema.md's order (escalated_at before resolved_at) is exactly the hazard.
    edit(sql, up(CE), "  `resolved_at` timestamp NULL DEFAULT NULL,\n", "")
    edit(
        sql,
        up(CE),
        "  `escalated_at` timestamp NOT NULL,\n",
        "  `escalated_at` timestamp NOT NULL,\n  `resolved_at` timestamp NULL DEFAULT NULL,\n",
    )
    f = only(validate(sql), "RB412")
    assert_finding(f, "RB412", up(CE), line_of(sql, up(CE), "`escalated_at` timestamp"))
    assert "explicit_defaults_for_timestamp" in f.message


@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        # AUTO_INCREMENT on a string column (error 1063)
        (
            "`phone_number` varchar(50) NOT NULL",
            "`phone_number` varchar(50) NOT NULL AUTO_INCREMENT",
            "`phone_number`",
        ),
        # ON UPDATE on a text column (error 1294)
        (
            "`notes` text NULL DEFAULT NULL",
            "`notes` text NULL DEFAULT NULL ON UPDATE CURRENT_TIMESTAMP",
            "`notes` text",
        ),
        # NOT NULL with DEFAULT NULL (error 1067)
        (
            "`phone_number` varchar(50) NOT NULL",
            "`phone_number` varchar(50) NOT NULL DEFAULT NULL",
            "`phone_number`",
        ),
        # a generated column with a DEFAULT
        (
            "`notes` text NULL DEFAULT NULL",
            "`notes` text AS (`phone_number`) DEFAULT NULL",
            "`notes` text",
        ),
    ],
)
def test_rb413_column_attributes_the_server_rejects(
    sql: Path, old: str, new: str, needle: str
) -> None:
    edit(sql, up(CR), old, new)
    f = only(validate(sql), "RB413")
    assert_finding(f, "RB413", up(CR), line_of(sql, up(CR), needle))


def test_rb413_auto_increment_column_that_leads_no_key(sql: Path) -> None:
    edit(sql, up(AMS), "  PRIMARY KEY (`id`),\n", "  PRIMARY KEY (`company_id`, `id`),\n")
    result = validate(sql)
    f = next(f for f in result.findings if f.rule == "RB413")
    assert_finding(f, "RB413", up(AMS), line_of(sql, up(AMS), "`id` bigint"))


def test_every_rule_has_a_test_here() -> None:
    source = Path(__file__).read_text(encoding="utf-8")
    for code in RULES:
        assert f"test_{code.lower()}_" in source, code


# --- the command ----------------------------------------------------------------------


def test_run_exit_0_on_the_shipped_set(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(None, False) == 0
    out = capsys.readouterr().out
    assert "6 tables, 17 foreign keys" in out and "3 unique" in out


def test_run_exit_0_with_warnings_only(sql: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (sql / "stray.sql").write_text("SELECT 1;")
    assert run(sql, False) == 0
    assert "RB110" in capsys.readouterr().out


def test_run_exit_1_with_an_error(sql: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(sql, up(AMS), "ENGINE=InnoDB", "ENGINE=MyISAM")
    assert run(sql, False) == 1
    out = capsys.readouterr().out
    assert "RB402" in out and f"{up(AMS)}:" in out


def test_run_exit_2_when_the_directory_does_not_exist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(tmp_path / "missing", False) == 2
    assert "missing" in capsys.readouterr().err
    assert run(tmp_path / "missing", True) == 2
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is False and "missing" in doc["error"]


def test_json_output_shape(sql: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(sql, up(AMS), "ENGINE=InnoDB", "ENGINE=MyISAM")
    assert run(sql, True) == 1
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) == {"ok", "sql_dir", "summary", "findings"}
    assert doc["ok"] is False
    assert doc["summary"] == {
        "migrations": 6,
        "tables": 6,
        "foreign_keys": 17,
        "indexes": 34,
        "unique_indexes": 3,
        "errors": 1,
        "warnings": 0,
    }
    (finding,) = doc["findings"]
    assert finding == {
        "rule": "RB402",
        "name": "engine",
        "severity": "error",
        "file": up(AMS),
        "line": line_of(sql, up(AMS), "ENGINE=MyISAM"),
        "table": "appointment_modification_stats",
        "message": finding["message"],
    }


def test_json_output_on_the_shipped_set(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(None, True) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is True and doc["findings"] == []
    assert doc["summary"]["foreign_keys"] == 17


def test_validator_never_imports_textual() -> None:
    code = (
        "import runbook.validator, runbook.validate_cmd; import sys; "
        "assert 'textual' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_json_mode_does_not_even_import_rich() -> None:
    code = (
        "import sys, io, contextlib\n"
        "from runbook.validate_cmd import run\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert run(None, True) == 0\n"
        "assert 'rich' not in sys.modules, 'rich imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# --- the rules document ---------------------------------------------------------------


def test_every_rule_is_documented_and_every_documented_rule_exists() -> None:
    doc = (assets_dir() / "docs" / "validator-rules.md").read_text(encoding="utf-8")
    documented = re.findall(r"^### (RB\d{3})\b", doc, re.MULTILINE)
    assert documented == sorted(RULES)
    for code, rule in RULES.items():
        section = doc.split(f"### {code}", 1)[1].split("\n### ", 1)[0]
        assert rule.name in section and rule.severity in section, code
        assert "Bad" in section and "Good" in section, code
