"""Option B's mechanics: check a backup, load it beside the target, swap it in at once.

``gunzip < backup.sql.gz | mysql db`` has traps this module closes: a truncated or
damaged file applied half way, a backup of another database, a dump that switches
database (``USE``) or runs shell commands (``\\!``), tables created after the
backup surviving the restore, and a Ctrl-C that leaves the database half old and
half new. The backup is loaded into a scratch schema first, while the target and
the application carry on; the target then changes in one ``RENAME TABLE``, which
the server performs all or nothing. Where that cannot work (no privilege on
scratch schemas, or views, triggers, routines or events that a rename cannot
move), the restore goes into the target in place, and says what that costs.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import re
import shutil
import subprocess
import threading
import time
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from runbook import backup, journal
from runbook.backup import BackupError, BackupInfo
from runbook.db import DatabaseError, Session, Target, quote_ident

SCRATCH_PREFIX = "runbook_scratch_restore_"
# Small compressed reads keep each decompressed piece under a few MB and the
# progress bar moving; the bar itself is fed at most every PROGRESS_EVERY_S.
CHUNK = 1 << 16
PROGRESS_EVERY_S = 0.05
# The swap waits this long for the app's open transactions; then nothing has moved.
SWAP_LOCK_WAIT_S = 10
EXACT_COUNT_BELOW = 1_000_000
# The server refuses CREATE DATABASE on a schema the account has no grant for.
ACCESS_DENIED = {1044, 1045, 1142}

# A single-database dump never switches database nor talks to the client's shell;
# one that does would write somewhere else than where we load it. mariadb-dump
# escapes newlines inside values, so every statement starts a line.
_FORBIDDEN = re.compile(
    rb"(?:use\b|connect\b|\\[ur!.]|system\b|source\b"
    rb"|(?:/\*!\d+\s*)?(?:create|drop|alter)\s+(?:database|schema)\b)",
    re.I,
)
_CREATE_TABLE = re.compile(rb"CREATE TABLE `((?:[^`]|``)+)`")
# Bytes of a line the checks look at: enough for any statement keyword and a table
# name (64 characters, each possibly escaped). Checking only line starts keeps the
# scan at memchr speed: the bulk of a dump is a few long INSERT lines.
_LOOK = 160

Progress = Callable[[int, int | None], None]


class RestoreError(Exception):
    """The backup cannot be loaded as it is; says which file and why."""


# -- what the journal knows about backups ----------------------------------------------


def recorded_backups(journal_dir: Path, database: str) -> dict[str, set[str]]:
    """Backup path (as the deployment recorded it) -> sha256s of ``backup_verified`` events."""
    found: dict[str, set[str]] = {}
    for path in journal.runs(journal_dir, database):
        try:
            events = journal.read(path)
        except (OSError, UnicodeDecodeError):
            continue  # an unreadable journal says nothing about any backup
        for event in events:
            if event.get("event") == "backup_verified" and event.get("path"):
                found.setdefault(str(event["path"]), set()).add(str(event.get("sha256", "")))
    return found


def recorded_sha256(journal_dir: Path, database: str, path: Path) -> set[str]:
    """What the journal recorded for this file: by its path, else by its (unique) name.

    The name matters for an incident responder who copied the backup and the journal
    to another machine: the timestamped name still identifies the file.
    """
    records = recorded_backups(journal_dir, database)
    resolved = str(path.resolve())
    by_path = {sha for p, shas in records.items() if _same(p, resolved) for sha in shas}
    if by_path:
        return by_path
    return {sha for p, shas in records.items() if Path(p).name == path.name for sha in shas}


def _same(recorded: str, resolved: str) -> bool:
    try:
        return str(Path(recorded).resolve()) == resolved
    except OSError:
        return recorded == resolved


@dataclass(frozen=True)
class BackupChoice:
    """One file for the backup picker; ``verified`` only repeats what the journal says."""

    path: Path
    size: int
    modified: datetime
    age_s: float
    sha256: str | None  # recorded in the journal when the backup was verified
    verified: bool


def list_backups(cfg: Any) -> list[BackupChoice]:
    """Backups in ``[backup] dir``, newest first. Cheap: reads the journal, not the files."""
    directory: Path = cfg.backup_dir
    database: str = cfg.database.database
    if not directory.is_dir():
        return []
    records = recorded_backups(cfg.journal_dir, database)
    by_name: dict[str, set[str]] = {}
    for p, shas in records.items():
        by_name.setdefault(Path(p).name, set()).update(shas)
    now = time.time()
    choices = []
    for path in directory.glob("*.sql.gz"):
        try:
            st = path.stat()
        except OSError:
            continue
        shas = next(
            (s for p, s in records.items() if _same(p, str(path.resolve()))),
            by_name.get(path.name, set()),
        )
        sha = sorted(shas)[0] if len(shas) == 1 else None
        choices.append(
            BackupChoice(
                path=path,
                size=st.st_size,
                modified=datetime.fromtimestamp(st.st_mtime),
                age_s=max(0.0, now - st.st_mtime),
                sha256=sha,
                verified=bool(shas),
            )
        )
    return sorted(choices, key=lambda c: c.modified, reverse=True)


# -- the plan: is this backup fit, and what would restoring it lose --------------------


@dataclass
class PlanB:
    path: Path
    database: str
    info: BackupInfo | None = None
    refusals: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    recorded_sha256: str | None = None
    current_rows: dict[str, int] = field(default_factory=dict)
    current_auto_increment: dict[str, int | None] = field(default_factory=dict)
    current_objects: list[str] = field(default_factory=list)
    # exact, once the backup was loaded into a scratch schema (None until then)
    backup_rows: dict[str, int] | None = None
    backup_auto_increment: dict[str, int | None] = field(default_factory=dict)
    backup_migrations: list[str] | None = None
    current_migrations: list[str] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)
    estimated: set[str] = field(default_factory=set)  # row counts that are estimates

    @property
    def ok(self) -> bool:
        return not self.refusals

    @property
    def backup_tables(self) -> list[str]:
        if self.backup_rows is not None:
            return sorted(self.backup_rows)
        return sorted(self.info.tables) if self.info else []

    @property
    def dropped(self) -> list[str]:
        """Tables that exist now and not in the backup: the restore removes them."""
        return sorted(set(self.current_rows) - set(self.backup_tables))

    @property
    def recreated(self) -> list[str]:
        return sorted(set(self.backup_tables) - set(self.current_rows))

    @property
    def rows_lost(self) -> int | None:
        """Rows that exist now and will not after the restore (None: not known yet)."""
        if self.backup_rows is None:
            return None
        lost = 0
        for table, now in self.current_rows.items():
            lost += max(0, now - self.backup_rows.get(table, 0))
        return lost

    def evidence(self) -> list[str]:
        lines = []
        if self.info is not None:
            made = datetime.fromtimestamp(self.path.stat().st_mtime).strftime("%Y-%m-%d %H:%M:%S")
            lines.append(
                f"backup {self.path} ({self.info.size} bytes, written {made}, "
                f"database {self.info.database}, {len(self.info.tables)} tables, "
                f"sha256 {self.info.sha256[:16]}…)"
            )
        lines += self.notes
        lines += [f"REFUSED: {r}" for r in self.refusals]
        if self.info is None:
            return lines
        lines.append("everything written to the database since the backup is lost:")
        same = 0
        for table in sorted(set(self.current_rows) | set(self.backup_tables)):
            if line := self._table_line(table):
                lines.append("  " + line)
            else:
                same += 1
        if same:
            lines.append(f"  {same} other table(s): same row count and AUTO_INCREMENT")
        if self.backup_migrations is not None:
            gone = [m for m in self.current_migrations if m not in self.backup_migrations]
            lines += [f"  migrations row {m}: removed" for m in gone]
        if self.current_objects:
            lines.append("  other objects now: " + ", ".join(self.current_objects))
        if self.rows_lost is not None:
            lines.append(f"rows lost in total: {self.rows_lost}")
        for schema in self.leftovers:
            lines.append(
                f"note: schema {schema} was left by an interrupted restore; it may hold the "
                f"tables that restore replaced. Drop it when no longer needed."
            )
        return lines

    def _table_line(self, table: str) -> str | None:
        if table in self.estimated:
            table_shown = f"{table} (~ server estimate)"
        else:
            table_shown = table
        line = self._counts_line(table)
        return None if line is None else table_shown + line

    def _counts_line(self, table: str) -> str | None:
        now = self.current_rows.get(table)
        then = None if self.backup_rows is None else self.backup_rows.get(table)
        if now is None:
            return ": not here now; recreated from the backup" + (
                f" ({then} rows)" if then is not None else ""
            )
        if table not in self.backup_tables:
            return f": {now} rows now; not in the backup: DROPPED"
        if then is None:
            ai = self.current_auto_increment.get(table)
            hint = f", AUTO_INCREMENT {ai}" if ai else ""
            return f": {now} rows now{hint}; replaced by the backup's rows"
        ai_now = self.current_auto_increment.get(table)
        ai_then = self.backup_auto_increment.get(table)
        ai = ""
        if ai_now and ai_then and ai_now != ai_then:
            ai = f", AUTO_INCREMENT {ai_now} -> {ai_then}"
        elif now == then:
            return None  # by count and counter, untouched since the backup
        return f": {now} rows now -> {then} in the backup ({then - now:+d}){ai}"


def plan_option_b(
    session: Session,
    database: str,
    path: Path,
    *,
    journal_dir: Path | None = None,
    expected_sha256: str | None = None,
    progress: Progress | None = None,
) -> PlanB:
    """Check the file whole and describe what restoring it would lose; writes nothing.

    Refusals: not a readable file, a damaged or truncated gzip, no dump-completed
    trailer, a dump of another database, a sha256 that differs from the one the
    journal (or ``expected_sha256``, the running deployment's own) recorded.
    """
    plan = PlanB(Path(path), database)
    if not plan.path.is_file():
        plan.refusals.append(f"{plan.path}: no such file")
        return plan
    try:
        plan.info = backup.inspect(plan.path, progress=progress)
    except BackupError as exc:
        plan.refusals.append(str(exc))
        return plan
    info = plan.info
    if info.database is None:
        plan.refusals.append(
            f"{plan.path}: the dump names no database (no '-- Host: … Database:' header): "
            "cannot tell whose backup it is"
        )
    elif info.database != database:
        plan.refusals.append(
            f"{plan.path} is a backup of database {info.database!r}, not of {database!r}"
        )
    recorded = set()
    if journal_dir is not None:
        recorded |= recorded_sha256(journal_dir, database, plan.path)
    if expected_sha256:
        recorded.add(expected_sha256)
    if recorded and info.sha256 not in recorded:
        plan.refusals.append(
            f"{plan.path}: sha256 {info.sha256} differs from the {', '.join(sorted(recorded))} "
            "recorded when the backup was verified: the file changed since"
        )
    elif recorded:
        plan.recorded_sha256 = info.sha256
        plan.notes.append("sha256 matches the one recorded when the backup was verified")
    else:
        plan.notes.append(
            "no sha256 recorded in the journal for this file: checked by its gzip CRC and "
            "the dump-completed trailer only"
        )
    tables = base_tables(session, database)
    plan.current_rows = row_counts(session, database, tables, plan.estimated)
    plan.current_auto_increment = auto_increments(session, database)
    plan.current_objects = other_objects(session, database)
    plan.current_migrations = migration_names(session, database)
    plan.leftovers = leftover_schemas(session)
    return plan


def fill_from_scratch(plan: PlanB, session: Session, scratch: str) -> None:
    """The backup's exact rows, AUTO_INCREMENTs and migrations, read from its loaded copy."""
    tables = base_tables(session, scratch)
    plan.backup_rows = row_counts(session, scratch, tables, plan.estimated)
    plan.backup_auto_increment = auto_increments(session, scratch)
    plan.backup_migrations = migration_names(session, scratch)


# -- reading the server ----------------------------------------------------------------


def base_tables(session: Session, database: str) -> list[str]:
    rows = session.query(
        "SELECT TABLE_NAME AS name FROM information_schema.TABLES "
        "WHERE TABLE_SCHEMA = %s AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME",
        [database],
    )
    return [r["name"] for r in rows]


def row_counts(
    session: Session, database: str, tables: list[str], estimated: set[str] | None = None
) -> dict[str, int]:
    """Exact counts, except (when ``estimated`` is given) for tables the server estimates
    above EXACT_COUNT_BELOW rows: COUNT(*) there would scan for minutes at 2 a.m., so
    the estimate is used and the table's name added to ``estimated``."""
    guesses: dict[str, int] = {}
    if estimated is not None:
        guesses = {
            r["name"]: int(r["n"] or 0)
            for r in session.query(
                "SELECT TABLE_NAME AS name, TABLE_ROWS AS n FROM information_schema.TABLES "
                "WHERE TABLE_SCHEMA = %s",
                [database],
            )
        }
    counts = {}
    for t in tables:
        if estimated is not None and guesses.get(t, 0) >= EXACT_COUNT_BELOW:
            counts[t] = guesses[t]
            estimated.add(t)
            continue
        sql = f"SELECT COUNT(*) FROM {quote_ident(database)}.{quote_ident(t)}"
        counts[t] = int(session.scalar(sql))
    return counts


def auto_increments(session: Session, database: str) -> dict[str, int | None]:
    rows = session.query(
        "SELECT TABLE_NAME AS name, AUTO_INCREMENT AS ai FROM information_schema.TABLES "
        "WHERE TABLE_SCHEMA = %s AND TABLE_TYPE = 'BASE TABLE'",
        [database],
    )
    return {r["name"]: (int(r["ai"]) if r["ai"] is not None else None) for r in rows}


def migration_names(session: Session, database: str) -> list[str]:
    if "migrations" not in base_tables(session, database):
        return []
    rows = session.query(f"SELECT migration FROM {quote_ident(database)}.migrations ORDER BY id")
    return [r["migration"] for r in rows]


def other_objects(session: Session, database: str) -> list[str]:
    """What a RENAME TABLE cannot move: views, sequences, triggers, routines, events."""
    found = [
        f"{r['kind'].lower()} {r['name']}"
        for r in session.query(
            "SELECT TABLE_NAME AS name, TABLE_TYPE AS kind FROM information_schema.TABLES "
            "WHERE TABLE_SCHEMA = %s AND TABLE_TYPE <> 'BASE TABLE'",
            [database],
        )
    ]
    found += [
        f"trigger {r['name']}"
        for r in session.query(
            "SELECT TRIGGER_NAME AS name FROM information_schema.TRIGGERS "
            "WHERE TRIGGER_SCHEMA = %s",
            [database],
        )
    ]
    found += [
        f"{r['kind'].lower()} {r['name']}"
        for r in session.query(
            "SELECT ROUTINE_NAME AS name, ROUTINE_TYPE AS kind FROM information_schema.ROUTINES "
            "WHERE ROUTINE_SCHEMA = %s",
            [database],
        )
    ]
    found += [
        f"event {r['name']}"
        for r in session.query(
            "SELECT EVENT_NAME AS name FROM information_schema.EVENTS WHERE EVENT_SCHEMA = %s",
            [database],
        )
    ]
    return sorted(found)


def leftover_schemas(session: Session) -> list[str]:
    rows = session.query(
        "SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE %s",
        [SCRATCH_PREFIX.replace("_", "\\_") + "%"],
    )
    return sorted(r["name"] for r in rows)


# -- scratch schemas and the swap ------------------------------------------------------


def scratch_names() -> tuple[str, str]:
    """(where the backup is loaded, where the replaced tables wait until verified)."""
    tag = uuid.uuid4().hex[:10]
    return f"{SCRATCH_PREFIX}{tag}", f"{SCRATCH_PREFIX}{tag}_prev"


def create_schema_like(session: Session, name: str, like: str) -> None:
    """A scratch schema with the target's default character set and collation."""
    row = session.query(
        "SELECT DEFAULT_CHARACTER_SET_NAME AS cs, DEFAULT_COLLATION_NAME AS co "
        "FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s",
        [like],
    )
    cs = row[0]["cs"] if row else "utf8mb4"
    co = row[0]["co"] if row else "utf8mb4_unicode_ci"
    session.execute(f"CREATE DATABASE {quote_ident(name)} CHARACTER SET {cs} COLLATE {co}")


def drop_schema(session: Session, name: str) -> None:
    session.execute(f"DROP DATABASE IF EXISTS {quote_ident(name)}")


def swap_statement(
    database: str, scratch: str, old: str, incoming: list[str], outgoing: list[str]
) -> str:
    """One RENAME TABLE: the current tables out to ``old``, the backup's in from ``scratch``.

    The outgoing renames come first so the target's foreign key names are free
    before the incoming tables bring theirs. InnoDB foreign keys follow a renamed
    parent, and every table moves, so each set keeps pointing at itself.
    """
    db, sc, od = quote_ident(database), quote_ident(scratch), quote_ident(old)
    pairs = [f"{db}.{quote_ident(t)} TO {od}.{quote_ident(t)}" for t in outgoing]
    pairs += [f"{sc}.{quote_ident(t)} TO {db}.{quote_ident(t)}" for t in incoming]
    return "RENAME TABLE " + ", ".join(pairs)


def swap(
    session: Session,
    database: str,
    scratch: str,
    old: str,
    incoming: list[str],
    outgoing: list[str],
) -> str:
    session.set_session({"lock_wait_timeout": SWAP_LOCK_WAIT_S})
    sql = swap_statement(database, scratch, old, incoming, outgoing)
    session.execute(sql)
    return sql


def drop_tables(session: Session, database: str, tables: list[str], views: list[str]) -> None:
    """Drop what the backup does not hold; the FK checks are off for this session only,
    because a table created after the backup may reference one that stays."""
    session.set_session({"foreign_key_checks": 0})
    try:
        for view in views:
            session.execute(f"DROP VIEW IF EXISTS {quote_ident(database)}.{quote_ident(view)}")
        for table in tables:
            session.execute(f"DROP TABLE IF EXISTS {quote_ident(database)}.{quote_ident(table)}")
    finally:
        session.set_session({"foreign_key_checks": 1})


def drop_objects(session: Session, database: str, objects: list[str]) -> None:
    """Drop objects named as ``other_objects`` names them ("procedure p", "view v")."""
    for entry in objects:
        kind, name = entry.split(" ", 1)
        session.execute(
            f"DROP {kind.upper()} IF EXISTS {quote_ident(database)}.{quote_ident(name)}"
        )


# -- streaming the dump into the client ------------------------------------------------


def client_tool() -> str:
    for name in ("mariadb", "mysql"):
        if path := shutil.which(name):
            return path
    raise RestoreError("no mariadb or mysql client on PATH (apt-get install -y mariadb-client)")


def client_command(defaults: Path, database: str) -> list[str]:
    """The client's argv: the defaults file first (the tools insist), never a password;
    ``--sandbox`` refuses the shell and file commands a doctored dump could carry."""
    return [client_tool(), f"--defaults-extra-file={defaults}", "--batch", "--sandbox", database]


@dataclass
class Streamed:
    bytes: int = 0
    tables: list[str] = field(default_factory=list)  # CREATE TABLE sent, in order
    seconds: float = 0.0
    sha256: str = ""  # of the file as read this time: it must be the file checked before


def _check_lines(
    window: bytes,
    *,
    mid_line: bool,
    final: bool,
    done: Streamed,
    path: Path,
    lines_before: int,
) -> tuple[int, bool]:
    """Check the start of every line in ``window``.

    Returns how much of ``window`` is checked and may be written (it stops before a
    line whose start is still too short to judge: the next piece completes it), and
    whether the window ends inside a line whose start was already checked.
    """
    size = len(window)
    p = 0
    if mid_line:  # the first bytes continue a line checked in an earlier piece
        nl = window.find(b"\n")
        if nl == -1:
            return size, True
        p = nl + 1
    while p < size:
        end = window.find(b"\n", p, p + _LOOK)
        if end == -1 and p + _LOOK > size and not final:
            return p, False
        if m := _FORBIDDEN.match(window, p):
            line = lines_before + window.count(b"\n", 0, p) + 1
            text = window[m.start() : m.start() + 80].split(b"\n", 1)[0]
            raise RestoreError(
                f"{path}, line {line}: {text.decode('utf-8', 'replace')!r}: a backup of one "
                "database never switches database or calls the shell; refusing to load it"
            )
        if m := _CREATE_TABLE.match(window, p):
            done.tables.append(m.group(1).replace(b"``", b"`").decode("utf-8", "replace"))
        nl = end if end != -1 else window.find(b"\n", p + _LOOK)
        if nl == -1:
            return size, True  # a long line runs on: its start was checked, the rest is data
        p = nl + 1
    return size, False


def stream(
    path: Path,
    write: Callable[[bytes], object] | None,
    *,
    total: int | None,
    progress: Progress | None,
    into: Streamed | None = None,
) -> Streamed:
    """Decompress ``path`` and hand each piece to ``write`` after checking it.

    A statement that switches database or reaches the shell stops the stream
    before any byte of it is written. ``into`` is filled as it goes, so a caller
    interrupted half way knows which tables were sent.
    """
    done = into if into is not None else Streamed()
    started = time.monotonic()
    decomp = zlib.decompressobj(16 + zlib.MAX_WBITS)
    sha = hashlib.sha256()
    held = b""  # checked up to a line start too short to judge yet; always starts a line
    mid_line = False
    lines = 0
    shown = 0.0

    def send(piece: bytes) -> None:
        nonlocal lines
        if write is not None and piece:
            write(piece)
        lines += piece.count(b"\n")
        done.bytes += len(piece)

    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            sha.update(chunk)
            try:
                data = decomp.decompress(chunk)
                while decomp.unused_data:
                    rest = decomp.unused_data
                    decomp = zlib.decompressobj(16 + zlib.MAX_WBITS)
                    data += decomp.decompress(rest)
            except zlib.error as exc:
                raise RestoreError(f"{path}: not a valid gzip file ({exc})") from None
            if not data:
                continue
            window = held + data if held else data
            safe, mid_line = _check_lines(
                window,
                mid_line=mid_line and not held,
                final=False,
                done=done,
                path=path,
                lines_before=lines,
            )
            held = window[safe:]
            send(window[:safe] if safe < len(window) else window)
            if progress and time.monotonic() - shown >= PROGRESS_EVERY_S:
                shown = time.monotonic()
                progress(done.bytes, total)
    if not decomp.eof:
        raise RestoreError(f"{path}: the gzip stream is truncated")
    _check_lines(held, mid_line=False, final=True, done=done, path=path, lines_before=lines)
    send(held)
    if progress:
        progress(done.bytes, total)
    done.seconds = time.monotonic() - started
    done.sha256 = sha.hexdigest()
    return done


def load(
    target: Target,
    database: str,
    path: Path,
    *,
    total: int | None,
    progress: Progress | None,
    into: Streamed | None = None,
) -> Streamed:
    """Stream the decompressed dump into ``mariadb DATABASE`` and check its exit status.

    The client runs in its own session, so a Ctrl-C at the terminal reaches only
    us: we decide what to stop, and the client is killed on every way out.
    """
    done = into if into is not None else Streamed()
    errors: list[bytes] = []
    with target.client_defaults_file() as defaults:
        proc = subprocess.Popen(
            client_command(defaults, database),
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        assert proc.stdin is not None and proc.stderr is not None
        with contextlib.suppress(OSError, AttributeError):
            # a 1 MiB pipe: the client never waits while we decompress the next piece
            fcntl.fcntl(proc.stdin.fileno(), fcntl.F_SETPIPE_SZ, 1 << 20)
        reader = threading.Thread(
            target=lambda: errors.extend(proc.stderr.readlines()),  # type: ignore[union-attr]
            daemon=True,
        )
        reader.start()
        broken = False
        try:
            try:
                stream(path, proc.stdin.write, total=total, progress=progress, into=done)
                proc.stdin.close()
            except BrokenPipeError:
                broken = True  # the client stopped reading: its exit status says why
            rc = proc.wait()
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        finally:
            with contextlib.suppress(OSError):
                proc.stdin.close()
            reader.join(timeout=5)
    if rc != 0 or broken:
        message = b"".join(errors).decode("utf-8", "replace").strip().splitlines()
        text = target.secret.mask(" / ".join(message[-3:])) or "no message"
        raise RestoreError(f"mariadb exited {rc} loading {path} into {database}: {text}")
    return done


def is_access_denied(exc: DatabaseError) -> bool:
    return exc.code in ACCESS_DENIED
