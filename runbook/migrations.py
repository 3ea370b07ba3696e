"""The migration set: which migrations exist, read from the files alone.

A migration is ``<name>.up.sql`` plus ``<name>.down.sql``; Laravel runs them in name
order, and so do we. There is deliberately no list in code: adding a migration is
adding two files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from pathlib import Path

UP_SUFFIX = ".up.sql"
DOWN_SUFFIX = ".down.sql"
BASELINE = "baseline.sql"


class MigrationSetError(Exception):
    """The migration directory can't be read at all (the CLI maps this to exit 2)."""


@dataclass(frozen=True)
class Migration:
    """One migration. A missing half is ``None``: a finding for the validator, not a crash."""

    name: str
    up_file: str | None
    down_file: str | None
    up_sql: str | None
    down_sql: str | None

    @property
    def complete(self) -> bool:
        return self.up_sql is not None and self.down_sql is not None


@dataclass(frozen=True)
class MigrationSet:
    migrations: list[Migration]
    baseline_sql: str | None  # None when the directory has no baseline.sql
    stray_files: list[str] = field(default_factory=list)  # *.sql that are neither


def _default_dir() -> Traversable:
    from runbook.resources import sql_dir

    return sql_dir()


def _read(entry: Traversable) -> str:
    try:
        return entry.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise MigrationSetError(f"cannot read {entry.name}: {e}") from e


def scan(sql_dir: Path | Traversable | str | None = None) -> MigrationSet:
    """Read every migration, the baseline and the names of stray .sql files."""
    root: Path | Traversable = (
        _default_dir()
        if sql_dir is None
        else Path(sql_dir)
        if isinstance(sql_dir, str)
        else sql_dir
    )
    try:
        if not root.is_dir():
            raise MigrationSetError(f"{root} is not a readable directory")
        entries = {e.name: e for e in root.iterdir() if e.is_file()}
    except OSError as e:
        raise MigrationSetError(f"cannot list {root}: {e}") from e

    ups: dict[str, str] = {}
    downs: dict[str, str] = {}
    stray: list[str] = []
    for fname in sorted(entries):
        if fname.endswith(UP_SUFFIX) and len(fname) > len(UP_SUFFIX):
            ups[fname[: -len(UP_SUFFIX)]] = fname
        elif fname.endswith(DOWN_SUFFIX) and len(fname) > len(DOWN_SUFFIX):
            downs[fname[: -len(DOWN_SUFFIX)]] = fname
        elif fname.endswith(".sql") and fname != BASELINE:
            stray.append(fname)

    migrations = []
    for name in sorted(ups.keys() | downs.keys()):
        up, down = ups.get(name), downs.get(name)
        migrations.append(
            Migration(
                name=name,
                up_file=up,
                down_file=down,
                up_sql=_read(entries[up]) if up else None,
                down_sql=_read(entries[down]) if down else None,
            )
        )
    baseline = _read(entries[BASELINE]) if BASELINE in entries else None
    return MigrationSet(migrations=migrations, baseline_sql=baseline, stray_files=stray)


def discover(sql_dir: Path | Traversable | str | None = None) -> list[Migration]:
    """The migrations in ``sql_dir`` (default: the shipped set), sorted by name."""
    return scan(sql_dir).migrations
