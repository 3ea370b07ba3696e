"""Small helpers shared by the tests that deploy and roll back on the sandbox."""

from __future__ import annotations

from pathlib import Path

from runbook import config as config_mod
from runbook import fingerprint
from runbook.db import Target
from runbook.laravel import probe
from runbook.sandbox import Sandbox

# The contract (schema.md), written out: the tests check the tool against it.
SIX = [
    "notification_configurations",
    "policy_configurations",
    "callback_requests",
    "appointment_modifications",
    "callback_escalations",
    "appointment_modification_stats",
]
# The same names for set checks ("none of them left", "all of them there"), where the
# order of SIX (the order the migrations create them) does not matter.
SIX_SET: frozenset[str] = frozenset(SIX)


def snapshot(cfg_path: Path) -> fingerprint.Fingerprint:
    """Schema, migrations rows and data checksums of the target the config points at."""
    cfg = config_mod.load(cfg_path)
    s = Target(cfg.database).connect()
    try:
        return fingerprint.take(s, cfg.database.database, data=True)
    finally:
        s.close()


def app_answers_200(cfg_path: Path) -> bool:
    return probe(config_mod.load(cfg_path).app.url).status == 200


def tables(sandbox: Sandbox) -> set[str]:
    """The tables of the sandbox's own database, as its app user sees them now."""
    with sandbox.connect() as conn, conn.cursor() as cur:
        cur.execute("SHOW TABLES")
        return {r[0] for r in cur.fetchall()}


def break_parent_collation(sandbox: Sandbox) -> None:
    """A parent key whose collation no longer matches the migrations' columns (staff.id
    becomes utf8mb4_bin): every CREATE TABLE with a foreign key to it fails (errno 150)."""
    with sandbox.connect() as conn, conn.cursor() as cur:
        cur.execute("ALTER TABLE appointments DROP FOREIGN KEY appointments_staff_id_foreign")
        cur.execute("ALTER TABLE staff MODIFY id char(36) COLLATE utf8mb4_bin NOT NULL")
