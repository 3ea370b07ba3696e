"""Resource and server samples: the machine (psutil), the database server's process, its status.

Every sampler returns plain frozen dataclasses and never raises for a source
that is unavailable: the sample says what could not be read, so one dead
source never blinds the others. MySQL status deltas are read over a read-only
session (``Target(dry_run=True)``, no database selected, nothing pinned): the
monitor must not be able to write, and must keep working if the target
database is dropped or restored under it.
"""

from __future__ import annotations

import socket
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil

from runbook.config import DatabaseConfig
from runbook.db import DatabaseError, Session, Target

SERVER_NAMES = ("mariadbd", "mysqld")

# SHOW GLOBAL STATUS names; all exist on MariaDB 10.11 (measured; Innodb_deadlocks is
# MariaDB's own, MySQL 8 has only INNODB_METRICS lock_deadlocks).
STATUS_VARS = (
    "Uptime",
    "Questions",
    "Threads_connected",
    "Threads_running",
    "Aborted_connects",
    "Aborted_clients",
    "Innodb_deadlocks",
    "Innodb_row_lock_waits",
    "Innodb_row_lock_time",
    "Innodb_row_lock_current_waits",
    "Slow_queries",
)
_COUNTERS = (
    "Aborted_connects",
    "Aborted_clients",
    "Innodb_row_lock_waits",
    "Innodb_row_lock_time",
    "Slow_queries",
)


# -- the machine --------------------------------------------------------------------------


# CPU use over a shorter span than this is noise (the first sample after priming).
MIN_CPU_SPAN_S = 0.1


@dataclass(frozen=True)
class SystemSample:
    cpu_percent: float | None
    mem_percent: float
    mem_used: int
    swap_percent: float
    disk_path: str
    disk_percent: float | None
    disk_read_bps: float | None
    disk_write_bps: float | None


class SystemSampler:
    """CPU since the previous sample, memory, disk use of ``disk_path``, disk I/O rates."""

    def __init__(self, disk_path: str | Path = "/") -> None:
        self.disk_path = str(disk_path)
        psutil.cpu_percent(None)  # primes the counter: the first real call measures from here
        self._io = self._io_counters()
        self._io_at = self._cpu_at = time.monotonic()

    @staticmethod
    def _io_counters() -> tuple[int, int] | None:
        try:
            io = psutil.disk_io_counters()
        except (OSError, RuntimeError):
            return None
        return (io.read_bytes, io.write_bytes) if io is not None else None

    def sample(self) -> SystemSample:
        mem = psutil.virtual_memory()
        try:
            disk_percent: float | None = psutil.disk_usage(self.disk_path).percent
        except OSError:
            disk_percent = None
        now = time.monotonic()
        io = self._io_counters()
        read_bps = write_bps = None
        if io is not None and self._io is not None and now > self._io_at:
            dt = now - self._io_at
            read_bps = max(0, io[0] - self._io[0]) / dt
            write_bps = max(0, io[1] - self._io[1]) / dt
        self._io, self._io_at = io, now
        cpu: float | None = psutil.cpu_percent(None)
        if now - self._cpu_at < MIN_CPU_SPAN_S:
            cpu = None
        self._cpu_at = now
        return SystemSample(
            cpu_percent=cpu,
            mem_percent=mem.percent,
            mem_used=mem.total - mem.available,
            swap_percent=psutil.swap_memory().percent,
            disk_path=self.disk_path,
            disk_percent=disk_percent,
            disk_read_bps=read_bps,
            disk_write_bps=write_bps,
        )


# -- the database server's process --------------------------------------------------------


@dataclass(frozen=True)
class ProcessSample:
    pid: int | None
    name: str
    cpu_percent: float | None  # of one core, like top: 200 means two cores busy
    rss: int | None
    found_by: str  # how the process was identified, or why it was not


def _is_server(proc: psutil.Process) -> bool:
    try:
        return proc.name() in SERVER_NAMES
    except psutil.Error:
        return False


def _local_host(host: str) -> bool:
    if host in ("localhost", "127.0.0.1", "::1", ""):
        return True
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return False
    mine = {a.address for addrs in psutil.net_if_addrs().values() for a in addrs}
    return bool(addresses & mine) or any(a.startswith("127.") for a in addresses)


