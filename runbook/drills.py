"""Rehearsal drills: a real fault put into the sandbox at the moment that forces a branch.

A drill is data (what the trainee is told, what the right answers are, what the
debrief teaches) and a fault. The fault is real: another connection to the
sandbox's MariaDB, or a real request to its Laravel app, does to the target what
a colleague, a cron job or a failing server would do in production. It is
injected by wrapping the run's event sink (:meth:`Drill.inject`), so it happens
at the moment the runbook reaches the step, not before preflight could see it.

Every drill undoes its fault in :meth:`Drill.disarm` (idempotent; the rehearsal
calls it on every way out, Ctrl-C and crashes included).

Faults take no secret from anywhere but the sandbox itself: the admin
connection is root over the sandbox's own socket (``Sandbox.connect(admin=True)``).
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from runbook import exitcodes
from runbook.engine import Event
from runbook.prompter import NeedsOperator, Question

if TYPE_CHECKING:
    import pymysql.connections

    from runbook.sandbox import Sandbox

Expect = str | tuple[str, ...]  # one right answer, or several equally right ones
OUTCOME = "outcome"  # the key of ``Drill.expected`` that names the run's expected end

# A drill's own statements must never hang on a lock (the server waits a day by default).
_LOCK_WAIT_S = 10
_MARKER = "runbook drill"


class DrillError(Exception):
    """A drill could not be armed, or could not undo its fault (the message says what is left)."""


class UnknownDrill(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(f"no drill named {name!r}; choose one of: {', '.join(names())}")
        self.name = name


class Drill:
    """One drill. Subclasses set the class attributes and override the hooks.

    ``expected`` maps a decision id (a branch of the flow, or a question a step
    asks) to its right answer(s), and :data:`OUTCOME` to the run's right end
    (``flow.End.outcome``); ``exit_code`` is the exit code that end gives.
    Decisions in ``optional`` are scored only when the run reaches them (e.g.
    the confirmation of Option A, asked only when the trainee chose Option A).
    """

    name: ClassVar[str]
    title: ClassVar[str]
    briefing: ClassVar[str]  # what the trainee is told before the run: never the answer
    lesson: ClassVar[str]  # shown in the debrief
    fault: ClassVar[str]  # what the drill does to the sandbox, for the debrief
    expected: ClassVar[dict[str, Expect]]
    exit_code: ClassVar[int]
    optional: ClassVar[frozenset[str]] = frozenset()

    def __init__(self) -> None:
        self.sandbox: Sandbox | None = None
        self.fired_at: float | None = None  # wall clock, when the fault went in
        self.injected: list[str] = []  # what the fault did, in words
        self.error: str | None = None  # the fault could not be injected
        self.hidden = False  # drawn by ``random``: the name is told only in the debrief
        self._dry_run = False
        self.run_options: dict[str, Any] = {}  # the current run's Options, from run_start
        self._armed = False
        self._lock = threading.Lock()
        # fire (in the walk's thread) and cleanup (in the driver's) never overlap: a
        # cleanup that ran before a half-done fault went in would leave the fault behind
        self._busy = threading.Lock()

    def __repr__(self) -> str:
        return f"<Drill {self.name} armed={self._armed} fired={self.fired}>"

    @property
    def fired(self) -> bool:
        return self.fired_at is not None

    # -- the life cycle ---------------------------------------------------------------

    def arm(self, sandbox: Sandbox) -> Callable[[Event], None]:
        """Prepare the fault against ``sandbox``; returns the injector to compose with a sink.

        Faults that must exist before the run starts (a held lock, an open
        transaction) are put in place here; on failure everything is undone.
        """
        with self._lock:
            if self._armed:
                raise DrillError(f"drill {self.name} is already armed")
            self.sandbox = sandbox
            self._armed = True
        try:
            self.before_run(sandbox)
        except BaseException as exc:
            with contextlib.suppress(Exception):
                self.disarm()
            if isinstance(exc, Exception):
                raise DrillError(f"drill {self.name}: could not arm the fault: {exc}") from exc
            raise
        if self.injected:  # a fault that exists before the run has fired already
            self.fired_at = time.time()
        return self.inject

    def inject(self, event: Event) -> None:
        """The event sink side of the drill: fires the fault once, at its moment.

        A fault that cannot be injected is recorded in ``error`` (the debrief says
        so) instead of raising into the run: the rehearsal then goes on as a
        plain run, which is still a rehearsal of the deployment.
        """
        if event.kind == "run_start":
            # A dry-run rehearses the plan, not the fault: the fault waits for the real run.
            self._dry_run = bool(event.data.get("dry_run"))
            self.run_options = dict(event.data.get("options") or {})
            return
        if self._dry_run or not self.trigger(event):
            return
        with self._lock:
            if not self._armed or self.fired or self.error is not None:
                return
            self.fired_at = time.time()
        with self._busy:
            try:
                self.fire(event)
            except Exception as exc:
                self.error = f"{type(exc).__name__}: {exc}"

    def disarm(self) -> None:
        """Undo the fault; safe to call twice and after a failed ``arm``.

        Raises DrillError naming what could not be undone (after trying all of it).
        """
        with self._lock:
            if not self._armed:
                return
            self._armed = False
        if self.sandbox is None:
            return
        try:
            with self._busy:
                self.cleanup(self.sandbox)
        except Exception as exc:
            raise DrillError(f"drill {self.name}: could not undo the fault: {exc}") from exc

    # -- hooks ------------------------------------------------------------------------

    at_step: ClassVar[str | None] = None  # fire when this step starts

    def trigger(self, event: Event) -> bool:
        """Is this event the fault's moment? (default: the start of ``at_step``)"""
        return (
            self.at_step is not None and event.kind == "step_start" and event.node == self.at_step
        )

    def before_run(self, sandbox: Sandbox) -> None:
        """Put a fault in place before the run starts (default: nothing)."""

    def fire(self, event: Event) -> None:
        """Put the fault in place at ``trigger``'s moment (default: nothing)."""

    def cleanup(self, sandbox: Sandbox) -> None:
        """Undo what ``before_run`` and ``fire`` did (default: nothing)."""

    # -- helpers ----------------------------------------------------------------------

    def _admin(self) -> pymysql.connections.Connection:
        assert self.sandbox is not None
        conn = self.sandbox.connect(admin=True)
        with conn.cursor() as cur:
            cur.execute(f"SET SESSION lock_wait_timeout = {_LOCK_WAIT_S}")
            cur.execute(f"SET SESSION innodb_lock_wait_timeout = {_LOCK_WAIT_S}")
        return conn

    def expected_answers(self, decision: str) -> tuple[str, ...] | None:
        value = self.expected.get(decision)
        if value is None:
            return None
        return (value,) if isinstance(value, str) else tuple(value)


