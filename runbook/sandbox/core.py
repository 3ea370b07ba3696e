"""The throwaway rehearsal target: a real MariaDB and a real Laravel app under one directory.

Layout of a sandbox directory ``D`` (everything the sandbox creates; nothing else
is touched, and ``up`` refuses a directory that holds anything else):

    D/runbook.toml        0600, the config the other commands read (holds the password)
    D/admin.cnf           0600, my.cnf for root (``--defaults-extra-file``), never argv
    D/sandbox.json        state for ``status``/``down``: pids, ports, paths; no secrets
    D/sandbox.lock        serialises concurrent up/down on the same directory
    D/mysql/data/         the data directory; D/mysql/error.log is the server's error log
    D/mysql/pristine.sql  dump taken right after seeding, for ``reset()``
    D/mysql/pristine.json its fingerprint, to skip the restore when nothing changed
    D/app/                the Laravel app; D/app/storage/logs/laravel.log its log
    D/php-server.log      the output of ``php -S``
    D/backups/ (0700), D/journal/

When ``D/mysql/mysqld.sock`` would be longer than a Unix socket path may be, the
socket lives in ``/tmp/rbsb-<hash of D>/`` instead (recorded in the state file
and in runbook.toml, removed by ``down``).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import secrets
import shutil
import signal
import stat
import subprocess
import threading
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pymysql
from pymysql.constants import CLIENT

from runbook.resources import sql_dir
from runbook.sandbox import laravel, seed
from runbook.sandbox.process import Proc, free_port, spawn_detached, stop_group

Progress = Callable[[str], None]

DATABASE = "askproai_db"
USER = "askproai_user"
SCRATCH_PATTERN = r"runbook\_scratch\_%"
MONITOR_MINUTES = 0.5
STATE_VERSION = 1

DB_PACKAGES = ("mariadb-server", "mariadb-client")
PHP_PACKAGES = ("php-cli", "php-mysql", "php-laravel-framework")
# Debian's php-laravel-framework puts the framework on PHP's default include path.
ILLUMINATE_AUTOLOAD = Path("/usr/share/php/Illuminate/autoload.php")
# mariadbd lives in sbin, which a non-root PATH often lacks.
_SBIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/sbin")
_SOCKET_MAX = 100  # sun_path is 108 bytes; keep a margin

_OWNED = frozenset(
    {
        "runbook.toml",
        "admin.cnf",
        "sandbox.json",
        "sandbox.lock",
        "mysql",
        "app",
        "php-server.log",
        "backups",
        "journal",
    }
)
_START_ATTEMPTS = 3
_READY_TIMEOUT = 60.0
_SHUTDOWN_TIMEOUT = 60.0


class SandboxError(Exception):
    """The sandbox could not do what was asked; the message names the step."""

    exit_code = 1


class SandboxUsageError(SandboxError):
    """Refused before touching anything (bad directory, bad option)."""

    exit_code = 2


class MissingPackages(SandboxUsageError):
    """A binary or the Laravel framework is missing; ``packages`` are the apt names."""

    def __init__(self, missing: list[str], packages: list[str]) -> None:
        self.missing = missing
        self.packages = packages
        super().__init__(
            f"missing {', '.join(missing)}; install it with: "
            f"apt-get install -y {' '.join(packages)}"
        )


@dataclass(frozen=True)
class Tools:
    install_db: str
    mariadbd: str
    admin: str
    client: str
    dump: str
    php: str


def find_tools() -> Tools:
    """Locate every binary the sandbox runs, or name the apt packages that provide them."""
    path = os.environ.get("PATH", os.defpath)
    missing: list[str] = []
    packages: list[str] = []

    def which(name: str, *, sbin: bool = False) -> str:
        found = shutil.which(name, path=path)
        if found is None and sbin:
            found = shutil.which(name, path=os.pathsep.join(_SBIN_DIRS))
        if found is None:
            missing.append(name)
            return ""
        return found

    install_db = which("mariadb-install-db")
    mariadbd = which("mariadbd", sbin=True)
    admin, client, dump = which("mariadb-admin"), which("mariadb"), which("mariadb-dump")
    if missing:
        packages.extend(DB_PACKAGES)
    php = which("php")
    if not php or not ILLUMINATE_AUTOLOAD.is_file():
        if php:
            missing.append(str(ILLUMINATE_AUTOLOAD))
        packages.extend(PHP_PACKAGES)
    if missing:
        raise MissingPackages(missing, packages)
    return Tools(install_db, mariadbd, admin, client, dump, php)


def _check_pdo_mysql(php: str) -> None:
    # Without php-mysql the app starts and then fails every request that needs the DB.
    probe = subprocess.run(
        [php, "-r", 'echo extension_loaded("pdo_mysql") ? "yes" : "no";'],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    if probe.stdout.strip() != "yes":
        raise MissingPackages(["the pdo_mysql PHP extension"], ["php-mysql"])


def default_directory() -> Path:
    env = os.environ.get("RUNBOOK_SANDBOX_DIR")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".local" / "state" / "runbook" / "sandbox"


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(text)


def _toml_str(value: str) -> str:
    # JSON string escapes are valid TOML basic-string escapes.
    return json.dumps(value, ensure_ascii=False)


def _read_cnf_password(path: Path) -> str:
    for line in path.read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "password":
            return value.strip()
    raise SandboxError(f"{path} holds no password")


def _log_tail(path: Path, lines: int = 8) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """A second Ctrl-C must not cut short the cleanup of a failed ``up``."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _quiet(say: Progress) -> Progress:
    def report(message: str) -> None:
        with contextlib.suppress(Exception):
            say(message)

    return report


