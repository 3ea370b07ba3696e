"""Connections to the target: credentials kept out of argv, dry-run enforced, errors masked.

Every session the runbook opens pins the settings that change what DDL means,
so the same migration means the same thing on any server, whatever its my.cnf.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymysql
import pymysql.cursors

from runbook.config import DatabaseConfig
from runbook.secret import Secret

# Strict, so a truncated value or zero date is an error rather than a warning; no
# engine substitution, so a table never silently lands in MyISAM.
PINNED_SQL_MODE = (
    "STRICT_TRANS_TABLES,STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,"
    "ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION"
)
PINNED_SETTINGS: dict[str, str | int] = {
    "sql_mode": PINNED_SQL_MODE,
    "foreign_key_checks": 1,
    "default_storage_engine": "InnoDB",
    "explicit_defaults_for_timestamp": 1,
    "unique_checks": 1,
    # The server defaults are a day (metadata locks) and 50 s (rows): a runbook session
    # gives up sooner and says who it waited for, rather than hanging.
    "lock_wait_timeout": 30,
    "innodb_lock_wait_timeout": 30,
}


class DatabaseError(Exception):
    """A server or connection error, with the secret masked out of the text."""

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class DryRunViolation(RuntimeError):
    """A write was attempted in dry-run mode: a bug in the runbook, never a user error."""


def quote_ident(name: str) -> str:
    """Backtick-quote an identifier; nothing from config or files reaches SQL unquoted."""
    return "`" + name.replace("`", "``") + "`"


@dataclass
class Session:
    """One connection. ``execute`` is the only way to write, and it refuses in dry-run."""

    conn: pymysql.connections.Connection
    secret: Secret
    dry_run: bool = False

    @property
    def connection_id(self) -> int:
        return int(self.conn.thread_id())

    def query(
        self, sql: str, args: Sequence[Any] | dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Run a read and return its rows as dicts."""
        try:
            with self.conn.cursor(pymysql.cursors.DictCursor) as cur:
                cur.execute(sql, args)
                return list(cur.fetchall())
        except pymysql.MySQLError as exc:
            raise self._wrap(exc) from None

    def scalar(self, sql: str, args: Sequence[Any] | None = None) -> Any:
        rows = self.query(sql, args)
        if not rows:
            return None
        return next(iter(rows[0].values()))

    def execute(self, sql: str, args: Sequence[Any] | None = None) -> int:
        """Run a write; returns the affected row count."""
        if self.dry_run:
            raise DryRunViolation(f"dry-run: refusing to execute a write: {sql[:120]}")
        try:
            with self.conn.cursor() as cur:
                return int(cur.execute(sql, args))
        except pymysql.MySQLError as exc:
            raise self._wrap(exc) from None

    def set_session(self, settings: dict[str, str | int]) -> None:
        """Session variables change nothing on the server, so dry-run may set them too."""
        parts = ", ".join(f"SESSION {name} = %s" for name in settings)
        try:
            with self.conn.cursor() as cur:
                cur.execute(f"SET {parts}", list(settings.values()))
        except pymysql.MySQLError as exc:
            raise self._wrap(exc) from None

    def warnings(self) -> list[dict[str, Any]]:
        return self.query("SHOW WARNINGS")

    def close(self) -> None:
        # closing a dead connection must never mask the real error
        with suppress(Exception):
            self.conn.close()

    def _wrap(self, exc: pymysql.MySQLError) -> DatabaseError:
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
        text = " ".join(str(a) for a in exc.args[1:]) if code is not None else str(exc)
        return DatabaseError(self.secret.mask(text), code=code)


class Target:
    """How to reach the target database; opens sessions and writes client defaults files."""

    def __init__(self, cfg: DatabaseConfig, *, dry_run: bool = False) -> None:
        self.cfg = cfg
        self.dry_run = dry_run
        self.secret = cfg.resolved_password()

    @property
    def database(self) -> str:
        return self.cfg.database

    def connect(
        self, *, database: str | None = "", pinned: bool = True, connect_timeout: int = 10
    ) -> Session:
        """A new session; ``database=""`` means the target database, ``None`` means none."""
        kwargs: dict[str, Any] = {
            "user": self.cfg.user,
            "charset": "utf8mb4",
            "autocommit": True,
            "connect_timeout": connect_timeout,
            "client_flag": 0,
        }
        if self.cfg.socket:
            kwargs["unix_socket"] = self.cfg.socket
            # TLS over a local socket protects nothing, and PyMySQL's "preferred" TLS
            # loads the system CA store on every connect (~40 ms).
            kwargs["ssl_disabled"] = True
        else:
            kwargs["host"] = self.cfg.host
            kwargs["port"] = self.cfg.port
        if self.cfg.defaults_file:
            kwargs["read_default_file"] = self.cfg.defaults_file
        else:
            kwargs["password"] = self.secret.reveal()
        db = self.cfg.database if database == "" else database
        if db:
            kwargs["database"] = db
        try:
            conn = pymysql.connect(**kwargs)
        except pymysql.MySQLError as exc:
            code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
            text = " ".join(str(a) for a in exc.args[1:]) if code is not None else str(exc)
            raise DatabaseError(
                f"cannot connect to {self.cfg.where}: {self.secret.mask(text)}", code=code
            ) from None
        session = Session(conn, self.secret, dry_run=self.dry_run)
        if pinned:
            session.set_session(PINNED_SETTINGS)
        return session

    @contextmanager
    def client_defaults_file(self) -> Iterator[Path]:
        """A 0600 my.cnf holding the credentials, for mariadb-dump and the mariadb client.

        Passed as the first argument (``--defaults-extra-file``) so the password never
        appears in any process's argv; removed when the block ends. An operator's own
        defaults file is included rather than copied, so its secret is never rewritten.
        """
        fd, name = tempfile.mkstemp(prefix="runbook-", suffix=".cnf")
        try:
            lines = []
            if self.cfg.defaults_file:
                lines.append(f"!include {self.cfg.defaults_file}")
            lines += ["[client]", f"user={_cnf_value(self.cfg.user)}"]
            if self.cfg.socket:
                lines.append(f"socket={_cnf_value(self.cfg.socket)}")
            else:
                lines += [f"host={_cnf_value(self.cfg.host)}", f"port={self.cfg.port}"]
            if not self.cfg.defaults_file:
                lines.append(f"password={_cnf_value(self.secret.reveal())}")
            lines.append("default-character-set=utf8mb4")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write("\n".join(lines) + "\n")
            yield Path(name)
        finally:
            with suppress(OSError):
                os.unlink(name)


def _cnf_value(value: str) -> str:
    # my.cnf values may be quoted; quoting keeps '#', spaces and '=' inside a password.
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
