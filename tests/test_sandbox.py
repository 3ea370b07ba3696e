"""The rehearsal sandbox for real: MariaDB, PHP and the files they leave behind."""

from __future__ import annotations

import json
import os
import re
import socket
import stat
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

import psutil
import pymysql
import pytest

from runbook.resources import sql_dir
from runbook.sandbox import MissingPackages, Sandbox, SandboxError, SandboxUsageError, find_tools
from runbook.sandbox.seed import EARLIER_MIGRATIONS, Plan

pytestmark = [pytest.mark.mariadb, pytest.mark.php]

CONTRACT_KEYS = {
    "database": {"host", "port", "socket", "user", "password", "database"},
    "app": {"path", "url", "log"},
    "mysql": {"error_log"},
    "backup": {"dir"},
    "journal": {"dir"},
    "monitor": {"minutes"},
}
PARENT_TABLES = ("companies", "branches", "customers", "services", "staff", "appointments")
# schema.md: the Phase 2 migrations; the sandbox must not have recorded any of them.
PHASE2 = (
    "2025_10_01_060100_create_notification_configurations_table",
    "2025_10_01_060201_create_policy_configurations_table",
    "2025_10_01_060203_create_callback_requests_table",
    "2025_10_01_060304_create_appointment_modifications_table",
    "2025_10_01_060305_create_callback_escalations_table",
    "2025_10_01_060400_create_appointment_modification_stats_table",
)
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _config(sandbox: Sandbox) -> dict:
    with open(sandbox.config_path, "rb") as handle:
        return tomllib.load(handle)


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    code = (
        "import sys; from pathlib import Path; from runbook.sandbox.command import run\n"
        "a = sys.argv[1:]\n"
        "sys.exit(run(a[0], Path(a[1]) if a[1] else None, int(a[2]) if a[2] else None,"
        " a[3] == 'json'))\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def _count(conn: pymysql.connections.Connection, sql: str) -> int:
    with conn.cursor() as cur:
        cur.execute(sql)
        return int(cur.fetchone()[0])


# -- the shared sandbox ------------------------------------------------------------------


def test_config_is_private_and_has_exactly_the_contract_keys(sandbox: Sandbox) -> None:
    assert _mode(sandbox.config_path) == 0o600
    config = _config(sandbox)
    assert {section: set(keys) for section, keys in config.items()} == CONTRACT_KEYS
    db = config["database"]
    assert db["host"] == "127.0.0.1" and db["port"] == sandbox.port
    assert db["user"] == "askproai_user" and db["database"] == "askproai_db"
    assert db["socket"] == str(sandbox.socket) and len(db["password"]) >= 24
    assert config["app"] == {
        "path": str(sandbox.app_path),
        "url": sandbox.app_url,
        "log": "storage/logs/laravel.log",
    }
    assert config["mysql"]["error_log"] == str(sandbox.error_log)
    assert sandbox.error_log.is_file()
    assert Path(config["backup"]["dir"]).is_dir() and _mode(Path(config["backup"]["dir"])) == 0o700
    assert Path(config["journal"]["dir"]).is_dir()
    assert 0 < config["monitor"]["minutes"] <= 1
    # Secrets live in 0600 files only; the state file and argv never carry them.
    assert _mode(sandbox.dir / "admin.cnf") == 0o600
    assert _mode(sandbox.app_path / ".env") == 0o600
    assert db["password"] not in (sandbox.dir / "sandbox.json").read_text()
    for pid in (sandbox.mariadbd.pid, sandbox.php.pid):
        assert not any(db["password"] in arg for arg in psutil.Process(pid).cmdline())


def test_database_answers_as_app_user_over_tcp_and_socket(sandbox: Sandbox) -> None:
    db = _config(sandbox)["database"]
    common = {"user": db["user"], "password": db["password"], "database": db["database"]}
    via_tcp = pymysql.connect(host=db["host"], port=db["port"], **common)
    via_socket = pymysql.connect(unix_socket=db["socket"], **common)
    for conn, host in ((via_tcp, "127.0.0.1"), (via_socket, "localhost")):
        with conn, conn.cursor() as cur:
            cur.execute("SELECT CURRENT_USER(), @@character_set_database, @@collation_database")
            assert cur.fetchone() == (f"askproai_user@{host}", "utf8mb4", "utf8mb4_unicode_ci")
            cur.execute("SHOW GRANTS")
            grants = "\n".join(row[0] for row in cur.fetchall())
            assert "GRANT PROCESS ON *.*" in grants
            assert "ON `askproai_db`.*" in grants
            assert r"ON `runbook\_scratch\_%`.*" in grants
            # PROCESS: the deployment reads other sessions' transactions.
            cur.execute("SELECT COUNT(*) FROM information_schema.INNODB_TRX")


def test_root_needs_the_password_from_admin_cnf(sandbox: Sandbox) -> None:
    with pytest.raises(pymysql.err.OperationalError):
        pymysql.connect(unix_socket=str(sandbox.socket), user="root", password="")
    with pytest.raises(pymysql.err.OperationalError):
        pymysql.connect(host="127.0.0.1", port=sandbox.port, user="root", password="")
    with sandbox.connect(admin=True) as conn, conn.cursor() as cur:
        cur.execute("SELECT CURRENT_USER()")
        assert cur.fetchone()[0] == "root@localhost"
        cur.execute("SELECT user, host FROM mysql.user WHERE user IN ('root', '')")
        assert sorted(cur.fetchall()) == [("root", "127.0.0.1"), ("root", "localhost")]


def test_scratch_databases_are_allowed_for_the_app_user(sandbox: Sandbox) -> None:
    with sandbox.connect(database=None) as conn, conn.cursor() as cur:
        cur.execute("CREATE DATABASE runbook_scratch_conftest_probe")
        cur.execute("DROP DATABASE runbook_scratch_conftest_probe")
        with pytest.raises(pymysql.err.OperationalError):
            cur.execute("CREATE DATABASE runbook_other")


def test_existing_schema_is_baseline_sql(sandbox: Sandbox) -> None:
    baseline = (sql_dir() / "baseline.sql").read_text(encoding="utf-8")
    expected = set(re.findall(r"CREATE TABLE `(\w+)`", baseline))
    with sandbox.connect() as conn, conn.cursor() as cur:
        cur.execute("SHOW TABLES")
        assert {row[0] for row in cur.fetchall()} == expected


def test_every_parent_table_has_realistic_rows(sandbox: Sandbox) -> None:
    plan = Plan.for_rows(2000)
    with sandbox.connect() as conn:
        counts = {t: _count(conn, f"SELECT COUNT(*) FROM `{t}`") for t in PARENT_TABLES}
        assert all(counts[t] > 0 for t in PARENT_TABLES), counts
        assert counts["appointments"] == plan.appointments == 2000
        assert counts["customers"] == plan.customers
        with conn.cursor() as cur:
            cur.execute("SELECT id FROM branches UNION ALL SELECT id FROM staff")
            assert all(UUID.match(row[0]) for row in cur.fetchall())
        # Every appointment stays inside its tenant.
        for column, parent in (
            ("customer_id", "customers"),
            ("branch_id", "branches"),
            ("service_id", "services"),
            ("staff_id", "staff"),
        ):
            mismatched = _count(
                conn,
                f"SELECT COUNT(*) FROM appointments a JOIN `{parent}` p ON p.id = a.`{column}` "
                "WHERE p.company_id <> a.company_id",
            )
            orphans = _count(
                conn,
                f"SELECT COUNT(*) FROM appointments a LEFT JOIN `{parent}` p "
                f"ON p.id = a.`{column}` WHERE a.`{column}` IS NOT NULL AND p.id IS NULL",
            )
            assert (mismatched, orphans) == (0, 0), column
        assert _count(conn, "SELECT COUNT(DISTINCT status) FROM appointments") >= 4
        assert _count(conn, "SELECT COUNT(*) FROM customers WHERE name LIKE '%''%'") > 0


def test_earlier_laravel_migrations_are_recorded(sandbox: Sandbox) -> None:
    with sandbox.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT migration, batch FROM migrations ORDER BY id")
        rows = cur.fetchall()
    assert [(m, b) for m, b in rows] == [(m, b) for b, m in EARLIER_MIGRATIONS]
    assert {b for _m, b in rows} == {1, 2, 3}
    assert "2014_10_12_000000_create_users_table" in {m for m, _b in rows}
    assert not set(PHASE2) & {m for m, _b in rows}


def test_status_reports_both_processes(sandbox: Sandbox) -> None:
    report = sandbox.status()
    assert report["state"] == "up"
    assert report["mariadb"]["alive"] and report["mariadb"]["answering"]
    assert report["mariadb"]["port"] == sandbox.port
    assert report["app"]["http_status"] == 200 and report["app"]["health_status"] == 200
    result = _cli("status", str(sandbox.dir), "", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["state"] == "up"


def test_up_on_a_running_sandbox_changes_nothing(sandbox: Sandbox) -> None:
    said: list[str] = []
    again = Sandbox.up(sandbox.dir, progress=said.append)
    assert (again.mariadbd, again.php, again.port) == (sandbox.mariadbd, sandbox.php, sandbox.port)
    assert said == [f"sandbox in {sandbox.dir} is already up; nothing to do"]
    said.clear()
    Sandbox.up(sandbox.dir, rows=10, progress=said.append)
    assert "run `runbook sandbox down` first" in said[0]


def test_reset_restores_the_just_built_database(clean_sandbox: Sandbox) -> None:
    sandbox = clean_sandbox
    assert sandbox.reset() is False  # nothing changed: only the fingerprint ran
    with sandbox.connect() as conn, conn.cursor() as cur:
        before = _count(conn, "SELECT COUNT(*) FROM appointments")
        cur.execute("DELETE FROM companies WHERE id = 1")  # cascades
        cur.execute("CREATE TABLE leftover (id int)")
        cur.execute("INSERT INTO migrations (migration, batch) VALUES (%s, 4)", (PHASE2[0],))
    with sandbox.connect(database=None) as conn, conn.cursor() as cur:
        cur.execute("CREATE DATABASE runbook_scratch_leftover")
    assert sandbox.reset() is True
    with sandbox.connect() as conn, conn.cursor() as cur:
        assert _count(conn, "SELECT COUNT(*) FROM appointments") == before
        cur.execute("SHOW TABLES LIKE 'leftover'")
        assert cur.fetchall() == ()
        assert _count(conn, "SELECT MAX(batch) FROM migrations") == 3
        cur.execute("SHOW DATABASES LIKE 'runbook%'")
        assert cur.fetchall() == ()
    assert sandbox.reset() is False


# -- more sandboxes ----------------------------------------------------------------------


def test_cli_sandbox_outlives_its_command_scales_and_sits_beside_another(
    sandbox: Sandbox,
    short_tmp: Path,
    sandbox_processes: Callable[[Path], list[psutil.Process]],
) -> None:
    # Deep enough that the socket cannot live inside it.
    directory = short_tmp / ("deep-" + "d" * 90)
    result = _cli("up", str(directory), "6000", "")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "seeding rows" in result.stdout
    # The `up` process has exited; its servers must still answer.
    second = Sandbox.open(directory)
    assert second.status()["state"] == "up"
    assert str(second.socket).startswith("/tmp/rbsb-") and second.socket.exists()
    assert len(str(second.socket)) < 100
    assert {second.port, second.app_port}.isdisjoint({sandbox.port, sandbox.app_port})
    assert second.socket != sandbox.socket
    with second.connect() as a, sandbox.connect() as b:
        assert _count(a, "SELECT COUNT(*) FROM appointments") == 6000
        assert _count(a, "SELECT COUNT(*) FROM customers") == Plan.for_rows(6000).customers
        assert _count(b, "SELECT COUNT(*) FROM appointments") == 2000
    with second.connect(unix_socket=str(second.socket), host=None) as conn:
        assert _count(conn, "SELECT 1") == 1
    assert sandbox.status()["state"] == "up"
    pids = [second.mariadbd.pid, second.php.pid, *second.php.group_members()]

    result = _cli("down", str(directory), "", "")
    assert result.returncode == 0, result.stdout + result.stderr
    assert not any(psutil.pid_exists(pid) and _not_zombie(pid) for pid in pids)
    assert sandbox_processes(directory) == []
    assert not second.socket.parent.exists()
    assert (directory / "mysql" / "error.log").read_text().count("mariadbd: Shutdown complete") == 1

    again = _cli("down", str(directory), "", "")
    assert again.returncode == 0 and "nothing to stop" in again.stdout
    status = _cli("status", str(directory), "", "json")
    assert status.returncode == 1 and json.loads(status.stdout)["state"] == "down"
    assert sandbox.status()["state"] == "up"


def _not_zombie(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_failed_up_on_a_taken_db_port_leaves_nothing_running(
    short_tmp: Path, sandbox_processes: Callable[[Path], list[psutil.Process]]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(SandboxError, match="starting MariaDB") as failure:
            Sandbox.up(short_tmp, db_port=taken.getsockname()[1])
    assert "Address already in use" in str(failure.value)
    assert sandbox_processes(short_tmp) == []
    report = Sandbox.open(short_tmp).status()
    assert report["state"] == "down" and report["failed_step"] == "starting MariaDB"
    Sandbox.open(short_tmp).down()  # down on a failed sandbox is a no-op


def test_failed_up_on_a_taken_app_port_stops_mariadb_and_can_be_rebuilt(
    short_tmp: Path, sandbox_processes: Callable[[Path], list[psutil.Process]]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(SandboxError, match="starting the Laravel app") as failure:
            Sandbox.up(short_tmp, app_port=taken.getsockname()[1])
    assert "Address already in use" in str(failure.value)
    assert sandbox_processes(short_tmp) == []
    assert Sandbox.open(short_tmp).status()["recorded_state"] == "failed"

    said: list[str] = []
    rebuilt = Sandbox.up(short_tmp, progress=said.append)
    assert "rebuilding" in said[0]
    assert rebuilt.status()["state"] == "up"
    rebuilt.down()
    rebuilt.down()
    assert sandbox_processes(short_tmp) == []


def test_interrupted_up_stops_what_it_started(
    short_tmp: Path, sandbox_processes: Callable[[Path], list[psutil.Process]]
) -> None:
    started: list[int] = []

    def interrupt(step: str) -> None:
        if step.startswith("rendering the Laravel app"):
            started.extend(
                p.pid
                for p in psutil.Process().children()
                if any(str(short_tmp) in arg for arg in p.cmdline())
            )
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        Sandbox.up(short_tmp, progress=interrupt)
    assert started, "mariadbd was running when the operator pressed Ctrl-C"
    assert sandbox_processes(short_tmp) == []
    assert not any(_not_zombie(pid) for pid in started)
    assert Sandbox.open(short_tmp).state["failed_step"] == "rendering the Laravel app"


def test_down_kills_a_hung_mariadbd_after_the_timeout_and_says_so(
    sandbox_factory: Callable[..., Sandbox],
    sandbox_processes: Callable[[Path], list[psutil.Process]],
) -> None:
    hung = sandbox_factory(rows=50)
    psutil.Process(hung.mariadbd.pid).suspend()  # SIGSTOP: a server that no longer answers
    said: list[str] = []
    hung.down(progress=said.append, timeout=1)
    assert any("killing it (SIGKILL)" in line for line in said), said
    assert sandbox_processes(hung.dir) == []
    hung.down()


def test_a_directory_with_other_files_is_refused(short_tmp: Path) -> None:
    (short_tmp / "notes.txt").write_text("mine\n")
    with pytest.raises(SandboxUsageError, match="not a sandbox"):
        Sandbox.up(short_tmp)
    assert sorted(p.name for p in short_tmp.iterdir()) == ["notes.txt"]
    result = _cli("up", str(short_tmp), "", "")
    assert result.returncode == 2


def test_missing_binaries_name_the_apt_packages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mariadb_tools = ("mariadb-install-db", "mariadb-admin", "mariadb", "mariadb-dump", "mariadbd")
    real = {name: _installed(name) for name in mariadb_tools}
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(MissingPackages) as missing:
        find_tools()
    assert "apt-get install -y mariadb-server mariadb-client" in str(missing.value)
    assert {"php-cli", "php-mysql", "php-laravel-framework"} <= set(missing.value.packages)

    # The MariaDB tools without PHP: only the PHP packages are named.
    for name, path in real.items():
        (empty / name).symlink_to(path)
    with pytest.raises(MissingPackages) as missing:
        find_tools()
    assert missing.value.packages == ["php-cli", "php-mysql", "php-laravel-framework"]
    assert missing.value.missing == ["php"]

    # The CLI turns it into exit 2 and creates nothing.
    target = tmp_path / "sb"
    env = {**os.environ, "PATH": str(tmp_path / "nothing-here")}
    result = _cli("up", str(target), "", "", env=env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "apt-get install -y mariadb-server mariadb-client" in result.stderr
    assert not target.exists()


def _installed(name: str) -> str:
    for directory in [*os.environ["PATH"].split(os.pathsep), "/usr/sbin", "/sbin"]:
        candidate = Path(directory) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    raise AssertionError(f"{name} is not installed")