# -- the drills -------------------------------------------------------------------------


class MigrationFailure(Drill):
    name = "migration-failure"
    title = "The migration fails half way"
    briefing = (
        "Deploy Phase 2 to the sandbox as you would in production. The change window "
        "is busy tonight: other teams are working on the same database server. Follow "
        "the runbook and take the branch it prescribes at every decision."
    )
    lesson = (
        "A CREATE TABLE failed after three of the six tables existed. The runbook "
        "rolled back on its own: it dropped exactly the tables THIS run created (not "
        "the conflicting one somebody else made), removed their migrations rows, "
        "proved the schema equals the pre-deployment fingerprint, brought the app "
        "back up and exited 1 with the target as before. Preflight passed because the "
        "conflicting table appeared after it ran: find out who created it before "
        "re-deploying."
    )
    fault = (
        "when the migration step started, another connection created a table "
        "`appointment_modifications` of another shape, so the 4th CREATE TABLE failed "
        "with error 1050 (table exists)"
    )
    # "Migration failed?" is automatic: nothing for the trainee to decide but to let it work
    expected: ClassVar[dict[str, Expect]] = {OUTCOME: "failed"}
    exit_code = exitcodes.FAILED
    at_step = "migrate"
    TABLE = "appointment_modifications"

    def fire(self, event: Event) -> None:
        assert self.sandbox is not None
        conn = self._admin()
        with conn, conn.cursor() as cur:
            cur.execute(
                f"CREATE TABLE `{self.sandbox.database}`.`{self.TABLE}` "
                "(id int unsigned NOT NULL PRIMARY KEY, note varchar(100) NULL) "
                f"ENGINE=InnoDB COMMENT='{_MARKER} {self.name}'"
            )
        self.injected.append(f"created a conflicting table `{self.TABLE}` (id, note)")

    def cleanup(self, sandbox: Sandbox) -> None:
        conn = self._admin()
        with conn, conn.cursor() as cur:
            # only our own table: if the run somehow created the real one, it is not ours
            cur.execute(
                "SELECT TABLE_COMMENT FROM information_schema.TABLES "
                "WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s",
                (sandbox.database, self.TABLE),
            )
            row = cur.fetchone()
            if row and str(row[0]).startswith(_MARKER):
                cur.execute(f"DROP TABLE `{sandbox.database}`.`{self.TABLE}`")


