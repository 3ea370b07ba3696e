"""The TOML config: where it is found, what it may hold, and how it is refused.

Every error names the file, and where it can, the line and the key, because an
operator who mistyped a key at 2 a.m. should not have to guess which one.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runbook.secret import Secret

ENV_VAR = "RUNBOOK_CONFIG"
DEFAULT_NAME = "runbook.toml"


class ConfigError(Exception):
    """The config cannot be used; nothing was touched (exit 2)."""


@dataclass(frozen=True)
class DatabaseConfig:
    host: str = "127.0.0.1"
    port: int = 3306
    socket: str = ""
    user: str = "askproai_user"
    password: Secret = field(default_factory=lambda: Secret(""))
    password_env: str = ""
    defaults_file: str = ""
    database: str = "askproai_db"

    def resolved_password(self) -> Secret:
        """The password from where the config keeps it (empty when a defaults file does)."""
        if self.password_env:
            value = os.environ.get(self.password_env)
            if value is None:
                raise ConfigError(
                    f"[database] password_env names ${self.password_env}, which is not set"
                )
            return Secret(value)
        return self.password

    @property
    def where(self) -> str:
        """A human description of the target, never including the secret."""
        place = f"socket {self.socket}" if self.socket else f"{self.host}:{self.port}"
        return f"{self.user}@{place}/{self.database}"


@dataclass(frozen=True)
class AppConfig:
    path: Path = Path("/var/www/api-gateway")
    url: str = "http://127.0.0.1:8000/"
    log: Path = Path("/var/www/api-gateway/storage/logs/laravel.log")


@dataclass(frozen=True)
class Config:
    path: Path | None
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    app: AppConfig = field(default_factory=AppConfig)
    mysql_error_log: Path = Path("/var/log/mysql/error.log")
    backup_dir: Path = Path("/var/backups/mysql")
    journal_dir: Path = Path("/var/lib/runbook/journal")
    monitor_minutes: float = 30.0
    notify_webhook: str = ""
    notify_command: str = ""
    sql_dir: Path | None = None


# section -> key -> accepted Python types; the contract of interface.md plus sql_dir.
_SCHEMA: dict[str, dict[str, tuple[type, ...]]] = {
    "": {"sql_dir": (str,)},
    "database": {
        "host": (str,),
        "port": (int,),
        "socket": (str,),
        "user": (str,),
        "password": (str,),
        "password_env": (str,),
        "defaults_file": (str,),
        "database": (str,),
    },
    "app": {"path": (str,), "url": (str,), "log": (str,)},
    "mysql": {"error_log": (str,)},
    "backup": {"dir": (str,)},
    "journal": {"dir": (str,)},
    "monitor": {"minutes": (int, float)},
    "notify": {"webhook": (str,), "command": (str,)},
}


def find_config(explicit: str | os.PathLike[str] | None) -> Path:
    """``--config``, else ``$RUNBOOK_CONFIG``, else ``./runbook.toml``."""
    if explicit:
        return Path(explicit)
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    return Path.cwd() / DEFAULT_NAME


def load(explicit: str | os.PathLike[str] | None = None) -> Config:
    path = find_config(explicit)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        how = (
            "--config"
            if explicit
            else (f"${ENV_VAR}" if os.environ.get(ENV_VAR) else "the current directory")
        )
        raise ConfigError(
            f"{path}: no such config file (found through {how}); "
            "`runbook sandbox up` writes one for the rehearsal sandbox"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
        data = tomllib.loads(text)
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    return parse(data, text, path, mode=path.stat().st_mode)


def parse(data: dict[str, Any], text: str, path: Path, *, mode: int | None = None) -> Config:
    locate = _Locator(text)
    _check_keys(data, locate, path)
    db = data.get("database", {})
    if db.get("password") and mode is not None and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"{path}:{locate.line('database', 'password')}: holds a password but is readable "
            f"by others (mode {stat.S_IMODE(mode):04o}); run `chmod 600 {path}` "
            "or move the secret to password_env / defaults_file"
        )
    given = [k for k in ("password", "password_env", "defaults_file") if db.get(k)]
    if len(given) > 1:
        raise ConfigError(
            f"{path}:{locate.line('database', given[1])}: [database] sets {' and '.join(given)}; "
            "give the secret one way only"
        )
    base = path.parent

    def rel(value: str, root: Path = base) -> Path:
        p = Path(value).expanduser()
        return p if p.is_absolute() else root / p

    for key in ("port",):
        if key in db and not 0 < db[key] < 65536:
            raise ConfigError(
                f"{path}:{locate.line('database', key)}: [database] port {db[key]} "
                "is not a TCP port"
            )
    database = DatabaseConfig(
        host=db.get("host", "127.0.0.1"),
        port=db.get("port", 3306),
        socket=db.get("socket", ""),
        user=db.get("user", "askproai_user"),
        password=Secret(db.get("password", "")),
        password_env=db.get("password_env", ""),
        defaults_file=str(rel(db["defaults_file"])) if db.get("defaults_file") else "",
        database=db.get("database", "askproai_db"),
    )
    if not database.database:
        raise ConfigError(
            f"{path}:{locate.line('database', 'database')}: [database] database is empty"
        )
    app = data.get("app", {})
    app_path = rel(app.get("path", "/var/www/api-gateway"))
    app_cfg = AppConfig(
        path=app_path,
        url=app.get("url", "http://127.0.0.1:8000/"),
        log=rel(app.get("log", "storage/logs/laravel.log"), app_path),
    )
    if not re.match(r"^https?://", app_cfg.url):
        raise ConfigError(
            f"{path}:{locate.line('app', 'url')}: [app] url {app_cfg.url!r} is not an http(s) URL"
        )
    minutes = data.get("monitor", {}).get("minutes", 30)
    if minutes <= 0:
        raise ConfigError(
            f"{path}:{locate.line('monitor', 'minutes')}: [monitor] minutes must be above 0"
        )
    notify = data.get("notify", {})
    return Config(
        path=path,
        database=database,
        app=app_cfg,
        mysql_error_log=rel(data.get("mysql", {}).get("error_log", "/var/log/mysql/error.log")),
        backup_dir=rel(data.get("backup", {}).get("dir", "/var/backups/mysql")),
        journal_dir=rel(data.get("journal", {}).get("dir", "/var/lib/runbook/journal")),
        monitor_minutes=float(minutes),
        notify_webhook=notify.get("webhook", ""),
        notify_command=notify.get("command", ""),
        sql_dir=rel(data["sql_dir"]) if data.get("sql_dir") else None,
    )


def _check_keys(data: dict[str, Any], locate: _Locator, path: Path) -> None:
    for key, value in data.items():
        if isinstance(value, dict):
            if key not in _SCHEMA or key == "":
                known = ", ".join(f"[{s}]" for s in _SCHEMA if s)
                raise ConfigError(
                    f"{path}:{locate.line(key, None)}: unknown section [{key}] (known: {known})"
                )
            for sub, subvalue in value.items():
                _check_value(key, sub, subvalue, locate, path)
        else:
            _check_value("", key, value, locate, path)


def _check_value(section: str, key: str, value: Any, locate: _Locator, path: Path) -> None:
    allowed = _SCHEMA[section]
    where = f"[{section}] " if section else ""
    if key not in allowed:
        raise ConfigError(
            f"{path}:{locate.line(section, key)}: unknown key {where}{key} "
            f"(known: {', '.join(allowed)})"
        )
    types = allowed[key]
    # bool is an int subclass; `port = true` is a typo, not a port.
    if isinstance(value, bool) or not isinstance(value, types):
        wanted = " or ".join("number" if t in (int, float) else "string" for t in types)
        raise ConfigError(
            f"{path}:{locate.line(section, key)}: {where}{key} must be a {wanted}, "
            f"not {type(value).__name__}"
        )


class _Locator:
    """Finds the line of a key in TOML text; tomllib keeps no positions."""

    _header = re.compile(r"^\s*\[\s*([A-Za-z0-9_.-]+)\s*\]")
    _key = re.compile(r"^\s*([A-Za-z0-9_-]+)\s*=")

    def __init__(self, text: str) -> None:
        self.where: dict[tuple[str, str | None], int] = {}
        section = ""
        for number, line in enumerate(text.splitlines(), start=1):
            if m := self._header.match(line):
                section = m.group(1)
                self.where.setdefault((section, None), number)
            elif m := self._key.match(line):
                self.where.setdefault((section, m.group(1)), number)

    def line(self, section: str, key: str | None) -> int | str:
        return self.where.get((section, key), "?")
