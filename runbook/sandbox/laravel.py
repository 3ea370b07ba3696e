"""The sandbox's Laravel application: rendering it and running artisan in it.

The templates in ``assets/laravel/`` are a minimal Laravel 8 app for Debian's
php-laravel-framework (no Composer, no vendor/). They are copied verbatim; the
only generated files are ``.env`` (it holds the database password) and the
migration classes under ``database/migrations/``, so that ``php artisan
migrate:status`` lists the same names that the ``migrations`` table records.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from base64 import b64encode
from collections.abc import Iterable
from importlib.resources.abc import Traversable
from pathlib import Path

from runbook.resources import assets_dir, sql_dir

# Directories Laravel writes to; cache:clear and view:clear fail when they are missing.
WRITABLE_DIRS = (
    "storage/logs",
    "storage/app",
    "storage/framework/cache/data",
    "storage/framework/sessions",
    "storage/framework/views",
    "bootstrap/cache",
    "database/migrations",
    "resources/views",
)
LOG_RELATIVE = "storage/logs/laravel.log"

# Environment variables Laravel reads: a real one overrides .env, so an
# operator's shell (DB_PASSWORD=... for production) must not leak into the sandbox.
_PASS_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "USER", "LOGNAME")

_HEREDOC = "RUNBOOK_SQL"


def php_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """A clean environment for php: .env decides, not the caller's shell."""
    env = {key: os.environ[key] for key in _PASS_THROUGH if key in os.environ}
    env.setdefault("PATH", os.defpath)
    env.update(extra or {})
    return env


def _copy_tree(source: Traversable, target: Path) -> int:
    target.mkdir(parents=True, exist_ok=True)
    count = 0
    for entry in source.iterdir():
        if entry.name == "__pycache__":
            continue
        if entry.is_dir():
            count += _copy_tree(entry, target / entry.name)
        else:
            (target / entry.name).write_bytes(entry.read_bytes())
            count += 1
    return count


def _write_secret(path: Path, text: str) -> None:
    # 0600 from the moment the file exists, not after a chmod.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(text)


def phase2_migrations() -> list[tuple[str, str, str]]:
    """(name, up SQL, down SQL) for each shipped ``*.up.sql``, in name order."""
    found = []
    root = sql_dir()
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".up.sql"):
            continue
        name = entry.name.removesuffix(".up.sql")
        down = root / f"{name}.down.sql"
        down_sql = down.read_text(encoding="utf-8") if down.is_file() else ""
        found.append((name, entry.read_text(encoding="utf-8"), down_sql))
    return found


def _php_sql(sql: str) -> str:
    if any(line.strip() == _HEREDOC for line in sql.splitlines()):
        raise ValueError(f"SQL contains a line {_HEREDOC!r}; cannot embed it in PHP")
    return f"DB::unprepared(<<<'{_HEREDOC}'\n{sql.rstrip()}\n{_HEREDOC});"


def _migration_php(name: str, up: str, down: str) -> str:
    down_body = (
        _php_sql(down)
        if down.strip()
        else f"throw new RuntimeException('No down migration shipped for {name}.');"
    )
    return f"""<?php

// Rendered by `runbook sandbox up` from runbook's sql/{name}.up.sql and
// .down.sql, so that `php artisan migrate --step` and `migrate:rollback`
// against the sandbox do what runbook does: one CREATE TABLE per migration.

use Illuminate\\Database\\Migrations\\Migration;
use Illuminate\\Support\\Facades\\DB;

return new class extends Migration
{{
    public function up()
    {{
        {_php_sql(up)}
    }}

    public function down()
    {{
        {down_body}
    }}
}};
"""


def _baseline_migration_php(name: str) -> str:
    return f"""<?php

// An earlier migration that the sandbox records as already run (batch 1-3):
// the tables it built come from runbook's sql/baseline.sql.

use Illuminate\\Database\\Migrations\\Migration;

return new class extends Migration
{{
    public function up()
    {{
        throw new RuntimeException('{name} is part of the sandbox baseline.');
    }}

    public function down()
    {{
        throw new RuntimeException('{name} is part of the sandbox baseline; '
            .'it cannot be rolled back.');
    }}
}};
"""


def render_app(
    target: Path,
    *,
    app_url: str,
    db_port: int,
    db_password: str,
    database: str,
    user: str,
    earlier_migrations: Iterable[str],
) -> int:
    """Write the app into ``target``; returns the number of files written."""
    count = _copy_tree(assets_dir() / "laravel", target)
    for relative in WRITABLE_DIRS:
        (target / relative).mkdir(parents=True, exist_ok=True)
    (target / LOG_RELATIVE).touch()
    migrations = target / "database" / "migrations"
    for name in earlier_migrations:
        (migrations / f"{name}.php").write_text(_baseline_migration_php(name), encoding="utf-8")
        count += 1
    for name, up, down in phase2_migrations():
        (migrations / f"{name}.php").write_text(_migration_php(name, up, down), encoding="utf-8")
        count += 1
    key = b64encode(secrets.token_bytes(32)).decode()
    env = {
        "APP_NAME": "AskProAI",
        # production, as on the real server: the same code paths and log lines.
        "APP_ENV": "production",
        "APP_KEY": f"base64:{key}",
        "APP_DEBUG": "false",
        "APP_URL": app_url.rstrip("/"),
        "LOG_CHANNEL": "single",
        "LOG_LEVEL": "debug",
        "CACHE_DRIVER": "file",
        "DB_CONNECTION": "mysql",
        "DB_HOST": "127.0.0.1",
        "DB_PORT": str(db_port),
        "DB_DATABASE": database,
        "DB_USERNAME": user,
        "DB_PASSWORD": db_password,
    }
    _write_secret(target / ".env", "".join(f"{k}={v}\n" for k, v in env.items()))
    return count + 1


def artisan(
    app: Path, *args: str, php: str = "php", timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [php, "artisan", *args],
        cwd=app,
        env=php_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,
    )
