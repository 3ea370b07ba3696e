"""Notification and archive after a real deployment on the sandbox."""

from __future__ import annotations

import http.server
import json
import stat
import sys
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runbook import config as config_mod
from runbook.cli import main
from runbook.sandbox import Sandbox


class _Receiver(http.server.BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []  # noqa: RUF012 - shared by the handler instances
    status = 200

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        type(self).received.append(json.loads(self.rfile.read(length)))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def webhook() -> Iterator[tuple[str, type[_Receiver]]]:
    handler = type("Receiver", (_Receiver,), {"received": [], "status": 200})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", handler
    server.shutdown()


def with_notify(cfg_path: Path, notify: str) -> Path:
    cfg_path.write_text(cfg_path.read_text() + "\n[notify]\n" + notify)
    return cfg_path


def test_webhook_and_command_receive_the_summary_and_the_archive_is_complete(
    clean_sandbox: Sandbox, cfg_path: Path, tmp_path: Path, webhook: tuple[str, type[_Receiver]]
) -> None:
    url, receiver = webhook
    out = tmp_path / "summary.json"
    command = f"{sys.executable} -c \"import sys; open('{out}', 'w').write(sys.stdin.read())\""
    cfg_path = with_notify(
        cfg_path, f"webhook = {json.dumps(url)}\ncommand = {json.dumps(command)}\n"
    )
    # something for the log excerpt: a line written during the run's window
    clean_sandbox.app_log.parent.mkdir(parents=True, exist_ok=True)
    before = clean_sandbox.app_log.read_bytes() if clean_sandbox.app_log.exists() else b""
    assert main(["deploy", "--config", str(cfg_path), "--yes"]) == 0

    assert len(receiver.received) == 1
    summary = receiver.received[0]
    assert summary["outcome"] == "success"
    assert summary["who"]["operator"] and summary["where"]["target"].endswith("/askproai_db")
    assert len(summary["what"]) == 6
    assert {p["id"] for p in summary["phases"]} >= {"backup", "migrate", "verify", "restore"}
    assert summary["backup"]["sha256"] and summary["verification"]["ok"] is True
    assert json.loads(out.read_text())["run"] == summary["run"]

    archive = Path(summary["archive"])
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    with tarfile.open(archive) as tar:
        names = {Path(n).name for n in tar.getnames()}
        assert {"report.md", "journal.jsonl", "laravel.log", "mysql-error.log"} <= names
        contents = b"".join(
            tar.extractfile(m).read()
            for m in tar.getmembers()
            if m.isfile()  # type: ignore[union-attr]
        )
        report = next(
            tar.extractfile(m).read().decode()  # type: ignore[union-attr]
            for m in tar.getmembers()
            if m.name.endswith("report.md")
        )
    assert "# runbook deploy: success" in report and "downtime" in report
    password = config_mod.load(cfg_path).database.password.reveal()
    assert password.encode() not in contents
    assert before not in contents or before == b""


def test_a_dead_webhook_never_changes_the_outcome(
    cfg_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg_path = with_notify(cfg_path, 'webhook = "http://127.0.0.1:9/nothing"\n')
    assert main(["deploy", "--config", str(cfg_path), "--yes"]) == 0
    out = capsys.readouterr().out
    assert "webhook failed after 3 attempt(s)" in out


def test_a_failed_deployment_is_notified_too(
    clean_sandbox: Sandbox, cfg_path: Path, webhook: tuple[str, type[_Receiver]]
) -> None:
    url, receiver = webhook
    cfg_path = with_notify(cfg_path, f"webhook = {json.dumps(url)}\n")
    with clean_sandbox.connect() as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE callback_requests (id bigint unsigned PRIMARY KEY)")
    assert main(["deploy", "--config", str(cfg_path), "--yes"]) == 1
    assert [r["outcome"] for r in receiver.received] == ["stopped"]


def test_notify_command_failure_is_reported_not_raised(
    cfg_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg_path = with_notify(cfg_path, 'command = "false"\n')
    assert main(["deploy", "--config", str(cfg_path), "--yes"]) == 0
    assert "[notify] command exited 1" in capsys.readouterr().out
