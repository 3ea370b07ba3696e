"""Discovery of the migration set: from the files alone, in Laravel's (name) order."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runbook.migrations import MigrationSetError, discover, scan
from runbook.resources import sql_dir

# schema.md, "Migrations": the contract for names and order.
SCHEMA_MD_ORDER = [
    "2025_10_01_060100_create_notification_configurations_table",
    "2025_10_01_060201_create_policy_configurations_table",
    "2025_10_01_060203_create_callback_requests_table",
    "2025_10_01_060304_create_appointment_modifications_table",
    "2025_10_01_060305_create_callback_escalations_table",
    "2025_10_01_060400_create_appointment_modification_stats_table",
]


def _write(d: Path, name: str, text: str = "SELECT 1;\n") -> None:
    (d / name).write_text(text, encoding="utf-8")


def test_shipped_set_is_the_six_migrations_of_schema_md_in_order() -> None:
    migrations = discover()
    assert [m.name for m in migrations] == SCHEMA_MD_ORDER
    for m in migrations:
        assert m.complete
        assert m.up_file == f"{m.name}.up.sql"
        assert m.down_file == f"{m.name}.down.sql"
        assert m.up_sql is not None and "CREATE TABLE" in m.up_sql
        assert m.down_sql is not None and m.down_sql.startswith("DROP TABLE")


def test_discover_accepts_the_traversable_and_a_plain_path() -> None:
    from_traversable = discover(sql_dir())
    from_path = discover(Path(str(sql_dir())))
    assert from_traversable == from_path == discover(None)


def test_sorted_by_name_not_by_creation_order(tmp_path: Path) -> None:
    for name in ("2025_01_03_000000_create_c_table", "2025_01_01_000000_create_a_table"):
        _write(tmp_path, f"{name}.down.sql")
        _write(tmp_path, f"{name}.up.sql")
    _write(tmp_path, "2025_01_02_000000_create_b_table.up.sql")
    _write(tmp_path, "2025_01_02_000000_create_b_table.down.sql")
    names = [m.name for m in discover(tmp_path)]
    assert names == [
        "2025_01_01_000000_create_a_table",
        "2025_01_02_000000_create_b_table",
        "2025_01_03_000000_create_c_table",
    ]


def test_baseline_and_other_files_are_not_migrations(tmp_path: Path) -> None:
    _write(tmp_path, "baseline.sql")
    _write(tmp_path, "notes.sql")
    _write(tmp_path, "README.md")
    _write(tmp_path, "__init__.py", "")
    _write(tmp_path, ".up.sql")  # no name at all
    _write(tmp_path, "2025_01_01_000000_create_a_table.up.sql")
    _write(tmp_path, "2025_01_01_000000_create_a_table.down.sql")
    (tmp_path / "sub.up.sql").mkdir()  # a directory is not a file
    result = scan(tmp_path)
    assert [m.name for m in result.migrations] == ["2025_01_01_000000_create_a_table"]
    assert result.baseline_sql == "SELECT 1;\n"
    assert result.stray_files == [".up.sql", "notes.sql"]


def test_missing_down_file_is_kept_as_an_incomplete_migration(tmp_path: Path) -> None:
    _write(tmp_path, "2025_01_01_000000_create_a_table.up.sql", "CREATE TABLE a (id int);")
    (m,) = discover(tmp_path)
    assert (m.up_file, m.down_file, m.down_sql) == (
        "2025_01_01_000000_create_a_table.up.sql",
        None,
        None,
    )
    assert m.up_sql == "CREATE TABLE a (id int);"
    assert not m.complete


def test_missing_up_file_is_kept_as_an_incomplete_migration(tmp_path: Path) -> None:
    _write(tmp_path, "2025_01_01_000000_create_a_table.down.sql", "DROP TABLE a;")
    (m,) = discover(tmp_path)
    assert (m.up_file, m.up_sql) == (None, None)
    assert m.down_file == "2025_01_01_000000_create_a_table.down.sql"
    assert not m.complete


def test_no_baseline_reads_as_none(tmp_path: Path) -> None:
    assert scan(tmp_path).baseline_sql is None
    assert discover(tmp_path) == []


def test_a_directory_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(MigrationSetError, match="not a readable directory"):
        discover(tmp_path / "nope")


def test_a_file_is_not_a_migration_directory(tmp_path: Path) -> None:
    _write(tmp_path, "x.sql")
    with pytest.raises(MigrationSetError):
        discover(tmp_path / "x.sql")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any directory")
def test_an_unreadable_directory_is_an_error(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0)
    try:
        with pytest.raises(MigrationSetError):
            discover(locked)
    finally:
        locked.chmod(0o755)


def test_a_file_that_is_not_utf8_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "2025_01_01_000000_create_a_table.up.sql").write_bytes(b"CREATE \xff\xfe")
    with pytest.raises(MigrationSetError, match="cannot read"):
        discover(tmp_path)
