"""Shared fixtures: a real rehearsal sandbox (MariaDB + the Laravel app), no mocks.

``sandbox`` (session scope)
    One sandbox for the whole run (default rows: 2000 appointments), built in a
    short directory under /tmp so its Unix socket path stays short, and stopped
    and removed at the end. ``RUNBOOK_TEST_SANDBOX_DIR=D`` uses (or builds) the
    sandbox in ``D`` instead and leaves it running: fast iteration while
    developing. Tests that only read may use it as it is.

``clean_sandbox``
    The same sandbox, put back exactly as ``up`` built it before AND after the
    test: ``Sandbox.reset()`` compares a fingerprint of every table (its
    ``SHOW CREATE TABLE`` and ``CHECKSUM TABLE``) with the one taken at ``up``;
    when anything differs (a Phase 2 table, a ``migrations`` row, a changed or
    deleted row, a leftover ``runbook_scratch_*`` schema) it kills the other
    askproai_user sessions, drops askproai_db and reloads the dump taken right
    after seeding (about 0.1 s at the default size). When nothing differs it only
    costs the fingerprint. It also takes the app out of maintenance mode, removes
    cached config/routes, empties laravel.log, re-enables the app user, and
    restarts ``php -S`` if it died. Use it for every test that writes (applies
    migrations, toggles maintenance, provokes errors).

``sandbox_factory``
    ``sandbox_factory(rows=None, name=None, **up_kwargs) -> Sandbox`` builds an
    additional sandbox in its own short directory; every one it made is stopped
    and removed at the end of the test. ``short_tmp`` gives such a directory
    without building anything.

If the test process itself gets SIGTERM (some tests send it on purpose) while
no other handler is installed, every sandbox these fixtures made is stopped
before the process dies, so a killed run leaks no mariadbd or php.

``cfg_path``
    The sandbox's ``runbook.toml`` copied into the test's tmp_path, pointing the
    journal and the backups there (mode 0600, as the config rules want).

``sandbox_processes``
    ``sandbox_processes(directory) -> list[psutil.Process]``: live processes
    whose command line names ``directory`` (mariadbd's --datadir, php -S's -t),
    to prove that nothing was left running.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import psutil
import pytest

from runbook.sandbox import Sandbox

_KEEP = os.environ.get("RUNBOOK_TEST_SANDBOX_DIR")


def _short_dir(prefix: str) -> Path:
    # pytest's tmp_path is too deep for a socket path; /tmp/<prefix>XXXX is not.
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))


def _live_processes_naming(directory: Path) -> list[psutil.Process]:
    needle = str(directory)
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        try:
            if proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            if any(needle in part for part in proc.info["cmdline"] or ()):
                found.append(proc)
        except psutil.Error:
            continue
    return found


def _dispose(directory: Path) -> None:
    _LIVE.discard(directory)
    if (directory / "sandbox.json").exists():
        Sandbox.open(directory).down()
    shutil.rmtree(directory, ignore_errors=True)


# Directories whose sandboxes these fixtures started and have not stopped yet.
_LIVE: set[Path] = set()


def _stop_all_then_die(signum: int, _frame: FrameType | None) -> None:
    for directory in list(_LIVE):
        with contextlib.suppress(Exception):
            Sandbox.open(directory).down(timeout=10)
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


@pytest.fixture(scope="session", autouse=True)
def _stop_sandboxes_on_sigterm() -> Iterator[None]:
    # Only when nobody else handles SIGTERM: a test's own handler wins.
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return
    signal.signal(signal.SIGTERM, _stop_all_then_die)
    try:
        yield
    finally:
        if signal.getsignal(signal.SIGTERM) is _stop_all_then_die:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    if _KEEP:
        yield Sandbox.up(Path(_KEEP))
        return
    directory = _short_dir("runbook-test-")
    _LIVE.add(directory)
    try:
        yield Sandbox.up(directory)
    finally:
        _dispose(directory)


@pytest.fixture
def clean_sandbox(sandbox: Sandbox) -> Iterator[Sandbox]:
    sandbox.reset()
    yield sandbox
    sandbox.reset()


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    directory = _short_dir("runbook-t-")
    _LIVE.add(directory)
    try:
        yield directory
    finally:
        _dispose(directory)


@pytest.fixture
def sandbox_factory() -> Iterator[Callable[..., Sandbox]]:
    made: list[Path] = []

    def make(rows: int | None = None, name: str | None = None, **up_kwargs: Any) -> Sandbox:
        directory = _short_dir("runbook-f-")
        made.append(directory)
        if name:
            directory = directory / name
        _LIVE.add(directory)
        return Sandbox.up(directory, rows=rows, **up_kwargs)

    try:
        yield make
    finally:
        for directory in made:
            for child in [*directory.glob("*/"), directory]:
                _dispose(child)


@pytest.fixture
def sandbox_processes() -> Callable[[Path], list[psutil.Process]]:
    return _live_processes_naming


@pytest.fixture
def cfg_path(clean_sandbox: Sandbox, tmp_path: Path) -> Path:
    """The sandbox's config, with this test's own journal and backup directories.

    Runs then never see each other's journals (an unfinished run of one test would
    fail the next test's pre-deployment checks) nor count each other's backups.
    """
    text = clean_sandbox.config_path.read_text()
    text = text.replace(str(clean_sandbox.dir / "backups"), str(tmp_path / "backups"))
    text = text.replace(str(clean_sandbox.dir / "journal"), str(tmp_path / "journal"))
    (tmp_path / "backups").mkdir(mode=0o700)
    path = tmp_path / "runbook.toml"
    path.write_text(text)
    path.chmod(0o600)
    return path