class VerificationFailure(Drill):
    name = "verification-failure"
    title = "Verification finds a missing index"
    briefing = (
        "Deploy Phase 2 to the sandbox. A DBA is tuning indexes on this server "
        "tonight. Read the verification report carefully and decide as the runbook "
        "says you should."
    )
    lesson = (
        "The six tables were created, but verification found an index missing. An "
        "unverified schema is not a deployed schema: the safe branch is to roll the "
        "migrations back (the target returns to its pre-deployment fingerprint, exit "
        "1) and find out what changed it. Keeping it means exit 4: a person must "
        "check by hand, with the application running on a schema nobody has verified."
    )
    fault = (
        "when verification started, another connection dropped the index "
        "`callback_requests_company_id_created_at_index` (not one a foreign key needs)"
    )
    expected: ClassVar[dict[str, Expect]] = {
        "verification_failed": "rollback",
        OUTCOME: "failed",
    }
    exit_code = exitcodes.FAILED
    at_step = "verify"
    TABLE = "callback_requests"
    INDEX = "callback_requests_company_id_created_at_index"

    def __init__(self) -> None:
        super().__init__()
        self._columns: list[str] = []

    def fire(self, event: Event) -> None:
        assert self.sandbox is not None
        db = self.sandbox.database
        conn = self._admin()
        with conn, conn.cursor() as cur:
            cur.execute(
                "SELECT COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = %s "
                "AND TABLE_NAME = %s AND INDEX_NAME = %s ORDER BY SEQ_IN_INDEX",
                (db, self.TABLE, self.INDEX),
            )
            self._columns = [r[0] for r in cur.fetchall()]
            if not self._columns:
                raise DrillError(f"{self.TABLE} has no index {self.INDEX} to drop")
            cur.execute(f"ALTER TABLE `{db}`.`{self.TABLE}` DROP INDEX `{self.INDEX}`")
        self.injected.append(f"dropped index {self.INDEX} ({', '.join(self._columns)})")

    def cleanup(self, sandbox: Sandbox) -> None:
        if not self._columns:
            return
        db = sandbox.database
        conn = self._admin()
        with conn, conn.cursor() as cur:
            cur.execute(
                "SELECT (SELECT COUNT(*) FROM information_schema.TABLES "
                "        WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s), "
                "       (SELECT COUNT(*) FROM information_schema.STATISTICS "
                "        WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s AND INDEX_NAME = %s)",
                (db, self.TABLE, db, self.TABLE, self.INDEX),
            )
            table, index = cur.fetchone()
            # The trainee kept the schema: give the table its index back, as sql/ has it.
            if table and not index:
                cols = ", ".join(f"`{c}`" for c in self._columns)
                cur.execute(f"ALTER TABLE `{db}`.`{self.TABLE}` ADD INDEX `{self.INDEX}` ({cols})")


