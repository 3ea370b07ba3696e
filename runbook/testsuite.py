"""The automated pre-deployment test suite: the seed's nine tests on a scratch copy.

A scratch database ``runbook_scratch_<id>`` on the target's server receives the
target's schema (every table, parents first, with the ``migrations`` history) and a
small, consistent sample of the parent rows. The migrations then run there with the
code the deployment uses, are verified against the model parsed from sql/, exercised
with real rows, rolled back and run again. Every expectation comes from the parsed
model, never from numbers typed here. The target is only read, and the scratch
database is dropped whatever happens (an error, Ctrl-C, a second Ctrl-C while it is
being dropped).
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import signal
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from typing import TYPE_CHECKING, Any

from runbook import exitcodes, fingerprint, migrate
from runbook.db import DatabaseError, Session, Target, quote_ident
from runbook.engine import Context, StepAction, StepResult
from runbook.model import ForeignKey, Schema, Table, normalize_type
from runbook.verify import VerifyReport, verify

if TYPE_CHECKING:
    from runbook.validator import ValidationResult

SCRATCH_PREFIX = "runbook_scratch_"
SCRATCH_LIKE = r"runbook\_scratch\_%"
# Rows copied from each parent table: a few roots (companies), then up to
# SAMPLE_ROWS of each table below them whose parents were copied.
SAMPLE_ROOTS = 5
SAMPLE_ROWS = 200
INSERT_CHUNK = 500
# The drop of the scratch database waits at most this long for a metadata lock.
DROP_LOCK_WAIT_S = 30

CREATE = "Test database creation"
CLONE = "Schema cloning"
MIGRATE = "Migration execution ({n} tables)"
FOREIGN_KEYS = "Foreign key validation (CASCADE)"
INDEXES = "Index verification"
CASCADE = "Cascade delete testing"
ROLLBACK = "Rollback testing"
REMIGRATE = "Re-migration testing"
INTEGRITY = "Data integrity check"
TEST_COUNT = 9

Emit = Callable[[str, dict[str, Any]], None]


@dataclass
class TestResult:
    __test__ = False  # not a pytest class, whatever its name says

    name: str
    ok: bool
    evidence: list[str]
    elapsed_s: float


@dataclass
class SuiteReport:
    results: list[TestResult]
    scratch: str
    target: str = ""
    dropped: bool = False  # the scratch database is gone (proved, not assumed)
    cleanup_error: str | None = None

    @property
    def ok(self) -> bool:
        return (
            len(self.results) == TEST_COUNT
            and all(r.ok for r in self.results)
            and self.dropped
            and self.cleanup_error is None
        )

    @property
    def failed(self) -> list[TestResult]:
        return [r for r in self.results if not r.ok]

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "target": self.target,
            "scratch": self.scratch,
            "dropped": self.dropped,
            "cleanup_error": self.cleanup_error,
            "tests": [dataclasses.asdict(r) for r in self.results],
        }


class _Fail(Exception):
    """A test failed; ``evidence`` says why."""

    def __init__(self, evidence: Sequence[str]) -> None:
        super().__init__("; ".join(evidence))
        self.evidence = list(evidence)


class _EmitFailed(Exception):
    """The driver's emit callback raised: a driver's error, not a failing test."""


def _lock_name(scratch: str) -> str:
    # held by the run that owns the scratch database, so a later run can tell a
    # leftover of a killed run (lock free) from a database another run is using
    return f"runbook:scratch:{scratch}"


def _ident_word(value: str) -> str:
    """Charset/collation names go into DDL unquoted: allow nothing but a plain word."""
    if not re.fullmatch(r"\w+", value or ""):
        raise _Fail([f"unexpected charset or collation name {value!r}"])
    return value


@contextmanager
def signals_deferred() -> Iterator[list[int]]:
    """Hold SIGINT, SIGTERM and SIGHUP while the block runs, then deliver them.

    Used around the drop of the scratch database: a second Ctrl-C there must not
    leave it behind. Outside the main thread (a Textual worker) handlers cannot be
    set; the app owns the signals there and the block simply runs.
    """
    pending: list[int] = []
    previous: dict[int, Any] = {}

    def note(signum: int, _frame: object) -> None:
        pending.append(signum)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        with suppress(ValueError):
            old = signal.getsignal(sig)
            if old is None:  # installed outside Python: it could not be restored
                continue
            signal.signal(sig, note)
            previous[sig] = old
    try:
        yield pending
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
        for sig in dict.fromkeys(pending):
            signal.raise_signal(sig)


# -- what the live server says -----------------------------------------------------------


@dataclass(frozen=True)
class _Column:
    name: str
    data_type: str
    column_type: str
    nullable: bool
    has_default: bool
    auto_increment: bool
    generated: bool
    max_length: int | None
    collation: str | None
    json: bool


@dataclass(frozen=True)
class _ForeignKey:
    name: str
    table: str
    columns: tuple[str, ...]
    ref_schema: str
    ref_table: str
    ref_columns: tuple[str, ...]
    on_delete: str


@dataclass
class _Table:
    name: str
    columns: list[_Column] = field(default_factory=list)
    primary: tuple[str, ...] = ()
    fks: list[_ForeignKey] = field(default_factory=list)
    indexes: dict[str, tuple[str, ...]] = field(default_factory=dict)  # name -> columns
    rows_estimate: int = 0  # information_schema's TABLE_ROWS: InnoDB's estimate

    def index_leading(self, columns: Sequence[str]) -> str | None:
        """An index whose first columns are ``columns`` (InnoDB keeps one for every FK)."""
        want = tuple(columns)
        return next((n for n, cols in self.indexes.items() if cols[: len(want)] == want), None)

    def column(self, name: str) -> _Column | None:
        return next((c for c in self.columns if c.name == name), None)


def _live_schema(s: Session, db: str) -> dict[str, _Table]:
    """Columns, primary keys and foreign keys of every base table of ``db``."""
    tables: dict[str, _Table] = {
        r["name"]: _Table(r["name"], rows_estimate=int(r["n"] or 0))
        for r in s.query(
            "SELECT table_name AS name, table_rows AS n FROM information_schema.TABLES "
            "WHERE table_schema = %s AND table_type = 'BASE TABLE' ORDER BY table_name",
            [db],
        )
    }
    json_checked: set[tuple[str, str]] = set()
    with suppress(DatabaseError):  # MySQL's CHECK_CONSTRAINTS has no table_name; json is native
        for r in s.query(
            "SELECT table_name AS t, check_clause AS clause "
            "FROM information_schema.CHECK_CONSTRAINTS WHERE constraint_schema = %s",
            [db],
        ):
            for col in re.findall(r"json_valid\(`?(\w+)`?\)", r["clause"] or "", re.I):
                json_checked.add((r["t"], col))
    for r in s.query(
        "SELECT table_name AS t, column_name AS name, data_type AS dt, column_type AS ct, "
        "is_nullable AS nullable, column_default AS dflt, extra, "
        "character_maximum_length AS len, collation_name AS coll "
        "FROM information_schema.COLUMNS WHERE table_schema = %s "
        "ORDER BY table_name, ordinal_position",
        [db],
    ):
        if r["t"] not in tables:
            continue
        extra = (r["extra"] or "").upper()
        tables[r["t"]].columns.append(
            _Column(
                name=r["name"],
                data_type=r["dt"].lower(),
                column_type=r["ct"],
                nullable=r["nullable"] == "YES",
                has_default=r["dflt"] is not None,
                auto_increment="AUTO_INCREMENT" in extra,
                generated="VIRTUAL GENERATED" in extra
                or "STORED GENERATED" in extra
                or "PERSISTENT GENERATED" in extra,
                max_length=int(r["len"]) if r["len"] is not None else None,
                collation=r["coll"],
                json=r["dt"].lower() == "json" or (r["t"], r["name"]) in json_checked,
            )
        )
    indexes: dict[tuple[str, str], list[str]] = {}
    for r in s.query(
        "SELECT table_name AS t, index_name AS i, column_name AS col "
        "FROM information_schema.STATISTICS WHERE table_schema = %s "
        "ORDER BY table_name, index_name, seq_in_index",
        [db],
    ):
        indexes.setdefault((r["t"], r["i"]), []).append(r["col"])
    for (name, index), cols in indexes.items():
        if name in tables:
            tables[name].indexes[index] = tuple(cols)
    for t in tables.values():
        t.primary = t.indexes.get("PRIMARY", ())
    fks: dict[tuple[str, str], dict[str, Any]] = {}
    for r in s.query(
        "SELECT k.table_name AS t, k.constraint_name AS name, k.column_name AS col, "
        "k.referenced_table_schema AS rs, k.referenced_table_name AS rt, "
        "k.referenced_column_name AS rc, rc.delete_rule AS on_delete "
        "FROM information_schema.KEY_COLUMN_USAGE k "
        "JOIN information_schema.REFERENTIAL_CONSTRAINTS rc "
        "  ON rc.constraint_schema = k.constraint_schema "
        " AND rc.constraint_name = k.constraint_name AND rc.table_name = k.table_name "
        "WHERE k.table_schema = %s AND k.referenced_table_name IS NOT NULL "
        "ORDER BY k.table_name, k.constraint_name, k.ordinal_position",
        [db],
    ):
        fk = fks.setdefault(
            (r["t"], r["name"]),
            {"rs": r["rs"], "rt": r["rt"], "cols": [], "refs": [], "on_delete": r["on_delete"]},
        )
        fk["cols"].append(r["col"])
        fk["refs"].append(r["rc"])
    for (t, name), fk in fks.items():
        if t in tables:
            tables[t].fks.append(
                _ForeignKey(
                    name,
                    t,
                    tuple(fk["cols"]),
                    fk["rs"],
                    fk["rt"],
                    tuple(fk["refs"]),
                    fk["on_delete"],
                )
            )
    return tables


def _parents_first(tables: dict[str, _Table], db: str) -> tuple[list[str], bool]:
    """Table names with every FK parent before its children; False when FKs form a cycle."""
    graph = {
        name: {
            fk.ref_table
            for fk in t.fks
            if fk.ref_schema == db and fk.ref_table != name and fk.ref_table in tables
        }
        for name, t in sorted(tables.items())
    }
    try:
        return list(TopologicalSorter(graph).static_order()), True
    except CycleError:
        return sorted(tables), False


def _count_by_rule(rules: Sequence[str]) -> Counter[str]:
    # InnoDB treats RESTRICT and NO ACTION alike, and the servers print either for "unset"
    return Counter("RESTRICT" if r in ("RESTRICT", "NO ACTION") else r for r in rules)


def _rules_text(counts: Counter[str]) -> str:
    return ", ".join(f"{rule} {n}" for rule, n in sorted(counts.items()))


def _topic(problem: str) -> str:
    """Which of the nine tests a verify() problem belongs to."""
    if ": foreign key " in problem or problem.startswith("foreign_keys:"):
        return "fk"
    if ": index " in problem or problem.startswith(("indexes:", "unique_indexes:")):
        return "index"
    if "orphaned" in problem:
        return "data"
    return "schema"


# -- rows for the cascade tests ----------------------------------------------------------


def _value(col: _Column, n: int) -> Any:
    """A value a NOT NULL column without a default accepts; ``n`` keeps unique keys apart."""
    dt = col.data_type
    if dt in ("enum", "set"):
        m = re.search(r"'((?:[^']|'')*)'", col.column_type)
        return m.group(1).replace("''", "'") if m else ""
    if col.json:
        return "{}"
    if dt in ("timestamp", "datetime"):
        return "2025-10-01 00:00:00"
    if dt == "date":
        return "2025-10-01"
    if dt == "time":
        return "00:00:00"
    if dt == "year":
        return 2025
    if dt in ("tinyint", "smallint", "mediumint", "int", "bigint", "decimal", "float", "double"):
        return n % 100
    if dt == "bit":
        return 0
    if dt in ("binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"):
        raw = f"rb{n}".encode()
        return raw[: col.max_length] if col.max_length else raw
    if dt == "char" and col.max_length == 36:
        return str(uuid.uuid4())
    text = f"runbook-test-{n}"
    return text[-col.max_length :] if col.max_length else text


class _Builder:
    """Inserts fresh rows, their required parents first (fresh too, reused within a case)."""

    def __init__(self, s: Session, db: str, tables: dict[str, _Table]) -> None:
        self.s, self.db, self.tables = s, db, tables
        self.cached: dict[str, dict[str, Any]] = {}
        self.counter = 0

    def parent(self, name: str) -> dict[str, Any]:
        if name not in self.cached:
            self.insert(name)
        return self.cached[name]

    def insert(self, name: str, fixed: dict[str, Any] | None = None) -> dict[str, Any]:
        t = self.tables.get(name)
        if t is None:
            raise _Fail([f"cannot build a row of {name}: no such table in the scratch database"])
        if not t.primary:
            raise _Fail([f"cannot build a row of {name}: it has no primary key to find it by"])
        fixed = fixed or {}
        fk_of = {c: fk for fk in t.fks for c in fk.columns}
        values: dict[str, Any] = {}
        for col in t.columns:
            if col.generated:
                continue
            if col.name in fixed:
                values[col.name] = fixed[col.name]
                continue
            if col.auto_increment:
                continue
            fk = fk_of.get(col.name)
            if fk is not None and not col.nullable:
                if fk.ref_table == name or fk.ref_schema != self.db:
                    raise _Fail(
                        [f"cannot build a row of {name}: {col.name} needs a row of {fk.ref_table}"]
                    )
                parent = self.parent(fk.ref_table)
                values[col.name] = parent[fk.ref_columns[fk.columns.index(col.name)]]
            elif fk is None and not col.nullable and not col.has_default:
                self.counter += 1
                values[col.name] = _value(col, self.counter)
        table = f"{quote_ident(self.db)}.{quote_ident(name)}"
        self.s.execute(
            f"INSERT INTO {table} ({', '.join(map(quote_ident, values))}) "
            f"VALUES ({', '.join(['%s'] * len(values))})",
            list(values.values()),
        )
        key = []
        for c in t.primary:
            col = t.column(c)
            if c in values:
                key.append(values[c])
            elif col is not None and col.auto_increment:
                key.append(self.s.scalar("SELECT LAST_INSERT_ID()"))
            else:
                raise _Fail([f"cannot tell the primary key of the new {name} row"])
        row = self.s.query(f"SELECT * FROM {table} WHERE {_where(t.primary)}", key)[0]
        self.cached.setdefault(name, row)
        return row


def _rows(rows: list[dict[str, Any]]) -> list[str]:
    """Rows as an order-free, comparable list."""
    return sorted(repr(sorted(r.items())) for r in rows)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _where(columns: Sequence[str]) -> str:
    return " AND ".join(f"{quote_ident(c)} = %s" for c in columns)


@contextmanager
def _rolled_back(s: Session) -> Iterator[None]:
    """A transaction that never commits. On Ctrl-C the rollback is attempted but may fail
    (the connection can be half way through a reply): the drop of the database ends it."""
    s.execute("START TRANSACTION")
    try:
        yield
    except BaseException:
        with suppress(Exception):
            s.execute("ROLLBACK")
        raise
    s.execute("ROLLBACK")


# -- the suite ---------------------------------------------------------------------------


class _Suite:
    def __init__(self, target: Target, validation: ValidationResult, emit: Emit) -> None:
        self.target = target
        self.validation = validation
        self._emit = emit
        self.db = target.database
        self.scratch = SCRATCH_PREFIX + uuid.uuid4().hex[:12]
        if self.scratch == self.db:  # cannot happen, and must not, ever
            raise ValueError("the scratch database would be the target")
        self.migrations = [m for m in validation.migrations if m.complete]
        self.expected = validation.expected
        self.results: list[TestResult] = []
        self.passed: set[str] = set()
        self.work: Session | None = None
        self.work_id: int | None = None
        self.db_claimed = False  # from just before CREATE DATABASE: cleanup drops IF EXISTS
        self.cloned: list[str] = []
        self.sampled: dict[str, int] = {}
        self.parent_rows: dict[str, int] = {}
        self.created: list[str] = []
        self.fp_target: fingerprint.Fingerprint | None = None
        self.fp_clone: fingerprint.Fingerprint | None = None
        self.fp_migrated: fingerprint.Fingerprint | None = None
        self.checkpoints: list[tuple[str, fingerprint.Fingerprint]] = []
        self.verified: VerifyReport | None = None  # on the first migration

    @property
    def migrate_name(self) -> str:
        return MIGRATE.format(n=len(self.validation.migrations))

    @property
    def s(self) -> Session:
        assert self.work is not None
        return self.work

    def emit(self, kind: str, data: dict[str, Any]) -> None:
        try:
            self._emit(kind, data)
        except Exception as exc:
            raise _EmitFailed() from exc

    def say(self, text: str, level: str = "info") -> None:
        self.emit("output", {"text": text, "level": level})

    def q(self, table: str) -> str:
        return f"{quote_ident(self.scratch)}.{quote_ident(table)}"

    # -- driver ------------------------------------------------------------------------

    def run(self) -> None:
        self._test(CREATE, self.t_create, ())
        self._test(CLONE, self.t_clone, (CREATE,))
        self._test(self.migrate_name, self.t_migrate, (CLONE,))
        self._test(FOREIGN_KEYS, self.t_foreign_keys, (CLONE,))
        self._test(INDEXES, self.t_indexes, (self.migrate_name,))
        self._test(CASCADE, self.t_cascade, (self.migrate_name,))
        self._test(ROLLBACK, self.t_rollback, (self.migrate_name,))
        self._test(REMIGRATE, self.t_remigrate, (ROLLBACK,))
        self._test(INTEGRITY, self.t_integrity, (CLONE,))

    def _test(self, name: str, fn: Callable[[], list[str]], needs: Sequence[str]) -> None:
        self.emit("test_start", {"name": name})
        started = time.monotonic()
        missing = [n for n in needs if n not in self.passed]
        ok = False
        if missing:
            evidence = [f"not run: {missing[0]} failed"]
        else:
            try:
                evidence = fn()
                ok = True
            except _EmitFailed:
                raise
            except _Fail as exc:
                evidence = exc.evidence
            except (DatabaseError, migrate.MigrationError) as exc:
                code = getattr(exc, "code", None)
                evidence = [f"the server said: [{code}] {exc}" if code else str(exc)]
            except Exception as exc:  # a bug must fail the test loudly, never pass it
                evidence = [f"unexpected {type(exc).__name__}: {exc}"]
        elapsed = round(time.monotonic() - started, 3)
        if ok:
            self.passed.add(name)
        self.results.append(TestResult(name, ok, evidence, elapsed))
        self.emit("test_end", {"name": name, "ok": ok, "evidence": evidence, "elapsed_s": elapsed})

    def checkpoint(self, label: str) -> fingerprint.Fingerprint:
        fp = fingerprint.take(self.s, self.scratch, data=True)
        self.checkpoints.append((label, fp))
        return fp

    # -- 1. test database creation -----------------------------------------------------

    def t_create(self) -> list[str]:
        self.work = self.target.connect(database=None)
        self.work_id = self.work.connection_id
        s = self.s
        # Sample rows travel through Python: UTC keeps timestamps exact both ways. A lock
        # wait ends in seconds, not in the server's default day.
        s.set_session({"time_zone": "+00:00", "lock_wait_timeout": migrate.LOCK_WAIT_TIMEOUT_S})
        evidence: list[str] = []
        rows = s.query(
            "SELECT default_character_set_name AS cs, default_collation_name AS co "
            "FROM information_schema.SCHEMATA WHERE schema_name = %s",
            [self.db],
        )
        if not rows:
            raise _Fail([f"the target database does not exist: {self.target.cfg.where}"])
        charset, collation = _ident_word(rows[0]["cs"]), _ident_word(rows[0]["co"])
        leftovers = self._drop_leftovers()
        if s.scalar("SELECT GET_LOCK(%s, 0)", [_lock_name(self.scratch)]) != 1:
            raise _Fail([f"could not take the lock {_lock_name(self.scratch)}"])
        self.db_claimed = True
        try:
            s.execute(
                f"CREATE DATABASE {quote_ident(self.scratch)} "
                f"CHARACTER SET {charset} COLLATE {collation}"
            )
        except DatabaseError as exc:
            hint = (
                f" (the user needs ALL PRIVILEGES ON `{SCRATCH_LIKE}`.*)"
                if exc.code in (1044, 1045, 1142)
                else ""
            )
            raise _Fail(
                [f"CREATE DATABASE {self.scratch} refused: [{exc.code}] {exc}{hint}"]
            ) from None
        s.execute(f"USE {quote_ident(self.scratch)}")
        tables = len(migrate.existing_tables(s, self.scratch))
        if tables or s.scalar("SELECT DATABASE()") != self.scratch:
            raise _Fail([f"{self.scratch} is not a new, empty database ({tables} tables)"])
        evidence.append(
            f"{self.scratch} created on the target's server ({charset}, {collation}), empty, "
            "held by this run's lock"
        )
        if leftovers:
            evidence.append(
                f"dropped {len(leftovers)} leftover scratch database(s) of interrupted runs: "
                + ", ".join(leftovers)
            )
        return evidence

    def _drop_leftovers(self) -> list[str]:
        """Scratch databases whose run is gone (its lock is free): a kill -9 leaves them."""
        s = self.s
        dropped = []
        for r in s.query(
            "SELECT schema_name AS name FROM information_schema.SCHEMATA WHERE schema_name LIKE %s",
            [SCRATCH_LIKE],
        ):
            name = r["name"]
            lock = _lock_name(name)
            if s.scalar("SELECT GET_LOCK(%s, 0)", [lock]) != 1:
                continue  # another run is using it
            try:
                s.execute(f"DROP DATABASE IF EXISTS {quote_ident(name)}")
                dropped.append(name)
                self.say(f"dropped {name}, left behind by an interrupted run", "warning")
            except DatabaseError as exc:  # someone's session still in it: not this run's problem
                self.say(f"could not drop the leftover {name}: {exc}", "warning")
            s.scalar("SELECT RELEASE_LOCK(%s)", [lock])
        return dropped

    # -- 2. schema cloning ---------------------------------------------------------------

    def t_clone(self) -> list[str]:
        s = self.s
        reader = self.target.connect()
        try:
            # Both ends in UTC: a TIMESTAMP read in one zone and written in another would
            # land hours away from where it was.
            reader.set_session({"time_zone": "+00:00"})
            self.fp_target = fingerprint.take(reader, self.db)
            live = _live_schema(reader, self.db)
            notes = []
            views = reader.scalar(
                "SELECT COUNT(*) FROM information_schema.TABLES "
                "WHERE table_schema = %s AND table_type = 'VIEW'",
                [self.db],
            )
            if views:
                notes.append(f"{views} view(s) not cloned (the migrations do not use them)")
            ours = {migrate.table_of(m) for m in self.migrations}
            already = sorted(ours & set(live))
            for name in already:
                del live[name]
            if already:
                notes.append(
                    f"the target already has {', '.join(already)}: cloned as before the "
                    "deployment, without them and their migrations rows"
                )
            order, acyclic = _parents_first(live, self.db)
            if not acyclic:
                # parents-first is impossible; the checks go back on before any migration
                s.set_session({"foreign_key_checks": 0})
            for name in order:
                show = f"SHOW CREATE TABLE {quote_ident(self.db)}.{quote_ident(name)}"
                s.execute(reader.query(show)[0]["Create Table"])
                self.cloned.append(name)
            if not acyclic:
                # on an error the session is only used to drop the database
                s.set_session({"foreign_key_checks": 1})
            history = self._copy_history(reader, live, {m.name for m in self.migrations})
            copied = self._sample(reader, live, order)
            # read back by the reader, in the zone the rows were read in: exact copies
            altered = [
                name
                for name, rows in copied.items()
                if _rows(reader.query(self._select(live[name], self.scratch))) != _rows(rows)
            ]
        finally:
            reader.close()
        mine = fingerprint.take(s, self.scratch)
        ours = {m.name for m in self.migrations}
        problems = [
            f"{name}: its definition differs from the target's"
            for name in self.cloned
            if mine.tables.get(name) != self.fp_target.tables.get(name)
        ]
        if mine.migrations != tuple(m for m in self.fp_target.migrations if m[0] not in ours):
            problems.append("the migrations rows differ from the target's")
        problems += [
            f"{name}: the sample rows read back differ from the target's" for name in altered
        ]
        if problems:
            raise _Fail(["the clone is not a faithful copy:", *problems])
        self.fp_clone = fingerprint.take(s, self.scratch, data=True)
        how = "parents first" if acyclic else "foreign_key_checks=0 (the FKs form a cycle)"
        sample = ", ".join(f"{t} {n}" for t, n in self.sampled.items())
        return [
            f"{len(self.cloned)} tables cloned from {self.db} ({how}); every definition "
            "identical to the target's (SHOW CREATE TABLE fingerprints)",
            history,
            f"sample rows, every foreign key satisfied, read back identical: {sample or 'none'}",
            *notes,
        ]

    def _copy_history(self, reader: Session, live: dict[str, _Table], ours: set[str]) -> str:
        if "migrations" not in live:
            return "the target has no migrations table"
        rows = [
            r
            for r in reader.query(f"SELECT * FROM {quote_ident(self.db)}.migrations ORDER BY id")
            if r.get("migration") not in ours
        ]
        self._insert_rows(live["migrations"], rows)
        batches = sorted({int(r["batch"]) for r in rows if r.get("batch") is not None})
        span = f"batches {batches[0]}–{batches[-1]}" if batches else "no batches"
        return f"migration history: {len(rows)} migrations rows ({span})"

    def _sample(
        self, reader: Session, live: dict[str, _Table], order: list[str]
    ) -> dict[str, list[dict[str, Any]]]:
        """A few roots (companies) and rows of the tables the model's FKs need, consistent.

        Plain reads inside one consistent snapshot: no locks on the target's rows, and
        every child row copied references a parent row that was copied.
        """
        wanted = {
            fk.ref_table for t in self.expected.tables.values() for fk in t.foreign_keys
        } - set(self.expected.tables)
        closure: set[str] = set()
        stack = [t for t in wanted if t in live]
        while stack:
            name = stack.pop()
            if name in closure:
                continue
            closure.add(name)
            stack += [
                fk.ref_table
                for fk in live[name].fks
                if fk.ref_schema == self.db and fk.ref_table in live
            ]
        self.parent_rows = {name: t.rows_estimate for name, t in live.items()}
        copied: dict[str, list[dict[str, Any]]] = {}
        # On an error the caller closes the reader, which ends the snapshot.
        reader.query("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
        for name in order:
            if name not in closure:
                continue
            rows = self._sample_rows(reader, live[name], copied)
            copied[name] = rows
            self._insert_rows(live[name], rows)
            self.sampled[name] = len(rows)
        reader.query("ROLLBACK")
        return copied

    def _sample_rows(
        self, reader: Session, t: _Table, copied: dict[str, list[dict[str, Any]]]
    ) -> list[dict[str, Any]]:
        conds: list[str] = []
        args: list[Any] = []
        parents = 0
        # The anchor: the most selective NOT NULL FK, read through its index. Left to
        # itself the optimizer may walk another FK's index across the whole table (seen:
        # 169k of 200k appointments read for 200 rows); forced, it reads the sampled
        # parents' children and nothing else.
        anchor: tuple[float, str] | None = None
        for fk in t.fks:
            if fk.ref_schema != self.db:
                continue  # a parent in another schema: the clone references the same rows
            cols = [f"c.{quote_ident(c)}" for c in fk.columns]
            null = " OR ".join(f"{c} IS NULL" for c in cols)
            keys = sorted(
                {
                    tuple(r[rc] for rc in fk.ref_columns)
                    for r in copied.get(fk.ref_table, [])
                    if fk.ref_table != t.name
                },
                key=repr,
            )
            if fk.ref_table != t.name and fk.ref_table in copied:
                parents += 1
            if not keys:
                conds.append(f"({null})")
                continue
            if len(cols) == 1:
                test = f"{cols[0]} IN ({', '.join(['%s'] * len(keys))})"
            else:
                one = "(" + ", ".join(["%s"] * len(cols)) + ")"
                test = f"({', '.join(cols)}) IN ({', '.join([one] * len(keys))})"
            args += [v for key in keys for v in key]
            columns = [t.column(c) for c in fk.columns]
            index = t.index_leading(fk.columns)
            if index and all(c is not None and not c.nullable for c in columns):
                share = len(keys) / max(1, self.parent_rows.get(fk.ref_table, 0))
                if anchor is None or share < anchor[0]:
                    anchor = (share, index)
                conds.append(f"({test})")
            else:
                conds.append(f"({null} OR {test})")
        where = " AND ".join(conds) or "1"
        hint = f" FORCE INDEX ({quote_ident(anchor[1])})" if anchor else ""
        if parents:
            limit, order = SAMPLE_ROWS, ""
        else:
            limit = SAMPLE_ROOTS
            order = (
                " ORDER BY " + ", ".join(f"c.{quote_ident(c)}" for c in t.primary)
                if t.primary
                else ""
            )
        return reader.query(
            f"{self._select(t, self.db)}{hint} WHERE {where}{order} LIMIT {int(limit)}", args
        )

    @staticmethod
    def _select(t: _Table, db: str) -> str:
        selected = ", ".join(f"c.{quote_ident(c.name)}" for c in t.columns if not c.generated)
        return f"SELECT {selected} FROM {quote_ident(db)}.{quote_ident(t.name)} c"

    def _insert_rows(self, t: _Table, rows: list[dict[str, Any]]) -> None:
        cols = [c.name for c in t.columns if not c.generated]
        for i in range(0, len(rows), INSERT_CHUNK):
            chunk = rows[i : i + INSERT_CHUNK]
            one = "(" + ", ".join(["%s"] * len(cols)) + ")"
            self.s.execute(
                f"INSERT INTO {self.q(t.name)} ({', '.join(map(quote_ident, cols))}) "
                f"VALUES {', '.join([one] * len(chunk))}",
                [r[c] for r in chunk for c in cols],
            )

    # -- 3. migration execution -----------------------------------------------------------

    def _apply(self) -> tuple[list[migrate.Applied], int, float]:
        s = self.s
        incomplete = [m.name for m in self.validation.migrations if not m.complete]
        if incomplete:
            raise _Fail(
                [f"incomplete migration (an up or down file missing): {n}" for n in incomplete]
            )
        if not self.migrations:
            raise _Fail(["the migration set is empty"])
        if "migrations" not in self.cloned:
            raise _Fail([f"{self.db} has no migrations table: the history cannot be recorded"])
        # The DDL below is unqualified, as the deployment runs it: prove where it lands.
        if s.scalar("SELECT DATABASE()") != self.scratch:
            raise _Fail(["the working session is not in the scratch database; nothing was run"])
        if int(s.scalar("SELECT @@SESSION.foreign_key_checks")) != 1:
            raise _Fail(["foreign_key_checks is off: the migrations must run with it on"])
        batch = migrate.next_batch(s, self.scratch)
        created: list[str] = []
        self.created = created

        def listener(kind: str, data: dict[str, Any]) -> None:
            if kind == "statement":
                self.say(f"applied {data['migration']} in {data['elapsed_ms']} ms")
            elif kind == "lock_wait":
                self.say(f"{data['migration']}: waited for a lock", "warning")

        started = time.monotonic()
        applied = migrate.apply(
            s, self.scratch, self.migrations, batch, listener=listener, created=created
        )
        return applied, batch, time.monotonic() - started

    def t_migrate(self) -> list[str]:
        s = self.s
        try:
            applied, batch, seconds = self._apply()
        except migrate.MigrationError as exc:
            failing = next(
                (migrate.table_of(m) for m in self.migrations if m.name == exc.migration), None
            )
            table = self.expected.table(failing) if failing else None
            why = _fk_compat(s, self.scratch, self.expected, [table] if table else [])
            self.checkpoint("after the failed migration")
            raise _Fail(
                [
                    str(exc),
                    *why,
                    f"{len(self.created)} of {len(self.migrations)} applied before it"
                    + (f": {', '.join(self.created)}" if self.created else ""),
                ]
            ) from None
        recorded = migrate.recorded(s, self.scratch)
        missing = [m.name for m in self.migrations if recorded.get(m.name) != batch]
        if missing:
            raise _Fail([f"not recorded in migrations as batch {batch}: {', '.join(missing)}"])
        self.verified = verify(s, self.scratch, self.validation, behavioural=False)
        schema = [p for p in self.verified.problems if _topic(p) == "schema"]
        self.fp_migrated = self.checkpoint("after migration")
        if schema:
            raise _Fail(["the tables as created differ from sql/:", *schema])
        warnings = [f"{a.table}: {w}" for a in applied for w in a.warnings]
        return [
            f"{len(applied)} migrations applied as batch {batch} with foreign_key_checks=1 in "
            f"{seconds * 1000:.0f} ms, by the deployment's own code (runbook.migrate.apply)",
            f"{len(applied)} migrations rows recorded; every table matches sql/ column for column",
            *(["server warnings: " + "; ".join(warnings)] if warnings else []),
        ]

    # -- 4. foreign keys -------------------------------------------------------------------

    def t_foreign_keys(self) -> list[str]:
        s = self.s
        want = _count_by_rule(
            [fk.on_delete for t in self.expected.tables.values() for fk in t.foreign_keys]
        )
        total = sum(want.values())
        if self.migrate_name not in self.passed:
            problems = _fk_compat(
                s, self.scratch, self.expected, list(self.expected.tables.values())
            )
            raise _Fail(
                [
                    f"not read back: {self.migrate_name} failed",
                    *(
                        problems
                        or [
                            "every parent column matches its FK column in the clone; "
                            "see the server's error"
                        ]
                    ),
                ]
            )
        assert self.verified is not None
        problems = [p for p in self.verified.problems if _topic(p) == "fk"]
        names = list(self.expected.tables)
        rows = s.query(
            "SELECT delete_rule AS r FROM information_schema.REFERENTIAL_CONSTRAINTS "
            f"WHERE constraint_schema = %s AND table_name IN ({', '.join(['%s'] * len(names))})",
            [self.scratch, *names],
        )
        got = _count_by_rule([r["r"] for r in rows])
        if got != want:
            problems.append(
                f"ON DELETE rules read back: {_rules_text(got)}; sql/: {_rules_text(want)}"
            )
        if problems:
            raise _Fail(problems)
        return [
            f"{sum(got.values())}/{total} foreign keys read back from information_schema match "
            f"sql/ by name, columns, parent and ON DELETE ({_rules_text(got)})"
        ]

    # -- 5. indexes --------------------------------------------------------------------------

    def t_indexes(self) -> list[str]:
        assert self.verified is not None
        problems = [p for p in self.verified.problems if _topic(p) == "index"]
        if problems:
            raise _Fail(problems)
        counts = self.verified.counts
        return [
            f"{counts['indexes']} indexes ({counts['unique_indexes']} unique, PRIMARY included) "
            f"on {counts['tables']} tables match sql/ by name and columns",
            "no index the DDL does not declare (every foreign key column leads a declared index)",
        ]

    # -- 6. cascade deletes and SET NULL -------------------------------------------------

    def t_cascade(self) -> list[str]:
        live = _live_schema(self.s, self.scratch)
        cases: dict[tuple[str, str], list[tuple[Table, ForeignKey]]] = {}
        for table in self.expected.tables.values():
            for fk in table.foreign_keys:
                rule = "RESTRICT" if fk.on_delete in ("RESTRICT", "NO ACTION") else fk.on_delete
                cases.setdefault((fk.ref_table, rule), []).append((table, fk))
        problems: list[str] = []
        done: dict[str, list[str]] = {}
        counted: Counter[str] = Counter()
        for (parent, rule), fks in cases.items():
            try:
                found = self._case(live, parent, rule, fks)
            except _EmitFailed:
                raise
            except _Fail as exc:  # one case that cannot run does not hide the others
                found = [f"{parent} (ON DELETE {rule}): {line}" for line in exc.evidence]
            except DatabaseError as exc:
                found = [f"{parent} (ON DELETE {rule}): the server said: [{exc.code}] {exc}"]
            problems += found
            if not found:
                counted[rule] += len(fks)
                tables = {t.name for t, _ in fks}
                what = (
                    _plural(len(tables), "table")
                    if rule == "CASCADE"
                    else _plural(len(fks), "column")
                )
                done.setdefault(rule, []).append(f"{parent} → {what}")
        self.checkpoint("after the cascade tests")
        if problems:
            raise _Fail(problems)
        want = _count_by_rule([fk.on_delete for fks in cases.values() for _, fk in fks])
        evidence = [
            f"{rule} {counted[rule]}/{want[rule]}: "
            + ", ".join(done[rule])
            + {"SET NULL": " (rows kept)", "RESTRICT": " (delete refused)"}.get(rule, "")
            for rule in sorted(done)
        ]
        return [*evidence, "each case: fresh rows, deleted with real DELETEs, rolled back"]

    def _case(
        self,
        live: dict[str, _Table],
        parent: str,
        rule: str,
        fks: list[tuple[Table, ForeignKey]],
    ) -> list[str]:
        s = self.s
        problems: list[str] = []
        with _rolled_back(s):
            b = _Builder(s, self.scratch, live)
            prow = b.parent(parent)
            by_child: dict[str, list[ForeignKey]] = {}
            for table, fk in fks:
                by_child.setdefault(table.name, []).append(fk)
            children = []
            for child, cfks in by_child.items():
                fixed = {
                    c: prow[rc]
                    for fk in cfks
                    for c, rc in zip(fk.columns, fk.ref_columns, strict=True)
                }
                children.append((child, b.insert(child, fixed), cfks))
            self.say(
                f"deleting a row of {parent}: expecting ON DELETE {rule} on "
                + _plural(sum(len(c) for _, _, c in children), "foreign key")
            )
            pkey = live[parent].primary
            refused: DatabaseError | None = None
            try:
                s.execute(
                    f"DELETE FROM {self.q(parent)} WHERE {_where(pkey)}", [prow[c] for c in pkey]
                )
            except DatabaseError as exc:
                refused = exc
            if rule == "RESTRICT":
                if refused is None or refused.code != 1451:
                    names = ", ".join(fk.name for _, _, c in children for fk in c)
                    problems.append(
                        f"{names}: deleting a referenced {parent} row was "
                        + (f"refused with [{refused.code}] {refused}" if refused else "allowed")
                        + " (expected ON DELETE RESTRICT to refuse it, 1451)"
                    )
                return problems
            if refused is not None:
                return [f"deleting a row of {parent} was refused: [{refused.code}] {refused}"]
            for child, row, cfks in children:
                ckey = live[child].primary
                after = s.query(
                    f"SELECT * FROM {self.q(child)} WHERE {_where(ckey)}", [row[c] for c in ckey]
                )
                for fk in cfks:
                    problems += _check_rule(fk, child, parent, rule, after[0] if after else None)
        return problems

    # -- 7. rollback -------------------------------------------------------------------------

    def t_rollback(self) -> list[str]:
        s = self.s
        ran: list[str] = []

        def listener(kind: str, data: dict[str, Any]) -> None:
            if kind == "statement":
                ran.append(data["table"])
                self.say(f"down: dropped {data['table']}")

        expected_order = list(reversed(self.created))
        migrate.undo(s, self.scratch, self.created, self.migrations, listener=listener)
        self.created = [t for t in self.created if t not in ran]
        after = self.checkpoint("after rollback")
        problems = []
        if ran != expected_order:
            problems.append(
                f"down files ran in the order {', '.join(ran)}; newest first is "
                + ", ".join(expected_order)
            )
        assert self.fp_clone is not None
        problems += after.diff(self.fp_clone)
        if problems:
            raise _Fail(["the scratch database is not as cloned after the rollback:", *problems])
        return [
            f"{len(ran)} down files ran newest first: {' → '.join(ran)}",
            f"schema, migrations rows and data identical to the clone (fingerprint of "
            f"{len(after.tables)} tables, {len(after.migrations)} migrations rows)",
        ]

    # -- 8. re-migration ---------------------------------------------------------------------

    def t_remigrate(self) -> list[str]:
        try:
            applied, batch, seconds = self._apply()
        except migrate.MigrationError as exc:
            raise _Fail([f"the second run failed: {exc}"]) from None
        report = verify(self.s, self.scratch, self.validation, behavioural=False)
        again = self.checkpoint("after re-migration")
        assert self.fp_migrated is not None
        # migrations rows get new auto-increment ids the second time: their (name, batch)
        # pairs are compared instead, by the fingerprint itself
        problems = report.problems + [
            d for d in again.diff(self.fp_migrated) if d != "table migrations holds different data"
        ]
        if problems:
            raise _Fail(["the second run differs from the first:", *problems])
        return [
            f"{len(applied)} migrations applied again as batch {batch} in {seconds * 1000:.0f} ms",
            "schema, migrations rows and data identical to the first run (fingerprint); "
            "verify: 0 differences from sql/",
        ]

    # -- 9. data integrity ---------------------------------------------------------------

    def t_integrity(self) -> list[str]:
        s = self.s
        assert self.fp_clone is not None and self.fp_target is not None
        before = self.fp_clone.checksums
        existing = [t for t in self.cloned if t != "migrations"]
        problems = []
        for label, fp in self.checkpoints:
            changed = [t for t in existing if fp.checksums.get(t) != before.get(t)]
            if changed:
                problems.append(f"{label}: {', '.join(changed)} changed (CHECKSUM TABLE)")
        live = _live_schema(s, self.scratch)
        fks = [fk for t in live.values() for fk in t.fks]
        orphans = {}
        for fk in fks:
            n = _orphans(s, self.scratch, fk)
            if n:
                orphans[fk.name] = n
        problems += [f"{fk}: {n} orphaned row(s)" for fk, n in orphans.items()]
        reader = self.target.connect()
        try:
            target_now = fingerprint.take(reader, self.db)
        finally:
            reader.close()
        changed_target = target_now.diff(self.fp_target)
        problems += [f"the target {self.db} changed: {d}" for d in changed_target]
        if problems:
            raise _Fail(problems)
        new = sum(1 for fk in fks if fk.table in self.expected.tables)
        rows = sum(self.sampled.values())
        labels = ", ".join(label for label, _ in self.checkpoints) or "none (nothing ran)"
        return [
            f"{len(existing)} pre-existing tables ({rows} sampled rows) kept their checksums "
            f"at {_plural(len(self.checkpoints), 'checkpoint')}: {labels}",
            f"0 orphaned rows across {len(fks)} foreign keys "
            f"({new} new, {len(fks) - new} existing)",
            f"target {self.db}: schema and migrations rows unchanged (fingerprint)",
        ]

    # -- cleanup -----------------------------------------------------------------------------

    def cleanup(self, *, reuse: bool) -> tuple[bool, str | None]:
        """Drop the scratch database; (gone, error). Runs with signals deferred.

        ``reuse``: the suite ended normally, so the working session can drop it. After an
        exception (Ctrl-C may have struck in the middle of a reply, leaving the next
        answer on that connection belonging to the previous question) a new session
        ends the old one and drops the database.
        """
        if not self.db_claimed:
            self._close()
            return True, None
        errors: list[str] = []
        gone = False
        if self.work is not None and reuse:
            try:
                self.work.execute("ROLLBACK")
                self.work.execute(f"DROP DATABASE IF EXISTS {quote_ident(self.scratch)}")
                gone = not self._exists(self.work)
            except Exception as exc:  # a connection broken by Ctrl-C mid-reply, a lost server
                errors.append(str(exc))
        if not gone:
            try:
                gone = self._drop_fresh()
            except Exception as exc:
                errors.append(str(exc))
        self._close()
        if gone:
            return True, None
        return False, (
            f"could not drop {self.scratch}: {'; '.join(errors) or 'it is still there'}; "
            f"drop it by hand: DROP DATABASE `{self.scratch}`"
        )

    def _drop_fresh(self) -> bool:
        fresh = self.target.connect(database=None)
        try:
            fresh.set_session({"lock_wait_timeout": DROP_LOCK_WAIT_S})
            if self.work_id is not None:
                # our abandoned connection may still run a statement or hold locks there
                with suppress(DatabaseError):
                    fresh.execute(f"KILL {int(self.work_id)}")
                self._close()
            fresh.execute(f"DROP DATABASE IF EXISTS {quote_ident(self.scratch)}")
            return not self._exists(fresh)
        finally:
            fresh.close()

    def _exists(self, s: Session) -> bool:
        return bool(
            s.scalar(
                "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE schema_name = %s",
                [self.scratch],
            )
        )

    def _close(self) -> None:
        if self.work is not None:
            self.work.close()  # also releases the scratch lock
            self.work = None


def _check_rule(
    fk: ForeignKey, child: str, parent: str, rule: str, after: dict[str, Any] | None
) -> list[str]:
    if rule == "CASCADE":
        if after is not None:
            return [
                f"{fk.name}: deleting the {parent} row left its {child} row "
                "(expected ON DELETE CASCADE)"
            ]
        return []
    if rule == "SET NULL":
        if after is None:
            return [
                f"{fk.name}: deleting the {parent} row deleted its {child} row "
                "(expected ON DELETE SET NULL)"
            ]
        kept = [f"{child}.{c} = {after[c]!r}" for c in fk.columns if after[c] is not None]
        if kept:
            return [
                f"{fk.name}: deleting the {parent} row left {', '.join(kept)} (expected SET NULL)"
            ]
        return []
    return [f"{fk.name}: ON DELETE {rule} cannot be tested (InnoDB does not support it)"]


def _orphans(s: Session, db: str, fk: _ForeignKey) -> int:
    on = " AND ".join(
        f"p.{quote_ident(rc)} = c.{quote_ident(cc)}"
        for cc, rc in zip(fk.columns, fk.ref_columns, strict=True)
    )
    not_null = " AND ".join(f"c.{quote_ident(cc)} IS NOT NULL" for cc in fk.columns)
    return int(
        s.scalar(
            f"SELECT COUNT(*) FROM {quote_ident(db)}.{quote_ident(fk.table)} c WHERE {not_null} "
            f"AND NOT EXISTS (SELECT 1 FROM {quote_ident(fk.ref_schema)}."
            f"{quote_ident(fk.ref_table)} p WHERE {on})"
        )
    )


def _fk_compat(s: Session, db: str, expected: Schema, tables: Sequence[Table | None]) -> list[str]:
    """Why the server would refuse these tables' FKs (errno 150): the model's FK columns
    against the parent columns in ``db`` (type, sign, collation, an index leading with them)."""
    live = _live_schema(s, db)
    problems: list[str] = []
    for table in tables:
        if table is None:
            continue
        for fk in table.foreign_keys:
            model_parent = expected.table(fk.ref_table)
            parent_live = live.get(fk.ref_table)
            if parent_live is None and model_parent is None:
                problems.append(f"{fk.name}: the parent table {fk.ref_table} does not exist")
                continue
            for c, rc in zip(fk.columns, fk.ref_columns, strict=True):
                col = table.column(c)
                if col is None:
                    continue
                if parent_live is not None:
                    pcol = parent_live.column(rc)
                    if pcol is None:
                        problems.append(f"{fk.name}: {fk.ref_table}.{rc} does not exist")
                        continue
                    ptype, pcoll = normalize_type(pcol.column_type), pcol.collation
                else:
                    mcol = model_parent.column(rc)
                    if mcol is None:
                        problems.append(f"{fk.name}: {fk.ref_table}.{rc} does not exist")
                        continue
                    ptype, pcoll = mcol.type, model_parent.column_collation(rc)
                ccoll = table.column_collation(c)
                here = f"{table.name}.{c} ({col.type}{f' {ccoll}' if ccoll else ''})"
                there = f"{fk.ref_table}.{rc} ({ptype}{f' {pcoll}' if pcoll else ''})"
                if col.is_string:
                    if ccoll and pcoll and ccoll != pcoll:
                        problems.append(
                            f"{fk.name}: {here} references {there}: the collations differ, "
                            "which the server refuses (errno 150)"
                        )
                elif col.type != ptype:
                    problems.append(
                        f"{fk.name}: {here} references {there}: the types differ, "
                        "which the server refuses (errno 150)"
                    )
            if parent_live is not None and parent_live.index_leading(fk.ref_columns) is None:
                problems.append(
                    f"{fk.name}: no index on {fk.ref_table} starts with "
                    f"({', '.join(fk.ref_columns)}) (errno 150)"
                )
    return problems


def run_suite(target: Target, validation: ValidationResult, emit: Emit) -> SuiteReport:
    """The nine tests on a scratch database that is dropped whatever happens.

    ``emit(kind, data)`` receives test_start {name}, test_end {name, ok, evidence,
    elapsed_s} and output {text, level} as the suite goes, so any driver renders live.
    Ctrl-C propagates (as KeyboardInterrupt) only after the scratch database is gone.
    """
    suite = _Suite(target, validation, emit)
    gone, error, finished = False, None, False
    try:
        suite.run()
        finished = True
    except _EmitFailed as exc:
        raise exc.__cause__ from None  # the driver's own error, after the cleanup below
    finally:
        with signals_deferred():
            try:
                if suite.db_claimed:
                    emit("output", {"text": f"dropping {suite.scratch}", "level": "info"})
            finally:
                gone, error = suite.cleanup(reuse=finished)
                if error:
                    emit("output", {"text": error, "level": "error"})
                elif suite.db_claimed:
                    emit("output", {"text": f"dropped {suite.scratch}", "level": "info"})
    return SuiteReport(
        results=suite.results,
        scratch=suite.scratch,
        target=target.cfg.where,
        dropped=gone,
        cleanup_error=error,
    )


# -- drivers -----------------------------------------------------------------------------


def step_test_suite(ctx: Context) -> StepResult:
    """Flow node ``test_suite``: its failure makes the "Tests failed?" decision STOP."""
    if ctx.dry_run:
        ctx.would(
            "test_suite",
            f"create a {SCRATCH_PREFIX}<id> database on the target's server, run the "
            f"{TEST_COUNT} tests there, drop it",
        )
        return StepResult(ok=True, skipped=True, summary="dry-run: the test suite was not run")
    report = run_suite(
        ctx.target, ctx.state["validation"], lambda kind, data: ctx.emit(kind, **data)
    )
    ctx.state["test_suite"] = report
    if report.ok:
        return StepResult(
            ok=True, summary=f"all {TEST_COUNT} tests passed on {report.scratch} (dropped)"
        )
    evidence = [f"{r.name}: {line}" for r in report.failed for line in r.evidence]
    if report.cleanup_error:
        evidence.append(report.cleanup_error)
    failed = len(report.failed)
    return StepResult(
        ok=False,
        summary=f"{failed} of {TEST_COUNT} tests failed"
        if failed
        else "the scratch database stayed",
        evidence=evidence,
    )


# the flow's node, picked up by runbook.runs.actions()
ACTIONS: dict[str, StepAction] = {"test_suite": step_test_suite}


def cmd_test_migrations(args: argparse.Namespace) -> int:
    """``runbook test-migrations --config F [--sql-dir D] [--json]``."""
    import json

    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table as RichTable

    from runbook import config as config_mod
    from runbook.config import ConfigError
    from runbook.migrations import MigrationSetError
    from runbook.validator import validate

    def console_for(stderr: bool) -> Console:
        console = Console(stderr=stderr, highlight=False)
        if not console.is_terminal:  # plain lines for logs and pipes, no wrapping at 80
            console.soft_wrap = True
        return console

    err = console_for(stderr=True)
    try:
        cfg = config_mod.load(getattr(args, "config", None))
        sql_dir = getattr(args, "sql_dir", None) or cfg.sql_dir
        validation = validate(sql_dir)
    except (ConfigError, MigrationSetError) as exc:
        err.print(f"[red]runbook: {escape(str(exc))}[/]")
        return exitcodes.CONFIG_ERROR
    console = console_for(stderr=False)
    as_json = bool(getattr(args, "json", False))

    def emit(kind: str, data: dict[str, Any]) -> None:
        if as_json:
            return
        if kind == "test_start":
            console.print(f"[bold cyan]▶ {escape(data['name'])}[/]")
        elif kind == "test_end":
            mark = "[green]✓[/]" if data["ok"] else "[red]✗[/]"
            console.print(f"  {mark} {escape(data['name'])} [dim]({data['elapsed_s']:.2f} s)[/]")
        elif kind == "output":
            style = {"error": "red", "warning": "yellow"}.get(data.get("level", ""), "dim")
            console.print(f"  [{style}]{escape(data['text'])}[/]")

    try:
        report = run_suite(Target(cfg.database), validation, emit)
    except DatabaseError as exc:
        err.print(f"[red]runbook: {escape(str(exc))}[/]")
        return exitcodes.FAILED
    if as_json:
        print(json.dumps(report.as_json(), indent=2, default=str))
    elif not console.is_terminal:  # logs and pipes: one line per test, evidence indented
        console.print(f"Automated test suite on {escape(report.target)}")
        for r in report.results:
            mark = "[green]✓[/]" if r.ok else "[red]✗[/]"
            console.print(f"{mark} {escape(r.name)} ({r.elapsed_s:.2f} s)")
            for line in r.evidence:
                console.print(f"    {escape(line)}")
    else:
        table = RichTable(title=f"Automated test suite on {report.target}")
        table.add_column("test", no_wrap=True)
        table.add_column("", justify="center", no_wrap=True)
        table.add_column("evidence", ratio=1)
        table.add_column("time", justify="right", no_wrap=True)
        for r in report.results:
            table.add_row(
                escape(r.name),
                "[green]✓[/]" if r.ok else "[red]✗[/]",
                escape("\n".join(r.evidence)),
                f"{r.elapsed_s:.2f} s",
            )
        console.print(table)
    if not as_json:
        if report.cleanup_error:
            console.print(f"[red]{escape(report.cleanup_error)}[/]")
        else:
            console.print(f"[dim]{report.scratch} dropped[/]")
        if report.ok:
            console.print(f"[green]ALL {TEST_COUNT} TESTS PASS ✓[/]: proceed to deployment")
        else:
            console.print(
                f"[red]{len(report.failed)} of {TEST_COUNT} tests failed: STOP DEPLOYMENT[/] "
                "(review the evidence, fix, re-test)"
            )
    return exitcodes.OK if report.ok else exitcodes.FAILED
