"""One run of the suite: its state, the nine tests in order, and run_suite()."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from runbook import fingerprint, migrate
from runbook.db import DatabaseError, Session, Target
from runbook.testsuite import cascade, clone, integrity, keys, migration, scratch
from runbook.testsuite.errors import EmitFailed, Fail
from runbook.testsuite.report import (
    CASCADE,
    CLONE,
    CREATE,
    FOREIGN_KEYS,
    INDEXES,
    INTEGRITY,
    MIGRATE,
    REMIGRATE,
    ROLLBACK,
    SuiteReport,
    TestResult,
)
from runbook.testsuite.signals import signals_deferred
from runbook.testsuite.sqltext import qualified
from runbook.verify import VerifyReport

if TYPE_CHECKING:
    from runbook.validator import ValidationResult

Emit = Callable[[str, dict[str, Any]], None]
Check = Callable[["Suite"], list[str]]


class Suite:
    """What the tests share: the sessions, the scratch database, what each test found."""

    def __init__(self, target: Target, validation: ValidationResult, emit: Emit) -> None:
        self.target = target
        self.validation = validation
        self._emit = emit
        self.db = target.database
        self.scratch = scratch.new_name()
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
            raise EmitFailed() from exc

    def say(self, text: str, level: str = "info") -> None:
        self.emit("output", {"text": text, "level": level})

    def q(self, table: str) -> str:
        return qualified(self.scratch, table)

    @contextmanager
    def connection(self, database: str | None = "") -> Iterator[Session]:
        """A session of its own (``""``: the target database, ``None``: none), closed after."""
        session = self.target.connect(database=database)
        try:
            yield session
        finally:
            session.close()

    def close_work(self) -> None:
        if self.work is not None:
            self.work.close()  # also releases the scratch lock
            self.work = None

    def run(self) -> None:
        self._test(CREATE, scratch.check_create, ())
        self._test(CLONE, clone.check_clone, (CREATE,))
        self._test(self.migrate_name, migration.check_migration, (CLONE,))
        self._test(FOREIGN_KEYS, keys.check_foreign_keys, (CLONE,))
        self._test(INDEXES, keys.check_indexes, (self.migrate_name,))
        self._test(CASCADE, cascade.check_cascades, (self.migrate_name,))
        self._test(ROLLBACK, migration.check_rollback, (self.migrate_name,))
        self._test(REMIGRATE, migration.check_remigration, (ROLLBACK,))
        self._test(INTEGRITY, integrity.check_integrity, (CLONE,))

    def _test(self, name: str, check: Check, needs: Sequence[str]) -> None:
        self.emit("test_start", {"name": name})
        started = time.monotonic()
        missing = [n for n in needs if n not in self.passed]
        ok = False
        if missing:
            evidence = [f"not run: {missing[0]} failed"]
        else:
            try:
                evidence = check(self)
                ok = True
            except EmitFailed:
                raise
            except Fail as exc:
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

    def take_fingerprint(self) -> fingerprint.Fingerprint:
        """The scratch database's schema, migrations rows and data checksums."""
        return fingerprint.take(self.s, self.scratch, data=True)

    def checkpoint(self, label: str) -> fingerprint.Fingerprint:
        fp = self.take_fingerprint()
        self.checkpoints.append((label, fp))
        return fp


def run_suite(target: Target, validation: ValidationResult, emit: Emit) -> SuiteReport:
    """The nine tests on a scratch database that is dropped whatever happens.

    ``emit(kind, data)`` receives test_start {name}, test_end {name, ok, evidence,
    elapsed_s} and output {text, level} as the suite goes, so any driver renders live.
    Ctrl-C propagates (as KeyboardInterrupt) only after the scratch database is gone.
    """
    suite = Suite(target, validation, emit)
    gone, error, finished = False, None, False
    try:
        suite.run()
        finished = True
    except EmitFailed as exc:
        raise exc.__cause__ from None  # the driver's own error, after the cleanup below
    finally:
        with signals_deferred():
            try:
                if suite.db_claimed:
                    emit("output", {"text": f"dropping {suite.scratch}", "level": "info"})
            finally:
                gone, error = scratch.cleanup(suite, reuse=finished)
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