class AppErrors(Drill):
    """Real ERROR entries from the real app: its database account is locked for a moment.

    The app logs in over TCP (``askproai_user@127.0.0.1``); the runbook and its
    monitor log in over the sandbox's socket (``askproai_user@localhost``), so
    locking the TCP account takes the database away from the application only.
    The drill then asks the app's ``/api/health`` (what a load balancer polls)
    ``requests`` times; each answer is a 500 and an ERROR in laravel.log with the
    server's SQLSTATE, exactly as in an outage. The account is unlocked at once.
    """

    name = "app-errors"
    title = "Errors in the application log while monitoring"
    briefing = (
        "Deploy Phase 2 to the sandbox, then watch the post-deployment monitoring "
        'window (compressed for the rehearsal). Decide at "Issues detected?" from '
        "what the logs and the monitor show you."
    )
    lesson = (
        "During monitoring the application logged {requests} ERROR entries in a burst: its "
        "health check could not reach the database. Under the monitor's severity rules, "
        "{flood} or more errors of one kind in a window is a flood, and a flood is MAJOR: "
        "the safe answer is to roll back (Option A drops the six tables, Option B restores "
        "the backup), then find the cause. Fewer would have been MINOR: watch one more window."
    )
    MINOR_LESSON = (
        "During monitoring the application logged {requests} ERROR entries: its health "
        "check briefly could not reach the database. Under the monitor's severity rules, "
        "fewer than {flood} errors of one kind in a window is MINOR: the safe answer is to "
        "continue monitoring for one more window (issues in a second window in a row make "
        "it a rollback). Rolling back a healthy deployment for a blip has its own cost."
    )
    fault = (
        "during the first monitoring window, the app's database account "
        "(askproai_user@127.0.0.1) was locked while /api/health was requested "
        "{requests} times, then unlocked"
    )
    expected: ClassVar[dict[str, Expect]] = {
        "issues_detected": "rollback",
        "rollback_choice": ("migrations", "restore"),
        "rollback_a": "drop",
        "rollback_b": "restore",
        OUTCOME: "rolled_back",
    }
    optional = frozenset({"rollback_a", "rollback_b"})
    exit_code = exitcodes.FAILED
    APP_HOST = "127.0.0.1"

    def __init__(self, requests: int | None = None) -> None:
        super().__init__()
        flood = self.flood()
        self.requests = requests if requests is not None else flood + 2
        self.fault = self.fault.format(requests=self.requests)
        self.lesson = self.lesson.format(requests=self.requests, flood=flood)
        if self.requests < flood:
            # fewer than a flood is minor: one more window, which will be clean
            self.expected = {"issues_detected": "continue", OUTCOME: "success"}
            self.exit_code = exitcodes.OK
            self.lesson = self.MINOR_LESSON.format(requests=self.requests, flood=flood)
        self.statuses: list[int | None] = []

    @staticmethod
    def flood() -> int:
        """The monitor's own threshold for "a flood" (major), so both sides agree."""
        try:
            from runbook.monitor.detectors import FLOOD
        except ImportError:  # the monitor is not installed: its documented value
            return 10
        return int(FLOOD)

    def trigger(self, event: Event) -> bool:
        # The first sample of window 1: the monitor follows the log from here on.
        return (
            event.kind == "monitor_sample"
            and event.node == "monitor"
            and event.data.get("window", 1) == 1
        )

    def _account(self, cur: Any, lock: bool) -> None:
        assert self.sandbox is not None
        what = "LOCK" if lock else "UNLOCK"
        cur.execute(
            f"ALTER USER %s@%s ACCOUNT {what}",
            (self.sandbox.user, self.APP_HOST),
        )

    def fire(self, event: Event) -> None:
        assert self.sandbox is not None
        url = self.sandbox.app_url + "api/health"
        conn = self._admin()
        with conn, conn.cursor() as cur:
            self._account(cur, lock=True)
            try:
                for _ in range(self.requests):
                    self.statuses.append(_http_status(url))
            finally:
                self._account(cur, lock=False)
        failed = sum(1 for s in self.statuses if s != 200)
        self.injected.append(
            f"locked the app's database account; {failed} of {len(self.statuses)} "
            f"requests to /api/health failed (each an ERROR in laravel.log); unlocked it"
        )

    def cleanup(self, sandbox: Sandbox) -> None:
        conn = self._admin()
        with conn, conn.cursor() as cur:
            self._account(cur, lock=False)


class LockHeld(Drill):
    name = "lock-held"
    title = "Another run holds the deployment lock"
    briefing = (
        "Deploy Phase 2 to the sandbox. A colleague was on call earlier this evening. "
        "Follow the runbook."
    )
    lesson = (
        "Another connection held the deployment lock GET_LOCK('runbook:<database>'). "
        "The runbook refused before touching anything (exit 3) and named the holder. "
        "Two deployments at once is how a schema gets half-applied twice: never "
        "kill the holder to get on; find out who it is and whether their run is alive."
    )
    fault = "before the run, another connection took GET_LOCK('runbook:<database>', 0)"
    expected: ClassVar[dict[str, Expect]] = {OUTCOME: "stopped"}
    exit_code = exitcodes.LOCKED

    def __init__(self) -> None:
        super().__init__()
        self._holder: pymysql.connections.Connection | None = None

    def before_run(self, sandbox: Sandbox) -> None:
        from runbook.steps import lock_name

        name = lock_name(sandbox.database)
        # As the deploying user, the way a colleague's runbook would hold it.
        self._holder = sandbox.connect()
        with self._holder.cursor() as cur:
            cur.execute("SELECT GET_LOCK(%s, 0), CONNECTION_ID()", (name,))
            got, conn_id = cur.fetchone()
        if got != 1:
            raise DrillError(f"{name} is already held by someone else")
        self.injected.append(f"connection {conn_id} holds {name}")

    def cleanup(self, sandbox: Sandbox) -> None:
        holder, self._holder = self._holder, None
        if holder is None:
            return
        with contextlib.suppress(Exception), holder.cursor() as cur:
            cur.execute("SELECT RELEASE_ALL_LOCKS()")
        holder.close()


