"""The Laravel application: artisan calls and what its URL answers."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ARTISAN_TIMEOUT_S = 60


class AppError(Exception):
    pass


@dataclass(frozen=True)
class HttpAnswer:
    status: int | None  # None: nothing answered
    retry_after: str | None
    error: str = ""
    elapsed_s: float = 0.0

    def describe(self) -> str:
        if self.status is None:
            return f"no answer ({self.error})"
        extra = f", Retry-After: {self.retry_after}" if self.retry_after else ""
        return f"HTTP {self.status}{extra}"


def probe(url: str, timeout: float = 5.0) -> HttpAnswer:
    started = time.monotonic()
    request = urllib.request.Request(url, headers={"User-Agent": "runbook"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return HttpAnswer(
                resp.status, resp.headers.get("Retry-After"), elapsed_s=time.monotonic() - started
            )
    except urllib.error.HTTPError as exc:
        return HttpAnswer(
            exc.code, exc.headers.get("Retry-After"), elapsed_s=time.monotonic() - started
        )
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return HttpAnswer(None, None, error=str(reason), elapsed_s=time.monotonic() - started)


def wait_for_status(url: str, want: int, timeout: float = 10.0) -> HttpAnswer:
    """Poll until the URL answers ``want``; the last answer either way."""
    deadline = time.monotonic() + timeout
    answer = probe(url)
    while answer.status != want and time.monotonic() < deadline:
        time.sleep(0.1)
        answer = probe(url)
    return answer


class App:
    def __init__(self, path: Path, url: str) -> None:
        self.path = path
        self.url = url

    @property
    def artisan_path(self) -> Path:
        return self.path / "artisan"

    def present(self) -> bool:
        return self.artisan_path.is_file()

    def in_maintenance(self) -> bool:
        # Laravel 8 marks maintenance with this file; `artisan up` removes it.
        return (self.path / "storage" / "framework" / "down").exists()

    def command_line(self, *args: str) -> list[str]:
        php = shutil.which("php") or "php"
        return [php, "artisan", *args]

    def artisan(
        self, *args: str, timeout: float = ARTISAN_TIMEOUT_S
    ) -> subprocess.CompletedProcess[str]:
        if not self.present():
            raise AppError(f"{self.artisan_path}: no Laravel application here ([app] path)")
        try:
            done = subprocess.run(
                self.command_line(*args, "--no-interaction"),
                cwd=self.path,
                capture_output=True,
                text=True,
                timeout=timeout,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            raise AppError(
                f"php artisan {' '.join(args)} did not finish in {timeout:.0f} s"
            ) from None
        except FileNotFoundError:
            raise AppError("php is not installed (apt-get install -y php-cli php-mysql)") from None
        if done.returncode != 0:
            text = (done.stderr or done.stdout).strip().splitlines()
            raise AppError(
                f"php artisan {' '.join(args)} exited {done.returncode}: "
                f"{text[-1] if text else 'no output'}"
            )
        return done

    def configured_database(self) -> tuple[str | None, str]:
        """The database the app will really use, and where that was read.

        A cached config (bootstrap/cache/config.php) wins over .env, so read it first:
        otherwise artisan may point at another database than the one we deploy to.
        """
        cached = self.path / "bootstrap" / "cache" / "config.php"
        if cached.is_file():
            text = cached.read_text(encoding="utf-8", errors="replace")
            m = re.search(r"'mysql'\s*=>\s*array\s*\((.*?)\)\s*,", text, re.S) or re.search(
                r"'mysql'\s*=>\s*\[(.*?)\]", text, re.S
            )
            if m and (db := re.search(r"'database'\s*=>\s*'([^']*)'", m.group(1))):
                return db.group(1), str(cached)
            return None, str(cached)
        env = self.path / ".env"
        if env.is_file():
            for line in env.read_text(encoding="utf-8", errors="replace").splitlines():
                if m := re.match(r"\s*DB_DATABASE\s*=\s*\"?([^\"#\s]*)", line):
                    return m.group(1), str(env)
            return None, str(env)
        return None, "no .env"
