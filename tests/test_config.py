"""The config file: found where the contract says, refused loudly when it is wrong."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runbook import config
from runbook.cli import main
from runbook.config import ConfigError

GOOD = """\
[database]
host = "127.0.0.1"
port = 3307
user = "askproai_user"
password = "s3cret-pw"
database = "askproai_db"

[app]
path = "app"
url = "http://127.0.0.1:8000/"
log = "storage/logs/laravel.log"

[mysql]
error_log = "/var/log/mysql/error.log"

[backup]
dir = "backups"

[journal]
dir = "journal"

[monitor]
minutes = 0.25

[notify]
webhook = ""
command = ""
"""


def write(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "runbook.toml"
    path.write_text(text)
    path.chmod(mode)
    return path


def test_full_config_loads_with_paths_relative_to_the_file(tmp_path: Path) -> None:
    cfg = config.load(write(tmp_path, GOOD))
    assert cfg.database.port == 3307
    assert cfg.database.password.reveal() == "s3cret-pw"
    assert cfg.app.path == tmp_path / "app"
    assert cfg.app.log == tmp_path / "app" / "storage/logs/laravel.log"
    assert cfg.backup_dir == tmp_path / "backups"
    assert cfg.monitor_minutes == 0.25
    assert "s3cret-pw" not in repr(cfg)
    assert "s3cret-pw" not in f"{cfg.database.password}"


def test_unknown_key_is_named_with_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace('dir = "backups"', 'dir = "backups"\nretention = 3'))
    with pytest.raises(ConfigError) as err:
        config.load(path)
    line = (
        GOOD.replace('dir = "backups"', 'dir = "backups"\nretention = 3')
        .splitlines()
        .index("retention = 3")
        + 1
    )
    assert f"{path}:{line}: unknown key [backup] retention" in str(err.value)


def test_unknown_section_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + "\n[monitoring]\nminutes = 3\n")
    with pytest.raises(ConfigError, match=r"runbook.toml:\d+: unknown section \[monitoring\]"):
        config.load(path)


def test_wrong_type_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("port = 3307", 'port = "3307"'))
    with pytest.raises(ConfigError, match=r"runbook.toml:3: \[database\] port must be a number"):
        config.load(path)


def test_bool_is_not_a_port(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("port = 3307", "port = true"))
    with pytest.raises(ConfigError, match="port must be a number"):
        config.load(path)


def test_password_in_a_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD, mode=0o644)
    with pytest.raises(ConfigError, match=r"readable by others \(mode 0644\).*chmod 600"):
        config.load(path)


def test_loose_file_without_password_is_accepted(tmp_path: Path) -> None:
    text = GOOD.replace('password = "s3cret-pw"', 'password_env = "RB_TEST_PW"')
    cfg = config.load(write(tmp_path, text, mode=0o644))
    os.environ["RB_TEST_PW"] = "from-env"
    try:
        assert cfg.database.resolved_password().reveal() == "from-env"
    finally:
        del os.environ["RB_TEST_PW"]
    with pytest.raises(ConfigError, match=r"password_env names \$RB_TEST_PW, which is not set"):
        cfg.database.resolved_password()


def test_two_password_sources_are_refused(tmp_path: Path) -> None:
    text = GOOD.replace('password = "s3cret-pw"', 'password = "x"\ndefaults_file = "my.cnf"')
    with pytest.raises(ConfigError, match="give the secret one way only"):
        config.load(write(tmp_path, text))


def test_invalid_toml_names_the_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "[database\nport = 1\n")
    with pytest.raises(ConfigError, match=r"runbook.toml: invalid TOML: .*line 1"):
        config.load(path)


def test_bad_values_are_refused(tmp_path: Path) -> None:
    for old, new, message in [
        ("port = 3307", "port = 70000", "is not a TCP port"),
        ("minutes = 0.25", "minutes = 0", "minutes must be above 0"),
        ('url = "http://127.0.0.1:8000/"', 'url = "127.0.0.1:8000"', "not an http"),
    ]:
        with pytest.raises(ConfigError, match=message):
            config.load(write(tmp_path, GOOD.replace(old, new)))


def test_lookup_order_flag_then_env_then_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(config.ENV_VAR, raising=False)
    assert config.find_config(None) == tmp_path / "runbook.toml"
    monkeypatch.setenv(config.ENV_VAR, "/elsewhere/rb.toml")
    assert config.find_config(None) == Path("/elsewhere/rb.toml")
    assert config.find_config("given.toml") == Path("given.toml")


def test_missing_config_is_a_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(config.ENV_VAR, raising=False)
    with pytest.raises(ConfigError, match=r"no such config file.*current directory"):
        config.load(None)
    assert main(["preflight", "--config", str(tmp_path / "nope.toml")]) == 2
    assert "nope.toml: no such config file" in capsys.readouterr().err