class LongTransaction(Drill):
    name = "long-transaction"
    title = "A transaction holds row locks on a parent table"
    briefing = (
        "Deploy Phase 2 to the sandbox. A reporting job and an admin console share "
        "this database. Follow the runbook."
    )
    lesson = (
        "A transaction held a row lock on `companies`, the parent of all six new "
        "tables. Creating a foreign key needs a metadata lock on its parent, and "
        "while it waits, every write to `companies` queues behind it: on a busy "
        "server that is an outage. Preflight found it and stopped with nothing "
        "touched (exit 1). Let the transaction finish (or have its owner end it), "
        "then deploy."
    )
    fault = (
        "before the run, another connection ran UPDATE companies SET name = name on "
        "one row and left its transaction open"
    )
    expected: ClassVar[dict[str, Expect]] = {OUTCOME: "stopped"}
    exit_code = exitcodes.FAILED

    def __init__(self) -> None:
        super().__init__()
        self._holder: pymysql.connections.Connection | None = None

    def before_run(self, sandbox: Sandbox) -> None:
        self._holder = sandbox.connect(autocommit=False)
        with self._holder.cursor() as cur:
            cur.execute("SELECT MIN(id) FROM companies")
            (company,) = cur.fetchone()
            if company is None:
                raise DrillError("the sandbox has no companies to lock")
            cur.execute("UPDATE companies SET name = name WHERE id = %s", (company,))
            cur.execute("SELECT CONNECTION_ID()")
            (conn_id,) = cur.fetchone()
        self.injected.append(
            f"connection {conn_id} holds a row lock on companies id {company}, uncommitted"
        )

    def cleanup(self, sandbox: Sandbox) -> None:
        holder, self._holder = self._holder, None
        if holder is None:
            return
        with contextlib.suppress(Exception):
            holder.rollback()
        holder.close()


class BackupFailure(Drill):
    """The dump's connection dies while it reads a table (a killed query, a server hiccup).

    ``LOCK TABLES appointments WRITE`` on another connection makes the dump wait
    at that table (its SELECT needs a metadata lock the writer holds), where a
    watcher finds it in the processlist and kills its connection; mariadb-dump
    then exits 2 with "Lost connection to server during query". The table lock is
    released at once. (Revoking a table's SELECT is not possible here: the
    deploying user holds its privileges on the whole database.)
    """

    name = "backup-failure"
    title = "The backup fails"
    briefing = (
        "Deploy Phase 2 to the sandbox. The database server has been flaky this "
        "week. Follow the runbook."
    )
    lesson = (
        "The dump lost its connection half way, so there is no complete backup. The "
        "runbook stopped before maintenance mode and before any DDL: the target is "
        "untouched (exit 1) and the partial file was removed. Deploying without a "
        "backup is exactly what --skip-backup warns against; fix the cause and run "
        "again."
    )
    fault = (
        "when the backup started, another connection locked `appointments` for "
        "writing, and the dump's connection was killed while it waited to read it"
    )
    expected: ClassVar[dict[str, Expect]] = {OUTCOME: "stopped"}
    exit_code = exitcodes.FAILED
    at_step = "backup"
    TABLE = "appointments"
    WAIT_S = 60.0

    def __init__(self) -> None:
        super().__init__()
        self._locker: pymysql.connections.Connection | None = None
        self._locker_guard = threading.Lock()
        self._watcher: threading.Thread | None = None
        self._stop = threading.Event()
        self._why_stopped = "the rehearsal ended"

    def trigger(self, event: Event) -> bool:
        # --skip-backup: no dump to break; a table lock then would only block the migration
        return super().trigger(event) and not self.run_options.get("skip_backup")

    def inject(self, event: Event) -> None:
        super().inject(event)
        if event.kind == "step_end" and event.node == self.at_step and not self._stop.is_set():
            # the table lock must never outlive the backup step
            self._why_stopped = "the backup step ended before the dump reached the table"
            self._stop.set()

    def fire(self, event: Event) -> None:
        assert self.sandbox is not None
        self._locker = self._admin()
        with self._locker.cursor() as cur:
            cur.execute(f"LOCK TABLES `{self.sandbox.database}`.`{self.TABLE}` WRITE")
        self._watcher = threading.Thread(
            target=self._watch, name="drill-backup-failure", daemon=True
        )
        self._watcher.start()

    def _watch(self) -> None:
        assert self.sandbox is not None
        deadline = time.monotonic() + self.WAIT_S
        try:
            watcher = self._admin()
            with watcher, watcher.cursor() as cur:
                while not self._stop.is_set() and time.monotonic() < deadline:
                    cur.execute(
                        "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = %s "
                        "AND STATE = 'Waiting for table metadata lock' AND INFO LIKE %s",
                        (self.sandbox.user, f"SELECT /*!40001 SQL_NO_CACHE */ %`{self.TABLE}`%"),
                    )
                    row = cur.fetchone()
                    if row:
                        cur.execute(f"KILL CONNECTION {int(row[0])}")
                        self.injected.append(
                            f"killed the dump's connection {row[0]} while it waited to read "
                            f"`{self.TABLE}`"
                        )
                        return
                    self._stop.wait(0.05)
                self.error = (
                    self._why_stopped
                    if self._stop.is_set()
                    else f"the dump never waited on `{self.TABLE}` within {self.WAIT_S:g} s"
                )
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self._unlock()

    def _unlock(self) -> None:
        with self._locker_guard:  # the watcher's exit and cleanup may both get here
            locker, self._locker = self._locker, None
        if locker is None:
            return
        with contextlib.suppress(Exception), locker.cursor() as cur:
            cur.execute("UNLOCK TABLES")
        with contextlib.suppress(Exception):
            locker.close()

    def cleanup(self, sandbox: Sandbox) -> None:
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(timeout=self.WAIT_S + 10)
        self._unlock()