def _http_status(url: str, timeout: float = 2.0) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, OSError, ValueError):
        return None


class Sandbox:
    """A running (or stopped) sandbox, as recorded in its directory's state file."""

    dir: Path
    config_path: Path
    app_path: Path
    app_url: str
    app_log: Path
    error_log: Path
    port: int
    app_port: int
    socket: Path
    database: str
    user: str

    def __init__(self, directory: Path, state: dict[str, Any]) -> None:
        self.dir = directory
        self.state = state
        self.config_path = directory / "runbook.toml"
        self.admin_cnf = directory / "admin.cnf"
        self.state_path = directory / "sandbox.json"
        self.app_path = directory / "app"
        self.app_log = self.app_path / laravel.LOG_RELATIVE
        self.error_log = directory / "mysql" / "error.log"
        self.datadir = directory / "mysql" / "data"
        self.pristine = directory / "mysql" / "pristine.sql"
        self.pristine_fingerprint = directory / "mysql" / "pristine.json"
        self.port = int(state.get("port") or 0)
        self.app_port = int(state.get("app_port") or 0)
        self.app_url = f"http://127.0.0.1:{self.app_port}/"
        self.socket = Path(state.get("socket") or directory / "mysql" / "mysqld.sock")
        self.database = DATABASE
        self.user = USER
        self._password: str | None = None
        self._tools: Tools | None = None

    def __repr__(self) -> str:
        return f"Sandbox({str(self.dir)!r}, port={self.port}, app={self.app_url})"

    # -- state ---------------------------------------------------------------------------

    @property
    def mariadbd(self) -> Proc | None:
        return Proc.from_json(self.state.get("mariadbd"))

    @property
    def php(self) -> Proc | None:
        return Proc.from_json(self.state.get("php"))

    @property
    def password(self) -> str:
        """The app user's password, from runbook.toml (the only place it is kept)."""
        if self._password is None:
            with open(self.config_path, "rb") as handle:
                self._password = str(tomllib.load(handle)["database"]["password"])
        return self._password

    @property
    def tools(self) -> Tools:
        if self._tools is None:
            self._tools = find_tools()
        return self._tools

    def _save(self) -> None:
        self.state["version"] = STATE_VERSION
        tmp = self.state_path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.state, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        tmp.replace(self.state_path)

    def _reload(self) -> None:
        # Another Sandbox object (or process) may have restarted php since we read it.
        with contextlib.suppress(OSError, ValueError):
            self.state = json.loads(self.state_path.read_text(encoding="utf-8"))

    @classmethod
    def open(cls, directory: Path) -> Sandbox:
        """The sandbox recorded in ``directory`` (running or not)."""
        directory = Path(directory).expanduser().absolute()
        state_path = directory / "sandbox.json"
        try:
            state = json.loads(state_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SandboxUsageError(f"no sandbox in {directory} (no sandbox.json)") from None
        except (OSError, ValueError) as exc:
            raise SandboxError(f"cannot read {state_path}: {exc}") from exc
        return cls(directory, state)

    # -- up ------------------------------------------------------------------------------

    @classmethod
    def up(
        cls,
        directory: Path,
        rows: int | None = None,
        progress: Progress | None = None,
        *,
        db_port: int | None = None,
        app_port: int | None = None,
    ) -> Sandbox:
        """Build and start a sandbox in ``directory``; returns once the DB and the app answer.

        A sandbox that already runs there is returned as it is. A stopped, broken
        or half-built one is stopped and rebuilt from scratch (its backups/ and
        journal/ too: a rebuilt sandbox is a new one). ``db_port`` and
        ``app_port`` pin the ports (default: free loopback ports). On any failure
        (Ctrl-C included) everything started so far is stopped before the error
        propagates; the files stay for inspection.
        """
        say = progress or (lambda _msg: None)
        rows_given = rows is not None
        rows = seed.DEFAULT_ROWS if rows is None else rows
        if not 1 <= rows <= 50_000_000:
            raise SandboxUsageError(f"--rows must be between 1 and 50000000, not {rows}")
        tools = find_tools()
        _check_pdo_mysql(tools.php)
        directory = Path(directory).expanduser().absolute()
        if directory.exists() and not directory.is_dir():
            raise SandboxUsageError(f"{directory} exists and is not a directory")
        foreign = sorted(
            p.name
            for p in (directory.iterdir() if directory.exists() else ())
            if p.name not in _OWNED
        )
        if foreign:
            raise SandboxUsageError(
                f"{directory} is not empty and not a sandbox (holds {', '.join(foreign[:5])}); "
                "choose an empty or new directory"
            )
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        with cls._locked(directory):
            if (directory / "sandbox.json").exists():
                existing = cls.open(directory)
                report = existing.status()
                if report["state"] == "up":
                    built = existing.state.get("rows")
                    note = (
                        f" (it holds {built} rows, not {rows}: run `runbook sandbox down` "
                        "first to rebuild it)"
                        if rows_given and built != rows
                        else ""
                    )
                    say(f"sandbox in {directory} is already up; nothing to do{note}")
                    return existing
                say(f"sandbox in {directory} is {report['state']}: stopping it and rebuilding")
                existing._stop(say)
            cls._wipe(directory)
            sandbox = cls(directory, {"state": "starting", "rows": rows})
            sandbox._tools = tools
            sandbox._build(rows, say, db_port=db_port, app_port=app_port)
            return sandbox

    @staticmethod
    @contextlib.contextmanager
    def _locked(directory: Path) -> Iterator[None]:
        fd = os.open(directory / "sandbox.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise SandboxUsageError(
                    f"another runbook sandbox command is working on {directory}"
                ) from None
            yield
        finally:
            os.close(fd)

    @staticmethod
    def _wipe(directory: Path) -> None:
        for name in _OWNED - {"sandbox.lock"}:
            path = directory / name
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif path.exists() or path.is_symlink():
                path.unlink()

    def _build(
        self, rows: int, say: Progress, *, db_port: int | None, app_port: int | None
    ) -> None:
        started = time.monotonic()
        step = "preparing the directory"
        dump: subprocess.Popen[bytes] | None = None

        def begin(name: str) -> None:
            nonlocal step
            step = name
            say(name)

        try:
            begin("preparing the directory")
            self.state["created_at"] = datetime.now().astimezone().isoformat(timespec="seconds")
            (self.dir / "mysql").mkdir(mode=0o700)
            self.socket = self._socket_path()
            self.state["socket"] = str(self.socket)
            self._save()

            begin("initialising the MariaDB data directory (mariadb-install-db)")
            self._install_db()

            begin("starting MariaDB")
            self._start_mariadbd(db_port)

            begin("securing root and creating askproai_db and askproai_user")
            db_password = secrets.token_urlsafe(24)
            self._secure(db_password)

            begin("loading the existing schema (baseline.sql)")
            self._load_baseline(db_password)

            plan = seed.Plan.for_rows(rows)
            begin(
                f"seeding rows ({plan.companies} companies, {plan.customers} customers, "
                f"{plan.appointments} appointments)"
            )
            counts = seed.seed(
                lambda: self._app_connection(db_password, autocommit=False), rows, progress=None
            )
            self.state["seeded"] = counts

            begin("taking a pristine dump for reset() (in the background)")
            dump = self._start_dump()

            begin("rendering the Laravel app")
            self.app_port = app_port or self._pick_port(exclude={self.port})
            self.app_url = f"http://127.0.0.1:{self.app_port}/"
            laravel.render_app(
                self.app_path,
                app_url=self.app_url,
                db_port=self.port,
                db_password=db_password,
                database=self.database,
                user=self.user,
                earlier_migrations=[name for _batch, name in seed.EARLIER_MIGRATIONS],
            )

            begin("writing runbook.toml")
            (self.dir / "backups").mkdir(mode=0o700, exist_ok=True)
            os.chmod(self.dir / "backups", 0o700)
            (self.dir / "journal").mkdir(mode=0o700, exist_ok=True)
            self._write_config(db_password)
            self._password = db_password

            begin("starting the Laravel app (php -S)")
            self._start_php(pinned=app_port is not None)

            begin("checking that the app reaches the database (/api/health)")
            status = _http_status(self.app_url + "api/health", timeout=10)
            if status != 200:
                raise SandboxError(
                    f"/api/health answered {status}; see {self.app_log}:\n{_log_tail(self.app_log)}"
                )
            begin("waiting for the pristine dump")
            self._finish_dump(dump)
        except BaseException as exc:
            if dump is not None and dump.poll() is None:
                dump.kill()
                dump.wait()
            self.state["state"] = "failed"
            self.state["failed_step"] = step
            with contextlib.suppress(Exception):
                self._save()
            with _sigint_ignored(), contextlib.suppress(Exception):
                self._stop(_quiet(say))
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            if isinstance(exc, SandboxError):
                raise SandboxError(f"sandbox up failed while {step}: {exc}") from exc
            raise SandboxError(
                f"sandbox up failed while {step}: {type(exc).__name__}: {exc}"
            ) from exc
        self.state["state"] = "up"
        self.state["up_seconds"] = round(time.monotonic() - started, 2)
        self._save()
        say(f"sandbox up in {self.state['up_seconds']} s")

    def _socket_path(self) -> Path:
        inside = self.dir / "mysql" / "mysqld.sock"
        if len(os.fsencode(inside)) <= _SOCKET_MAX:
            return inside
        short = Path("/tmp") / f"rbsb-{hashlib.sha256(os.fsencode(self.dir)).hexdigest()[:10]}"
        try:
            short.mkdir(mode=0o700)
        except FileExistsError:
            info = short.lstat()
            if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
                raise SandboxError(f"{short} exists and is not ours; remove it") from None
        self.state["socket_dir"] = str(short)
        return short / "mysqld.sock"

    @staticmethod
    def _pick_port(exclude: set[int]) -> int:
        while True:
            port = free_port()
            if port not in exclude:
                return port

    def _install_db(self) -> None:
        log = self.dir / "mysql" / "install-db.log"
        cmd = [
            self.tools.install_db,
            "--no-defaults",
            f"--datadir={self.datadir}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            "--skip-name-resolve",
        ]
        if os.geteuid() == 0:
            cmd.append("--user=root")
        with open(log, "wb") as out:
            # Its own session: on Ctrl-C we kill the script and the bootstrap server it runs.
            proc = subprocess.Popen(
                cmd,
                cwd=self.dir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                code = proc.wait(timeout=180)
            except BaseException:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                raise
        if code != 0:
            raise SandboxError(f"mariadb-install-db exited {code}:\n{_log_tail(log)}")

    def _start_mariadbd(self, pinned: int | None) -> None:
        for attempt in range(1, _START_ATTEMPTS + 1):
            self.port = pinned or free_port()
            self.state["port"] = self.port
            cmd = [
                self.tools.mariadbd,
                "--no-defaults",  # must come first, or /etc/mysql is read (port 3306, /run)
                *(["--user=root"] if os.geteuid() == 0 else []),
                f"--datadir={self.datadir}",
                f"--socket={self.socket}",
                f"--port={self.port}",
                "--bind-address=127.0.0.1",
                "--character-set-server=utf8mb4",
                "--collation-server=utf8mb4_unicode_ci",
                f"--log-error={self.error_log}",
                f"--pid-file={self.dir / 'mysql' / 'mariadbd.pid'}",
                "--skip-name-resolve",
            ]
            popen, proc = spawn_detached(cmd, cwd=self.dir, log=self.dir / "mysql" / "mariadbd.out")
            self.state["mariadbd"] = proc.to_json()
            self._save()
            if self._wait_mariadbd_ready(popen):
                return
            tail = _log_tail(self.error_log)
            proc.wait_gone(5)
            if "Address already in use" in tail and not pinned and attempt < _START_ATTEMPTS:
                continue  # lost the race for the port; take another
            raise SandboxError(f"mariadbd did not start; {self.error_log} says:\n{tail}")

    def _wait_mariadbd_ready(self, popen: subprocess.Popen[bytes]) -> bool:
        deadline = time.monotonic() + _READY_TIMEOUT
        while time.monotonic() < deadline:
            if popen.poll() is not None:
                return False
            try:
                pymysql.connect(
                    unix_socket=str(self.socket), user="root", password="", connect_timeout=2
                ).close()
                return True
            except pymysql.err.OperationalError:
                time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError):
            os.kill(popen.pid, signal.SIGKILL)
        return False

    def _secure(self, db_password: str) -> None:
        root_password = secrets.token_urlsafe(24)
        # The file first: if we stop between the two, down can still log in or fall back.
        _write_private(
            self.admin_cnf,
            "# root of the runbook sandbox; use as the FIRST option:\n"
            f"# mariadb --defaults-extra-file={self.admin_cnf}\n"
            "[client]\nuser=root\n"
            f"password={root_password}\nsocket={self.socket}\n",
        )
        conn = pymysql.connect(
            unix_socket=str(self.socket), user="root", password="", autocommit=True
        )
        with conn, conn.cursor() as cur:
            cur.execute("SELECT user, host FROM mysql.user WHERE user IN ('root', '')")
            for user, host in cur.fetchall():
                if user == "root" and host in ("localhost", "127.0.0.1"):
                    cur.execute("ALTER USER %s@%s IDENTIFIED BY %s", (user, host, root_password))
                else:
                    # root@<hostname>, root@::1, anonymous users: unreachable or unwanted.
                    cur.execute("DROP USER %s@%s", (user, host))
            cur.execute(
                f"CREATE DATABASE `{self.database}` "
                "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
            )
            # TCP logins map to user@127.0.0.1, socket logins to user@localhost.
            for host in ("127.0.0.1", "localhost"):
                account = (self.user, host)
                cur.execute("CREATE USER %s@%s IDENTIFIED BY %s", (*account, db_password))
                cur.execute(f"GRANT ALL PRIVILEGES ON `{self.database}`.* TO %s@%s", account)
                # Scratch schemas for `runbook test-migrations`; %% is a literal % here.
                cur.execute(
                    f"GRANT ALL PRIVILEGES ON `{SCRATCH_PATTERN.replace('%', '%%')}`.* TO %s@%s",
                    account,
                )
                # information_schema.INNODB_TRX and the full processlist need PROCESS.
                cur.execute("GRANT PROCESS ON *.* TO %s@%s", account)

    def _app_connection(
        self, password: str, *, autocommit: bool = True, multi: bool = False
    ) -> pymysql.connections.Connection:
        return pymysql.connect(
            host="127.0.0.1",
            port=self.port,
            user=self.user,
            password=password,
            database=self.database,
            charset="utf8mb4",
            autocommit=autocommit,
            client_flag=CLIENT.MULTI_STATEMENTS if multi else 0,
        )

    def _load_baseline(self, password: str) -> None:
        sql = (sql_dir() / "baseline.sql").read_text(encoding="utf-8")
        with self._app_connection(password, multi=True) as conn, conn.cursor() as cur:
            cur.execute(sql)
            while cur.nextset():
                pass

    def _start_dump(self) -> subprocess.Popen[bytes]:
        """mariadb-dump of the just-seeded database, running while the app starts."""
        fd = os.open(self.pristine, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            return subprocess.Popen(
                [
                    self.tools.dump,
                    f"--defaults-extra-file={self.admin_cnf}",  # must be the first option
                    "--single-transaction",
                    "--skip-dump-date",
                    "--routines",
                    "--triggers",
                    self.database,
                ],
                stdout=out,
                stderr=subprocess.PIPE,
                stdin=subprocess.DEVNULL,
            )

    def _finish_dump(self, dump: subprocess.Popen[bytes]) -> None:
        _out, err = dump.communicate(timeout=600)
        if dump.returncode != 0:
            raise SandboxError(f"mariadb-dump exited {dump.returncode}: {err.decode().strip()}")
        self.pristine_fingerprint.write_text(json.dumps(self._fingerprint()), encoding="utf-8")

    def _write_config(self, password: str) -> None:
        text = (
            "# Written by `runbook sandbox up`; points every runbook command at the sandbox.\n"
            "[database]\n"
            'host = "127.0.0.1"\n'
            f"port = {self.port}\n"
            f"socket = {_toml_str(str(self.socket))}\n"
            f"user = {_toml_str(self.user)}\n"
            f"password = {_toml_str(password)}\n"
            f"database = {_toml_str(self.database)}\n"
            "\n[app]\n"
            f"path = {_toml_str(str(self.app_path))}\n"
            f"url = {_toml_str(self.app_url)}\n"
            f"log = {_toml_str(laravel.LOG_RELATIVE)}\n"
            "\n[mysql]\n"
            f"error_log = {_toml_str(str(self.error_log))}\n"
            "\n[backup]\n"
            f"dir = {_toml_str(str(self.dir / 'backups'))}\n"
            "\n[journal]\n"
            f"dir = {_toml_str(str(self.dir / 'journal'))}\n"
            "\n[monitor]\n"
            f"minutes = {MONITOR_MINUTES}\n"
        )
        _write_private(self.config_path, text)

    def _start_php(self, *, pinned: bool) -> None:
        log = self.dir / "php-server.log"
        for attempt in range(1, _START_ATTEMPTS + 1):
            self.state["app_port"] = self.app_port
            cmd = [
                self.tools.php,
                "-S",
                f"127.0.0.1:{self.app_port}",
                "-t",
                str(self.app_path / "public"),
            ]
            # Several workers, so one request stuck on a metadata lock during a
            # deployment does not make every other request (and the monitor) hang.
            env = laravel.php_env({"PHP_CLI_SERVER_WORKERS": "4"})
            offset = log.stat().st_size if log.exists() else 0
            popen, proc = spawn_detached(cmd, cwd=self.app_path, log=log, env=env)
            self.state["php"] = proc.to_json()
            self._save()
            deadline = time.monotonic() + 15
            # php fails on a taken port within milliseconds; give it that long
            # before asking, or another server on the port could answer for it.
            time.sleep(0.1)
            while time.monotonic() < deadline:
                if popen.poll() is not None:
                    break
                if _http_status(self.app_url, timeout=1) is not None and popen.poll() is None:
                    return
                time.sleep(0.05)
            output = log.read_bytes()[offset:].decode(errors="replace")
            stop_group(proc)
            if "Address already in use" in output and not pinned and attempt < _START_ATTEMPTS:
                self._rebind_app_port()
                continue
            raise SandboxError(f"php -S did not answer on {self.app_url}:\n{output.strip()}")

    def _rebind_app_port(self) -> None:
        self.app_port = self._pick_port(exclude={self.port})
        self.app_url = f"http://127.0.0.1:{self.app_port}/"
        self._write_config(self.password)
        env_file = self.app_path / ".env"
        lines = [
            f"APP_URL={self.app_url.rstrip('/')}" if line.startswith("APP_URL=") else line
            for line in env_file.read_text(encoding="utf-8").splitlines()
        ]
        env_file.write_text("\n".join(lines) + "\n", encoding="utf-8")

    # -- down ----------------------------------------------------------------------------

    def down(self, progress: Progress | None = None, *, timeout: float = _SHUTDOWN_TIMEOUT) -> None:
        """Stop every process the sandbox started; returns when they are gone. Idempotent.

        MariaDB gets ``mariadb-admin shutdown`` (SIGTERM if that fails) and
        ``timeout`` seconds to exit before it is killed, which ``progress`` reports.
        """
        say = progress or (lambda _msg: None)
        with self._locked(self.dir):
            self._reload()
            self._stop(say, timeout=timeout)

    def _stop(self, say: Progress, *, timeout: float = _SHUTDOWN_TIMEOUT) -> None:
        php = self.php
        if php and php.alive():
            say("stopping the Laravel app (php -S)")
            if not stop_group(php):
                say("php -S ignored SIGTERM for 5 s; killed it (SIGKILL)")
        mariadbd = self.mariadbd
        if mariadbd and mariadbd.alive():
            say("stopping MariaDB (mariadb-admin shutdown)")
            self._shutdown_mariadbd(mariadbd, say, timeout)
        socket_dir = self.state.get("socket_dir")
        if socket_dir and Path(socket_dir).name.startswith("rbsb-"):
            shutil.rmtree(socket_dir, ignore_errors=True)
        if self.state.get("state") != "failed":
            self.state["state"] = "down"
        if self.state_path.exists():
            self._save()

    def _shutdown_mariadbd(self, proc: Proc, say: Progress, timeout: float) -> None:
        asked = False
        if self.admin_cnf.exists():
            try:
                result = subprocess.run(
                    [
                        self.tools.admin,
                        f"--defaults-extra-file={self.admin_cnf}",  # must be the first option
                        f"--connect-timeout={max(1, min(5, int(timeout)))}",
                        "shutdown",
                    ],
                    capture_output=True,
                    text=True,
                    timeout=timeout,
                    stdin=subprocess.DEVNULL,
                    check=False,
                )
                asked = result.returncode == 0
                if not asked:
                    say(f"mariadb-admin shutdown failed ({result.stderr.strip()}); sending SIGTERM")
            except (subprocess.TimeoutExpired, MissingPackages, OSError) as exc:
                say(f"mariadb-admin shutdown failed ({exc}); sending SIGTERM")
        if not asked:
            # SIGTERM is mariadbd's own clean shutdown too.
            proc.signal(signal.SIGTERM)
        # The server exits a moment after mariadb-admin returns: wait on the pid.
        if proc.wait_gone(timeout):
            return
        say(
            f"mariadbd (pid {proc.pid}) still running {timeout:g} s after shutdown; "
            "killing it (SIGKILL)"
        )
        proc.signal_group(signal.SIGKILL)
        if not proc.wait_gone(10):
            raise SandboxError(f"mariadbd (pid {proc.pid}) survived SIGKILL")

    # -- status --------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Liveness and reachability of each process, with ports and paths (no secrets)."""
        self._reload()
        mariadbd, php = self.mariadbd, self.php
        db_alive = bool(mariadbd and mariadbd.alive())
        db_answering, version, db_error = False, None, None
        if db_alive and self.config_path.exists():
            try:
                with self.connect(connect_timeout=2, read_timeout=5) as conn, conn.cursor() as cur:
                    cur.execute("SELECT VERSION()")
                    version = cur.fetchone()[0]
                db_answering = True
            except (pymysql.MySQLError, OSError, KeyError) as exc:
                db_error = str(exc)
        app_alive = bool(php and php.alive())
        http = _http_status(self.app_url, timeout=3) if app_alive else None
        health = _http_status(self.app_url + "api/health", timeout=5) if app_alive else None
        app_answering = http is not None
        if db_answering and app_answering:
            state = "up"
        elif not db_alive and not app_alive:
            state = "down"
        else:
            state = "degraded"
        return {
            "dir": str(self.dir),
            "state": state,
            "recorded_state": self.state.get("state"),
            "failed_step": self.state.get("failed_step"),
            "config": str(self.config_path),
            "rows": self.state.get("rows"),
            "mariadb": {
                "pid": mariadbd.pid if mariadbd else None,
                "alive": db_alive,
                "answering": db_answering,
                "version": version,
                "error": db_error,
                "host": "127.0.0.1",
                "port": self.port,
                "socket": str(self.socket),
                "database": self.database,
                "user": self.user,
                "datadir": str(self.datadir),
                "error_log": str(self.error_log),
            },
            "app": {
                "pid": php.pid if php else None,
                "alive": app_alive,
                "answering": app_answering,
                "http_status": http,
                "health_status": health,
                "url": self.app_url,
                "path": str(self.app_path),
                "log": str(self.app_log),
                "server_log": str(self.dir / "php-server.log"),
            },
        }

    # -- using it ------------------------------------------------------------------------

    def connect(
        self, *, admin: bool = False, database: str | None = DATABASE, **kwargs: Any
    ) -> pymysql.connections.Connection:
        """A PyMySQL connection (autocommit on): askproai_user over TCP, or root over the socket.

        ``kwargs`` go to ``pymysql.connect`` and override the defaults.
        """
        options: dict[str, Any] = {
            "database": database,
            "charset": "utf8mb4",
            "autocommit": True,
            "connect_timeout": 10,
        }
        if admin:
            options.update(
                unix_socket=str(self.socket),
                user="root",
                password=_read_cnf_password(self.admin_cnf),
            )
        else:
            options.update(host="127.0.0.1", port=self.port, user=self.user, password=self.password)
        options.update(kwargs)
        return pymysql.connect(**options)

    def artisan(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """``php artisan ARGS`` in the app directory, with a clean environment (.env decides)."""
        return laravel.artisan(self.app_path, *args, php=self.tools.php, timeout=timeout)

    # -- reset ---------------------------------------------------------------------------

    def _fingerprint(self) -> dict[str, Any]:
        """Tables, their definitions and checksums: equal fingerprints, equal databases."""
        with self.connect(admin=True, database=None) as conn, conn.cursor() as cur:
            cur.execute(
                "SELECT TABLE_NAME FROM information_schema.TABLES "
                "WHERE TABLE_SCHEMA = %s ORDER BY TABLE_NAME",
                (self.database,),
            )
            tables = [row[0] for row in cur.fetchall()]
            result: dict[str, Any] = {}
            for table in tables:
                cur.execute(f"SHOW CREATE TABLE `{self.database}`.`{table}`")
                create = cur.fetchone()[1]
                cur.execute(f"CHECKSUM TABLE `{self.database}`.`{table}` EXTENDED")
                result[table] = [create, int(cur.fetchone()[1] or 0)]
            cur.execute(
                "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE %s",
                (SCRATCH_PATTERN,),
            )
            result["//scratch"] = sorted(row[0] for row in cur.fetchall())
            return result

    def reset(self) -> bool:
        """Put the database and the app back exactly as ``up`` left them.

        Cheap when nothing changed (a fingerprint of table definitions and
        checksums is compared); otherwise the other sessions of askproai_user are
        killed, askproai_db and any ``runbook_scratch_*`` schema are dropped and
        the pristine dump is loaded again. The app leaves maintenance mode, its
        caches are cleared, laravel.log is emptied, and php -S is restarted if it
        died. Returns True when the database had to be restored.
        """
        if not (self.mariadbd and self.mariadbd.alive()):
            raise SandboxError(f"MariaDB of the sandbox in {self.dir} is not running")
        with self.connect(admin=True, database=None) as conn, conn.cursor() as cur:
            for host in ("127.0.0.1", "localhost"):
                cur.execute(
                    "ALTER USER %s@%s IDENTIFIED BY %s ACCOUNT UNLOCK",
                    (self.user, host, self.password),
                )
        restored = False
        pristine = json.loads(self.pristine_fingerprint.read_text(encoding="utf-8"))
        # JSON turned the fingerprint's tuples into lists; compare like with like.
        if json.loads(json.dumps(self._fingerprint())) != pristine:
            self._restore_pristine()
            restored = True
        for name in ("down", "maintenance.php"):
            (self.app_path / "storage" / "framework" / name).unlink(missing_ok=True)
        for cached in (self.app_path / "bootstrap" / "cache").glob("*.php"):
            cached.unlink()
        self.app_log.write_bytes(b"")
        php = self.php
        if not (php and php.alive()) or _http_status(self.app_url) is None:
            if php:
                stop_group(php)
            self._start_php(pinned=True)
        return restored

    def _restore_pristine(self) -> None:
        with self.connect(admin=True, database=None) as conn, conn.cursor() as cur:
            # A test that left a transaction open would make DROP wait a day
            # (lock_wait_timeout is 86400 s): end those sessions first.
            cur.execute(
                "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = %s", (self.user,)
            )
            for (session,) in cur.fetchall():
                with contextlib.suppress(pymysql.MySQLError):
                    cur.execute(f"KILL {int(session)}")
            cur.execute("SET SESSION lock_wait_timeout = 30")
            cur.execute(
                "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE %s",
                (SCRATCH_PATTERN,),
            )
            for (schema,) in cur.fetchall():
                cur.execute(f"DROP DATABASE `{schema}`")
            cur.execute(f"DROP DATABASE IF EXISTS `{self.database}`")
            cur.execute(
                f"CREATE DATABASE `{self.database}` "
                "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
            )
        with open(self.pristine, "rb") as dump:
            result = subprocess.run(
                [self.tools.client, f"--defaults-extra-file={self.admin_cnf}", self.database],
                stdin=dump,
                capture_output=True,
                check=False,
            )
        if result.returncode != 0:
            raise SandboxError(f"restoring {self.pristine} failed: {result.stderr!r}")
