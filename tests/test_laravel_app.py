"""The sandbox's Laravel app for real: php -S, artisan, maintenance mode, its log."""

from __future__ import annotations

import json
import stat
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from runbook.sandbox import Sandbox
from runbook.sandbox.laravel import phase2_migrations
from runbook.sandbox.seed import EARLIER_MIGRATIONS

pytestmark = [pytest.mark.mariadb, pytest.mark.php]


def _get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def _header(headers: dict[str, str], name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name.lower()), None)


def test_home_answers_200(sandbox: Sandbox) -> None:
    status, _headers, body = _get(sandbox.app_url)
    assert status == 200
    assert b"AskProAI" in body


def test_maintenance_cycle(clean_sandbox: Sandbox) -> None:
    sandbox = clean_sandbox
    down = sandbox.artisan("down", "--retry=60")
    assert down.returncode == 0, down.stdout + down.stderr
    status, headers, _body = _get(sandbox.app_url)
    assert status == 503
    assert _header(headers, "Retry-After") == "60"
    assert _get(sandbox.app_url + "api/health")[0] == 503
    # A second `down` is harmless, as on a real server.
    assert sandbox.artisan("down", "--retry=60").returncode == 0

    up = sandbox.artisan("up")
    assert up.returncode == 0, up.stdout + up.stderr
    assert _get(sandbox.app_url)[0] == 200
    assert sandbox.artisan("up").returncode == 0


@pytest.mark.parametrize("command", ["config:clear", "cache:clear", "route:clear", "view:clear"])
def test_clear_commands_exit_0(sandbox: Sandbox, command: str) -> None:
    result = sandbox.artisan(command)
    assert result.returncode == 0, result.stdout + result.stderr


def test_health_reads_the_database(sandbox: Sandbox) -> None:
    status, headers, body = _get(sandbox.app_url + "api/health")
    assert status == 200
    assert _header(headers, "Content-Type") == "application/json"
    data = json.loads(body)
    with sandbox.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM companies")
        companies = cur.fetchone()[0]
    assert data["status"] == "ok" and data["companies"] == companies


def test_database_error_is_a_500_and_an_error_line_in_laravel_log(clean_sandbox: Sandbox) -> None:
    sandbox = clean_sandbox
    assert sandbox.app_log.read_text() == ""
    with sandbox.connect(admin=True) as conn, conn.cursor() as cur:
        # The app connects over TCP: askproai_user@127.0.0.1. reset() unlocks it again.
        cur.execute("ALTER USER 'askproai_user'@'127.0.0.1' ACCOUNT LOCK")
    status, _headers, body = _get(sandbox.app_url + "api/health")
    assert status == 500
    assert json.loads(body)["database"] == "unavailable"
    log = sandbox.app_log.read_text()
    assert "production.ERROR: Health check failed: database unavailable" in log
    assert "account is locked" in log
    sandbox.reset()
    assert _get(sandbox.app_url + "api/health")[0] == 200


def test_env_file_is_private_and_the_callers_environment_does_not_leak(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = sandbox.app_path / ".env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert f"DB_PORT={sandbox.port}\n" in env_file.read_text()
    # Real environment variables override .env in Laravel: an operator's
    # production settings in the shell must not redirect the sandbox's artisan.
    monkeypatch.setenv("DB_PORT", "1")
    monkeypatch.setenv("DB_PASSWORD", "wrong")
    result = sandbox.artisan("migrate:status")
    assert result.returncode == 0, result.stdout + result.stderr


def test_migrate_status_agrees_with_the_migrations_table(sandbox: Sandbox) -> None:
    result = sandbox.artisan("migrate:status")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    for _batch, name in EARLIER_MIGRATIONS:
        assert any(name in line and "Yes" in line for line in lines), name
    for name, _up, _down in phase2_migrations():
        assert any(name in line and "No" in line for line in lines), name


def test_artisan_migrate_step_and_rollback_run_the_shipped_sql(clean_sandbox: Sandbox) -> None:
    shipped = phase2_migrations()
    if not shipped:
        pytest.skip("no *.up.sql shipped yet")
    sandbox = clean_sandbox
    result = sandbox.artisan("migrate", "--force", "--step")
    assert result.returncode == 0, result.stdout + result.stderr
    tables = _tables(sandbox)
    with sandbox.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT migration, batch FROM migrations WHERE batch > 3 ORDER BY id")
        applied = cur.fetchall()
    assert [m for m, _b in applied] == [name for name, _u, _d in shipped]
    assert len({b for _m, b in applied}) == len(shipped)  # --step: one batch each
    result = sandbox.artisan("migrate:rollback", f"--step={len(shipped)}", "--force")
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(tables) > len(_tables(sandbox)) == 7


def _tables(sandbox: Sandbox) -> set[str]:
    with sandbox.connect() as conn, conn.cursor() as cur:
        cur.execute("SHOW TABLES")
        return {row[0] for row in cur.fetchall()}


def test_app_files_are_the_minimal_laravel_8_app(sandbox: Sandbox) -> None:
    app = sandbox.app_path
    expected = [
        "artisan",
        "public/index.php",
        "bootstrap/app.php",
        "bootstrap/autoload.php",
        "app/Http/Kernel.php",
        "app/Console/Kernel.php",
        "app/Exceptions/Handler.php",
        "app/Http/Middleware/PreventRequestsDuringMaintenance.php",
        "app/Providers/RouteServiceProvider.php",
        "config/app.php",
        "config/cache.php",
        "config/view.php",
        "config/logging.php",
        "config/database.php",
        "routes/web.php",
        ".env",
    ]
    assert [p for p in expected if not (app / p).is_file()] == []
    for writable in ("storage/logs", "storage/framework/views", "bootstrap/cache"):
        assert Path(app / writable).is_dir()
    version = sandbox.artisan("--version")
    assert version.returncode == 0 and version.stdout.startswith("Laravel Framework 8.")
