"""The backup module on the real sandbox: what it writes, what it refuses, how it waits."""

from __future__ import annotations

import gzip
import stat
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from runbook import backup, config
from runbook.db import Target
from runbook.sandbox import Sandbox


def target_of(sandbox: Sandbox) -> Target:
    return Target(config.load(sandbox.config_path).database)


def test_backup_is_private_complete_and_verifiable(sandbox: Sandbox, tmp_path: Path) -> None:
    seen: list[tuple[int, int | None]] = []
    info = backup.create(target_of(sandbox), tmp_path, progress=lambda d, t: seen.append((d, t)))
    assert stat.S_IMODE(info.path.stat().st_mode) == 0o600
    assert info.path.name.startswith("askproai_db_pre_") and info.path.name.endswith(".sql.gz")
    assert seen and seen[-1][0] == info.uncompressed
    checked = backup.inspect(info.path)
    assert checked.sha256 == info.sha256 and checked.database == "askproai_db"
    assert {"companies", "migrations", "staff", "appointments"} <= set(checked.tables)


def test_a_truncated_or_unterminated_backup_is_refused(sandbox: Sandbox, tmp_path: Path) -> None:
    info = backup.create(target_of(sandbox), tmp_path)
    data = info.path.read_bytes()
    cut = tmp_path / "cut.sql.gz"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(backup.BackupError, match="truncated"):
        backup.inspect(cut)
    text = gzip.decompress(data).decode()
    no_trailer = tmp_path / "no_trailer.sql.gz"
    no_trailer.write_bytes(gzip.compress(text.split("-- Dump completed")[0].encode()))
    with pytest.raises(backup.BackupError, match="no '-- Dump completed' trailer"):
        backup.inspect(no_trailer)
    garbage = tmp_path / "garbage.sql.gz"
    garbage.write_bytes(b"this is not gzip")
    with pytest.raises(backup.BackupError, match="not a valid gzip file"):
        backup.inspect(garbage)


def test_an_existing_file_is_never_overwritten(sandbox: Sandbox, tmp_path: Path) -> None:
    # occupy the names of the next few seconds: the backup must refuse, not clobber
    now = datetime.now()
    taken = [
        backup.backup_path(tmp_path, "askproai_db", now + timedelta(seconds=i)) for i in range(5)
    ]
    for path in taken:
        path.write_bytes(b"precious")
    with pytest.raises(backup.BackupError, match="already exists; not overwriting"):
        backup.create(target_of(sandbox), tmp_path)
    assert all(p.read_bytes() == b"precious" for p in taken)


def test_a_failing_dump_leaves_no_file_and_says_why(clean_sandbox: Sandbox, tmp_path: Path) -> None:
    with clean_sandbox.connect(admin=True) as conn, conn.cursor() as cur:
        cur.execute("REVOKE ALL PRIVILEGES ON askproai_db.* FROM 'askproai_user'@'localhost'")
        cur.execute("REVOKE ALL PRIVILEGES ON askproai_db.* FROM 'askproai_user'@'127.0.0.1'")
        cur.execute("GRANT USAGE ON askproai_db.* TO 'askproai_user'@'localhost'")
    try:
        with pytest.raises(backup.BackupError, match="mariadb-dump exited"):
            backup.create(target_of(clean_sandbox), tmp_path)
        assert list(tmp_path.iterdir()) == []
    finally:
        with clean_sandbox.connect(admin=True) as conn, conn.cursor() as cur:
            for host in ("localhost", "127.0.0.1"):
                cur.execute(f"GRANT ALL PRIVILEGES ON askproai_db.* TO 'askproai_user'@'{host}'")


def test_a_dump_that_waits_on_a_lock_says_so(clean_sandbox: Sandbox, tmp_path: Path) -> None:
    told: list[float] = []
    done: dict[str, object] = {}
    holder = clean_sandbox.connect(admin=True)
    with holder.cursor() as cur:
        cur.execute("LOCK TABLES askproai_db.companies WRITE")

    def run() -> None:
        done["info"] = backup.create(
            target_of(clean_sandbox), tmp_path, on_quiet=told.append, quiet_after_s=0.5
        )

    worker = threading.Thread(target=run)
    worker.start()
    try:
        for _ in range(200):
            if told:
                break
            worker.join(timeout=0.05)
        assert told, "the dump waited on the lock without a word"
        assert "info" not in done
    finally:
        with holder.cursor() as cur:
            cur.execute("UNLOCK TABLES")
        holder.close()
        worker.join(timeout=60)
    assert "info" in done
