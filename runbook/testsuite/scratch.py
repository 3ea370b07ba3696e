"""Test 1 and the cleanup: creating the scratch database, its lock, leftovers, the drop."""

from __future__ import annotations

import re
import uuid
from contextlib import suppress
from typing import TYPE_CHECKING

from runbook import migrate
from runbook.db import DatabaseError, Session, quote_ident
from runbook.testsuite.errors import Fail

if TYPE_CHECKING:
    from runbook.testsuite.suite import Suite

SCRATCH_PREFIX = "runbook_scratch_"
SCRATCH_LIKE = r"runbook\_scratch\_%"
OWN_NAME = re.compile(r"runbook_scratch_[0-9a-f]{12}")
# The drop of the scratch database waits at most this long for a metadata lock.
DROP_LOCK_WAIT_S = 30


def new_name() -> str:
    return SCRATCH_PREFIX + uuid.uuid4().hex[:12]


def lock_name(scratch: str) -> str:
    # held by the run that owns the scratch database, so a later run can tell a
    # leftover of a killed run (lock free) from a database another run is using
    return f"runbook:scratch:{scratch}"


def take_lock(s: Session, scratch: str) -> bool:
    """The scratch database's lock, without waiting: False when another session holds it."""
    return s.scalar("SELECT GET_LOCK(%s, 0)", [lock_name(scratch)]) == 1


def drop(s: Session, scratch: str) -> None:
    s.execute(f"DROP DATABASE IF EXISTS {quote_ident(scratch)}")


def exists(s: Session, scratch: str) -> bool:
    return bool(
        s.scalar(
            "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE schema_name = %s",
            [scratch],
        )
    )


def _ident_word(value: str) -> str:
    """Charset/collation names go into DDL unquoted: allow nothing but a plain word."""
    if not re.fullmatch(r"\w+", value or ""):
        raise Fail([f"unexpected charset or collation name {value!r}"])
    return value


# -- 1. test database creation -----------------------------------------------------------


def check_create(suite: Suite) -> list[str]:
    suite.work = suite.target.connect(database=None)
    suite.work_id = suite.work.connection_id
    s = suite.s
    # Sample rows travel through Python: UTC keeps timestamps exact both ways. A lock
    # wait ends in seconds, not in the server's default day.
    s.set_session({"time_zone": "+00:00", "lock_wait_timeout": migrate.LOCK_WAIT_TIMEOUT_S})
    evidence: list[str] = []
    rows = s.query(
        "SELECT default_character_set_name AS cs, default_collation_name AS co "
        "FROM information_schema.SCHEMATA WHERE schema_name = %s",
        [suite.db],
    )
    if not rows:
        raise Fail([f"the target database does not exist: {suite.target.cfg.where}"])
    charset, collation = _ident_word(rows[0]["cs"]), _ident_word(rows[0]["co"])
    leftovers = _drop_leftovers(suite)
    if not take_lock(s, suite.scratch):
        raise Fail([f"could not take the lock {lock_name(suite.scratch)}"])
    suite.db_claimed = True
    try:
        s.execute(
            f"CREATE DATABASE {quote_ident(suite.scratch)} "
            f"CHARACTER SET {charset} COLLATE {collation}"
        )
    except DatabaseError as exc:
        hint = (
            f" (the user needs ALL PRIVILEGES ON `{SCRATCH_LIKE}`.*)"
            if exc.code in (1044, 1045, 1142)
            else ""
        )
        raise Fail([f"CREATE DATABASE {suite.scratch} refused: [{exc.code}] {exc}{hint}"]) from None
    s.execute(f"USE {quote_ident(suite.scratch)}")
    tables = len(migrate.existing_tables(s, suite.scratch))
    if tables or s.scalar("SELECT DATABASE()") != suite.scratch:
        raise Fail([f"{suite.scratch} is not a new, empty database ({tables} tables)"])
    evidence.append(
        f"{suite.scratch} created on the target's server ({charset}, {collation}), empty, "
        "held by this run's lock"
    )
    if leftovers:
        evidence.append(
            f"dropped {len(leftovers)} leftover scratch database(s) of interrupted runs: "
            + ", ".join(leftovers)
        )
    return evidence


def _drop_leftovers(suite: Suite) -> list[str]:
    """Scratch databases whose run is gone (its lock is free): a kill -9 leaves them."""
    s = suite.s
    dropped = []
    for r in s.query(
        "SELECT schema_name AS name FROM information_schema.SCHEMATA WHERE schema_name LIKE %s",
        [SCRATCH_LIKE],
    ):
        name = r["name"]
        # only the suite's own names: other tools (the restore) keep scratch data under
        # the same prefix, and an old production copy must never be swept as debris
        if not OWN_NAME.fullmatch(name):
            continue
        if not take_lock(s, name):
            continue  # another run is using it
        try:
            drop(s, name)
            dropped.append(name)
            suite.say(f"dropped {name}, left behind by an interrupted run", "warning")
        except DatabaseError as exc:  # someone's session still in it: not this run's problem
            suite.say(f"could not drop the leftover {name}: {exc}", "warning")
        s.scalar("SELECT RELEASE_LOCK(%s)", [lock_name(name)])
    return dropped


# -- cleanup -----------------------------------------------------------------------------


def cleanup(suite: Suite, *, reuse: bool) -> tuple[bool, str | None]:
    """Drop the scratch database; (gone, error). Runs with signals deferred.

    ``reuse``: the suite ended normally, so the working session can drop it. After an
    exception (Ctrl-C may have struck in the middle of a reply, leaving the next
    answer on that connection belonging to the previous question) a new session
    ends the old one and drops the database.
    """
    if not suite.db_claimed:
        suite.close_work()
        return True, None
    errors: list[str] = []
    gone = False
    if suite.work is not None and reuse:
        try:
            suite.work.execute("ROLLBACK")
            drop(suite.work, suite.scratch)
            gone = not exists(suite.work, suite.scratch)
        except Exception as exc:  # a connection broken by Ctrl-C mid-reply, a lost server
            errors.append(str(exc))
    if not gone:
        try:
            gone = _drop_fresh(suite)
        except Exception as exc:
            errors.append(str(exc))
    suite.close_work()
    if gone:
        return True, None
    return False, (
        f"could not drop {suite.scratch}: {'; '.join(errors) or 'it is still there'}; "
        f"drop it by hand: DROP DATABASE `{suite.scratch}`"
    )


def _drop_fresh(suite: Suite) -> bool:
    with suite.connection(database=None) as fresh:
        fresh.set_session({"lock_wait_timeout": DROP_LOCK_WAIT_S})
        if suite.work_id is not None:
            # our abandoned connection may still run a statement or hold locks there
            with suppress(DatabaseError):
                fresh.execute(f"KILL {int(suite.work_id)}")
            suite.close_work()
        drop(fresh, suite.scratch)
        return not exists(fresh, suite.scratch)