def find_server_process(db: DatabaseConfig) -> tuple[psutil.Process | None, str]:
    """The mariadbd/mysqld serving ``db``: the owner of its socket, else the listener on its
    port, else the only such process by name. ``(None, why)`` when it is not on this host.

    Matching by name alone is the last resort because a host may run several servers
    (the test machine runs one per sandbox); it is used only when exactly one exists.
    """
    try:
        if db.socket:
            for conn in psutil.net_connections(kind="unix"):
                if conn.laddr == db.socket and conn.pid:
                    proc = psutil.Process(conn.pid)
                    if _is_server(proc):
                        return proc, f"owner of socket {db.socket}"
        if db.socket or _local_host(db.host):
            for conn in psutil.net_connections(kind="inet"):
                if (
                    conn.status == psutil.CONN_LISTEN
                    and conn.laddr
                    and conn.laddr.port == db.port
                    and conn.pid
                ):
                    proc = psutil.Process(conn.pid)
                    if _is_server(proc):
                        return proc, f"listening on port {db.port}"
        else:
            return None, f"the server runs on {db.host}, not on this host"
    except psutil.AccessDenied:
        pass  # not root: other users' sockets are hidden; fall back to the name
    except psutil.Error:
        pass
    named = [p for p in psutil.process_iter(["name"]) if p.info["name"] in SERVER_NAMES]
    if len(named) == 1:
        return named[0], f"the only {named[0].info['name']} process"
    if not named:
        return None, "no mariadbd/mysqld process on this host"
    return None, f"{len(named)} mariadbd/mysqld processes and none owns the configured port/socket"


class ProcessSampler:
    """CPU and RSS of the database server; finds it again if it restarts."""

    def __init__(self, db: DatabaseConfig, *, retry_s: float = 10.0) -> None:
        self.db = db
        self.retry_s = retry_s
        self.proc: psutil.Process | None = None
        self.found_by = "not looked for yet"
        self._looked_at = -1e9
        self._cpu_at = 0.0
        self._find()

    def _find(self) -> None:
        self._looked_at = time.monotonic()
        self.proc, self.found_by = find_server_process(self.db)
        if self.proc is not None:
            try:
                self.proc.cpu_percent(None)  # primes it, like the machine's
                self._cpu_at = time.monotonic()
            except psutil.Error:
                self.proc = None

    def sample(self) -> ProcessSample:
        if self.proc is None and time.monotonic() - self._looked_at >= self.retry_s:
            self._find()
        proc = self.proc
        if proc is None:
            return ProcessSample(None, "", None, None, self.found_by)
        try:
            with proc.oneshot():
                cpu: float | None = proc.cpu_percent(None)
                rss = proc.memory_info().rss
                now = time.monotonic()
                if now - self._cpu_at < MIN_CPU_SPAN_S:
                    cpu = None
                self._cpu_at = now
                return ProcessSample(proc.pid, proc.name(), cpu, rss, self.found_by)
        except psutil.Error:
            self.proc = None
            self.found_by = f"process {proc.pid} is gone"
            return ProcessSample(None, "", None, None, self.found_by)


# -- the server's status ------------------------------------------------------------------


@dataclass(frozen=True)
class StatusSample:
    ok: bool
    error: str
    uptime: int | None
    threads_connected: int | None
    threads_running: int | None
    qps: float | None  # Questions per second, the monitor's own statements excluded
    span_s: float | None  # the time since the previous sample, that the deltas cover
    aborted_connects: int  # deltas since the previous sample
    aborted_clients: int
    deadlocks: int
    row_lock_waits: int
    row_lock_time_ms: int
    row_lock_current_waits: int | None
    slow_queries: int


def _down(error: str) -> StatusSample:
    return StatusSample(
        ok=False,
        error=error,
        uptime=None,
        threads_connected=None,
        threads_running=None,
        qps=None,
        span_s=None,
        aborted_connects=0,
        aborted_clients=0,
        deadlocks=0,
        row_lock_waits=0,
        row_lock_time_ms=0,
        row_lock_current_waits=None,
        slow_queries=0,
    )