DRILLS: dict[str, type[Drill]] = {
    d.name: d
    for d in (
        MigrationFailure,
        VerificationFailure,
        AppErrors,
        LockHeld,
        LongTransaction,
        BackupFailure,
    )
}
RANDOM = "random"  # one of the drills, its name kept from the trainee until the debrief


def names() -> list[str]:
    return [*DRILLS, RANDOM]


def get(name: str) -> Drill:
    """A fresh, unarmed drill by name (``random``: any one of them)."""
    if name == RANDOM:
        drill = random.choice(list(DRILLS.values()))()
        drill.hidden = True
        return drill
    try:
        return DRILLS[name]()
    except KeyError:
        raise UnknownDrill(name) from None


def _http_status(url: str, timeout: float = 10.0) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, OSError):
        return None


# -- a prompter that stands in for the trainee's key presses ----------------------------


@dataclass
class ScriptedPrompter:
    """Answers from a script by question id, and records every question and answer.

    A value may be one answer, or a sequence of answers for a question asked
    more than once (the last one repeats). A question the script does not name
    gets its safe answer (``otherwise="safe"``) or stops the run
    (``otherwise="refuse"``: NeedsOperator, as without a terminal). An answer
    that is not one of the question's options is an error naming both.
    ``texts`` answers free-text questions (``ask_text``, e.g. the rollback note).
    """

    answers: Mapping[str, str | Sequence[str]] = field(default_factory=dict)
    otherwise: str = "safe"
    texts: Mapping[str, str] = field(default_factory=dict)
    asked: list[tuple[Question, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.otherwise not in ("safe", "refuse"):
            raise ValueError(f"otherwise must be 'safe' or 'refuse', not {self.otherwise!r}")
        self._count: dict[str, int] = {}

    def ask(self, question: Question) -> str:
        scripted = self.answers.get(question.id)
        if scripted is None:
            if self.otherwise == "refuse":
                raise NeedsOperator(question)
            answer = question.safe
        elif isinstance(scripted, str):
            answer = scripted
        else:
            n = self._count.get(question.id, 0)
            answer = scripted[min(n, len(scripted) - 1)]
        self._count[question.id] = self._count.get(question.id, 0) + 1
        keys = [o.key for o in question.options]
        if answer not in keys:
            raise ValueError(
                f"scripted answer {answer!r} to {question.id!r} ({question.text}) "
                f"is not one of its options: {', '.join(keys)}"
            )
        self.asked.append((question, answer))
        return answer

    def ask_text(self, question: Question) -> str:
        answer = self.texts.get(question.id, "")
        self.asked.append((question, answer))
        return answer

    def answered(self, question_id: str) -> list[str]:
        return [a for q, a in self.asked if q.id == question_id]