class StatusSampler:
    """``SHOW GLOBAL STATUS`` deltas over one read-only session, reconnecting when it drops.

    Deadlocks: ``Innodb_deadlocks`` where the server has it (MariaDB), else
    INNODB_METRICS ``lock_deadlocks`` (MySQL 8), else a change of the "LATEST
    DETECTED DEADLOCK" section of ``SHOW ENGINE INNODB STATUS`` (one per change).
    """

    def __init__(self, target: Target, *, connect_timeout: int = 5) -> None:
        self.target = target
        self.connect_timeout = connect_timeout
        self.session: Session | None = None
        self.deadlock_source = ""
        self.datadir: str | None = None
        self.version = ""
        self._own = 0  # statements this sampler sent: they count in Questions too
        self._prev: dict[str, int] | None = None
        self._prev_own = 0
        self._prev_at = 0.0
        self._latest_deadlock: str | None = None
        self._deadlock_changes = 0

    def _query(self, sql: str) -> list[dict[str, Any]]:
        assert self.session is not None
        self._own += 1
        return self.session.query(sql)

    def _connect(self) -> None:
        self.session = self.target.connect(
            database=None, pinned=False, connect_timeout=self.connect_timeout
        )
        row = self._query("SELECT @@datadir AS datadir, @@version AS version")[0]
        self.datadir, self.version = str(row["datadir"]), str(row["version"])

    def close(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None

    def sample(self) -> StatusSample:
        try:
            if self.session is None:
                self._connect()
            values = self._read()
        except DatabaseError as exc:
            self.close()
            self._prev = None  # a restarted server starts its counters again
            return _down(str(exc))
        now = time.monotonic()
        prev, prev_at, prev_own = self._prev, self._prev_at, self._prev_own
        self._prev, self._prev_at, self._prev_own = values, now, self._own
        if prev is not None and values.get("Uptime", 0) < prev.get("Uptime", 0):
            prev = None  # the server restarted between samples
        delta = {k: 0 for k in (*_COUNTERS, "deadlocks")}
        qps = span = None
        if prev is not None:
            for key in _COUNTERS:
                delta[key] = max(0, values.get(key, 0) - prev.get(key, 0))
            delta["deadlocks"] = max(0, values.get("deadlocks", 0) - prev.get("deadlocks", 0))
            own = self._own - prev_own
            questions = values.get("Questions", 0) - prev.get("Questions", 0) - own
            span = max(now - prev_at, 1e-6)
            qps = max(0, questions) / span
        return StatusSample(
            ok=True,
            error="",
            uptime=values.get("Uptime"),
            threads_connected=values.get("Threads_connected"),
            threads_running=values.get("Threads_running"),
            qps=qps,
            span_s=span,
            aborted_connects=delta["Aborted_connects"],
            aborted_clients=delta["Aborted_clients"],
            deadlocks=delta["deadlocks"],
            row_lock_waits=delta["Innodb_row_lock_waits"],
            row_lock_time_ms=delta["Innodb_row_lock_time"],
            row_lock_current_waits=values.get("Innodb_row_lock_current_waits"),
            slow_queries=delta["Slow_queries"],
        )

    def _read(self) -> dict[str, int]:
        names = ", ".join(f"'{n}'" for n in STATUS_VARS)
        rows = self._query(f"SHOW GLOBAL STATUS WHERE Variable_name IN ({names})")
        values: dict[str, int] = {}
        for row in rows:
            try:
                values[str(row["Variable_name"])] = int(row["Value"])
            except (TypeError, ValueError):
                continue
        values["deadlocks"] = self._deadlocks(values)
        return values

    def _deadlocks(self, values: dict[str, int]) -> int:
        """A monotonic deadlock counter from whichever source this server offers."""
        if "Innodb_deadlocks" in values:
            self.deadlock_source = "SHOW GLOBAL STATUS Innodb_deadlocks"
            return values["Innodb_deadlocks"]
        if self.deadlock_source in ("", "INNODB_METRICS lock_deadlocks"):
            try:
                rows = self._query(
                    "SELECT `COUNT` AS n FROM information_schema.INNODB_METRICS "
                    "WHERE NAME = 'lock_deadlocks'"
                )
                if rows:
                    self.deadlock_source = "INNODB_METRICS lock_deadlocks"
                    return int(rows[0]["n"])
            except DatabaseError:
                pass
        try:
            rows = self._query("SHOW ENGINE INNODB STATUS")
        except DatabaseError:
            self.deadlock_source = "none (no Innodb_deadlocks, no PROCESS privilege)"
            return 0
        self.deadlock_source = "SHOW ENGINE INNODB STATUS (LATEST DETECTED DEADLOCK)"
        text = str(rows[0].get("Status", "")) if rows else ""
        marker = text.find("LATEST DETECTED DEADLOCK")
        stamp = text[marker : marker + 120].split("\n")[2] if marker >= 0 else ""
        if stamp and self._latest_deadlock is not None and stamp != self._latest_deadlock:
            self._deadlock_changes += 1
        if stamp:
            self._latest_deadlock = stamp
        return self._deadlock_changes


# -- one combined sample ------------------------------------------------------------------


@dataclass(frozen=True)
class AppSample:
    status: int | None
    ms: float | None
    detail: str


@dataclass(frozen=True)
class Sample:
    at: float  # wall clock
    elapsed_s: float
    system: SystemSample
    server: ProcessSample
    status: StatusSample
    app: AppSample | None

    def compact(self) -> dict[str, Any]:
        """The numbers a status line or the journal needs, flat and rounded."""

        def r(value: float | None, digits: int = 1) -> float | None:
            return None if value is None else round(value, digits)

        return {
            "elapsed_s": r(self.elapsed_s, 2),
            "cpu": r(self.system.cpu_percent),
            "mem": r(self.system.mem_percent),
            "disk": r(self.system.disk_percent),
            "read_bps": r(self.system.disk_read_bps, 0),
            "write_bps": r(self.system.disk_write_bps, 0),
            "mysqld_cpu": r(self.server.cpu_percent),
            "mysqld_rss": self.server.rss,
            "db_ok": self.status.ok,
            "qps": r(self.status.qps, 2),
            "conns": self.status.threads_connected,
            "deadlocks": self.status.deadlocks,
            "lock_waits": self.status.row_lock_waits,
            "aborted_connects": self.status.aborted_connects,
            "app_status": self.app.status if self.app else None,
            "app_ms": r(self.app.ms) if self.app else None,
        }

    def as_json(self) -> dict[str, Any]:
        return asdict(self)
