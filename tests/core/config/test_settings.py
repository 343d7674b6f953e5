"""Settings as an operator meets them: config.toml, .env, the environment, and plain-worded errors."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from operator import attrgetter
from pathlib import Path
from typing import Any

import pytest

from core.config.settings import Settings, load_settings
from core.kernel.errors import ConfigError

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = ROOT / "config.toml"
A_SECRET = "an-operator-secret-that-is-long-enough-0123"


def load(environ: dict[str, str] | None = None, **kwargs: Any) -> Settings:
    """Settings from the shipped config.toml plus `environ`, never the real environment or .env."""
    return load_settings(
        {"GOLIVE_CONFIG": str(SHIPPED), **(environ or {})}, dotenv_path=None, **kwargs
    )


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# -- defaults ----------------------------------------------------------------------------------


def test_the_shipped_config_gives_working_local_defaults() -> None:
    settings = load()
    assert settings.discord.token is None
    assert settings.livekit.url == "ws://localhost:7880"
    assert settings.livekit.public_url == "ws://localhost:7880"
    assert (settings.livekit.api_key, settings.livekit.api_secret) == ("devkey", "secret")
    assert settings.livekit.token_ttl == timedelta(minutes=60)
    assert settings.database.path == Path("data/golive.db")
    assert (settings.web.host, settings.web.port) == ("127.0.0.1", 8080)
    assert settings.web.public_url == "http://127.0.0.1:8080"
    assert settings.web.cookies_secure is False
    assert settings.security.secret is None
    assert settings.security.login_link_ttl == timedelta(minutes=10)
    assert settings.security.session_ttl == timedelta(days=30)
    assert settings.web.max_body_bytes == 16 * 1024
    assert settings.log.level == "INFO"


def test_config_toml_is_read_from_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "config.toml", '[web]\nport = 9123\n[log]\nlevel = "debug"\n')
    monkeypatch.chdir(tmp_path)
    settings = load_settings({}, dotenv_path=None)
    assert (settings.web.port, settings.log.level) == (9123, "DEBUG")


def test_without_any_config_file_the_defaults_match_the_shipped_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no config.toml here, and none is required
    assert load_settings({}, dotenv_path=None) == load()


def test_a_file_named_by_golive_config_is_used(tmp_path: Path) -> None:
    config = write(
        tmp_path / "golive.toml",
        '[livekit]\nurl = "wss://lk.example.org"\ntoken_ttl_minutes = 5\n'
        '[web]\npublic_url = "https://live.example.org/"\n'
        "[security]\nsession_days = 7\n",
    )
    settings = load_settings({"GOLIVE_CONFIG": str(config)}, dotenv_path=None)
    assert settings.livekit.url == settings.livekit.public_url == "wss://lk.example.org"
    assert settings.livekit.token_ttl == timedelta(minutes=5)
    assert settings.web.public_url == "https://live.example.org"
    assert settings.web.cookies_secure is True
    assert settings.security.session_ttl == timedelta(days=7)
    assert settings.web.port == 8080  # not in the file: the default


# -- the environment ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("DISCORD_TOKEN", "  bot-token  ", {"discord.token": "bot-token"}),
        (
            "LIVEKIT_URL",
            "https://lk.example.org/",
            {"livekit.url": "https://lk.example.org", "livekit.public_url": "wss://lk.example.org"},
        ),
        (
            "LIVEKIT_URL",
            "http://10.0.0.5:7880",
            {"livekit.url": "http://10.0.0.5:7880", "livekit.public_url": "ws://10.0.0.5:7880"},
        ),
        (
            "LIVEKIT_PUBLIC_URL",
            "wss://media.example.org",
            {"livekit.public_url": "wss://media.example.org"},
        ),
        ("LIVEKIT_API_KEY", "APIkey123", {"livekit.api_key": "APIkey123"}),
        ("LIVEKIT_API_SECRET", A_SECRET, {"livekit.api_secret": A_SECRET}),
        (
            "GOLIVE_DATABASE",
            "/var/lib/golive/db.sqlite",
            {"database.path": Path("/var/lib/golive/db.sqlite")},
        ),
        (
            "GOLIVE_WEB_HOST",
            "0.0.0.0",  # noqa: S104 - a value under test, nothing binds here
            {"web.host": "0.0.0.0", "web.public_url": "http://localhost:8080"},  # noqa: S104
        ),
        ("GOLIVE_WEB_PORT", "9000", {"web.port": 9000, "web.public_url": "http://127.0.0.1:9000"}),
        ("GOLIVE_WEB_PORT", "0", {"web.port": 0}),
        (
            "GOLIVE_PUBLIC_URL",
            "https://live.example.org/",
            {"web.public_url": "https://live.example.org", "web.cookies_secure": True},
        ),
        ("GOLIVE_SECRET", A_SECRET, {"security.secret": A_SECRET}),
        ("GOLIVE_TOKEN_TTL_MINUTES", "15", {"livekit.token_ttl": timedelta(minutes=15)}),
        ("GOLIVE_MAX_BODY_KIB", "64", {"web.max_body_bytes": 64 * 1024}),
        ("GOLIVE_LOGIN_LINK_MINUTES", "3", {"security.login_link_ttl": timedelta(minutes=3)}),
        ("GOLIVE_SESSION_DAYS", "1", {"security.session_ttl": timedelta(days=1)}),
        ("GOLIVE_LOG_LEVEL", "warning", {"log.level": "WARNING"}),
    ],
)
def test_each_environment_variable_overrides_the_file(
    variable: str, value: str, expected: dict[str, Any]
) -> None:
    settings = load({variable: value})
    for attribute, wanted in expected.items():
        assert attrgetter(attribute)(settings) == wanted, attribute


def test_the_environment_wins_over_the_config_file(tmp_path: Path) -> None:
    config = write(tmp_path / "c.toml", '[web]\nport = 1234\nhost = "10.0.0.1"\n')
    settings = load_settings(
        {"GOLIVE_CONFIG": str(config), "GOLIVE_WEB_PORT": "4321"}, dotenv_path=None
    )
    assert (settings.web.host, settings.web.port) == ("10.0.0.1", 4321)


def test_an_empty_variable_counts_as_unset(tmp_path: Path) -> None:
    config = write(tmp_path / "c.toml", "[web]\nport = 1234\n")
    settings = load_settings(
        {"GOLIVE_CONFIG": str(config), "GOLIVE_WEB_PORT": ""}, dotenv_path=None
    )
    assert settings.web.port == 1234


def test_a_dotenv_file_is_read_and_the_real_environment_wins(tmp_path: Path) -> None:
    dotenv = write(
        tmp_path / ".env",
        "# local secrets\n"
        "DISCORD_TOKEN=from-dotenv\n"
        "GOLIVE_WEB_PORT=9100\n"
        f'GOLIVE_SECRET="{A_SECRET}"\n'
        f"GOLIVE_CONFIG={SHIPPED}\n",
    )
    settings = load_settings({"DISCORD_TOKEN": "from-environment"}, dotenv_path=dotenv)
    assert settings.discord.token == "from-environment"
    assert settings.web.port == 9100
    assert settings.security.secret == A_SECRET


def test_a_missing_dotenv_file_is_fine(tmp_path: Path) -> None:
    settings = load_settings({"GOLIVE_CONFIG": str(SHIPPED)}, dotenv_path=tmp_path / "no.env")
    assert settings.web.port == 8080


def test_a_config_file_named_in_dotenv_is_used(tmp_path: Path) -> None:
    config = write(tmp_path / "c.toml", "[web]\nport = 7777\n")
    dotenv = write(tmp_path / ".env", f"GOLIVE_CONFIG={config}\n")
    assert load_settings({}, dotenv_path=dotenv).web.port == 7777


# -- bad values --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "key", "words"),
    [
        ({"GOLIVE_WEB_PORT": "abc"}, "GOLIVE_WEB_PORT", "whole number"),
        ({"GOLIVE_WEB_PORT": "80.5"}, "GOLIVE_WEB_PORT", "whole number"),
        ({"GOLIVE_WEB_PORT": "70000"}, "GOLIVE_WEB_PORT", "between 0 and 65535"),
        ({"GOLIVE_WEB_PORT": "-1"}, "GOLIVE_WEB_PORT", "between 0 and 65535"),
        ({"LIVEKIT_URL": "ftp://x"}, "LIVEKIT_URL", "must be a URL starting with ws://"),
        ({"LIVEKIT_URL": "localhost:7880"}, "LIVEKIT_URL", "must be a URL"),
        ({"LIVEKIT_PUBLIC_URL": "https://lk.example.org"}, "LIVEKIT_PUBLIC_URL", "ws:// or wss://"),
        ({"GOLIVE_PUBLIC_URL": "live.example.org"}, "GOLIVE_PUBLIC_URL", "http:// or https://"),
        ({"GOLIVE_SECRET": "too-short"}, "GOLIVE_SECRET", "at least 32 characters"),
        ({"LIVEKIT_API_KEY": "   "}, "LIVEKIT_API_KEY", "non-empty"),
        ({"GOLIVE_DATABASE": "  "}, "GOLIVE_DATABASE", "non-empty"),
        ({"GOLIVE_TOKEN_TTL_MINUTES": "0"}, "GOLIVE_TOKEN_TTL_MINUTES", "between 1 and 1440"),
        ({"GOLIVE_MAX_BODY_KIB": "4096"}, "GOLIVE_MAX_BODY_KIB", "between 1 and 1024"),
        (
            {"GOLIVE_LIVEKIT_TIMEOUT_SECONDS": "0"},
            "GOLIVE_LIVEKIT_TIMEOUT_SECONDS",
            "between 1 and 30",
        ),
        (
            {"GOLIVE_DATABASE_BUSY_SECONDS": "600"},
            "GOLIVE_DATABASE_BUSY_SECONDS",
            "between 1 and 60",
        ),
        ({"GOLIVE_LOGIN_LINK_MINUTES": "61"}, "GOLIVE_LOGIN_LINK_MINUTES", "between 1 and 60"),
        ({"GOLIVE_SESSION_DAYS": "ten"}, "GOLIVE_SESSION_DAYS", "whole number"),
        ({"GOLIVE_LOG_LEVEL": "LOUD"}, "GOLIVE_LOG_LEVEL", "one of DEBUG"),
        ({"GOLIVE_CONFIG": "/nowhere/golive.toml"}, "GOLIVE_CONFIG", "no config file at /nowhere"),
    ],
)
def test_bad_environment_values_name_the_variable(
    environ: dict[str, str], key: str, words: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load(environ)
    assert caught.value.key == key
    assert words in caught.value.problem
    assert str(caught.value).startswith(f"{key}: ")


@pytest.mark.parametrize(
    ("toml", "key", "words"),
    [
        ("[web]\nprot = 8080\n", "web.prot", "unknown setting"),
        ("[webb]\nport = 8080\n", "webb.port", "unknown setting"),
        ("colour = 'blue'\n", "colour", "unknown setting"),
        ('[web]\nport = "abc"\n', "web.port", "whole number"),
        ("[web]\nport = 70000\n", "web.port", "between 0 and 65535"),
        ("[web]\nport = true\n", "web.port", "between"),
        ("[web]\nport = 8080.5\n", "web.port", "whole number"),
        ("[web]\nport = inf\n", "web.port", "whole number"),
        ("[web]\nport = nan\n", "web.port", "whole number"),
        ("[web]\nport = [8080]\n", "web.port", "whole number"),
        ('[livekit]\nurl = "ftp://x"\n', "livekit.url", "must be a URL"),
        ("[livekit]\nurl = 7880\n", "livekit.url", "non-empty text"),
        ('[security]\nsecret = "short"\n', "security.secret", "at least 32"),
        ("[discord]\ntoken = 12\n", "discord.token", "non-empty text"),
    ],
)
def test_bad_file_values_name_the_setting(tmp_path: Path, toml: str, key: str, words: str) -> None:
    config = write(tmp_path / "golive.toml", toml)
    with pytest.raises(ConfigError) as caught:
        load_settings({"GOLIVE_CONFIG": str(config)}, dotenv_path=None)
    assert caught.value.key == key
    assert words in caught.value.problem


def test_a_file_that_is_not_toml_is_named(tmp_path: Path) -> None:
    config = write(tmp_path / "golive.toml", "[web\nport = 8080\n")
    with pytest.raises(ConfigError) as caught:
        load_settings({"GOLIVE_CONFIG": str(config)}, dotenv_path=None)
    assert caught.value.key == str(config)
    assert "not valid TOML" in caught.value.problem
    assert "line 1" in caught.value.problem


def test_the_secret_is_not_echoed_in_errors() -> None:
    with pytest.raises(ConfigError) as caught:
        load({"GOLIVE_SECRET": "hunter2-short"})
    assert "hunter2" not in str(caught.value)


# -- the command line --------------------------------------------------------------------------


def run_cli(
    args: list[str], extra_env: dict[str, str], cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    # Only what Python needs, so a developer's own GOLIVE_* or LIVEKIT_* cannot leak in.
    env = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "SYSTEMROOT"}}
    env["PYTHONPATH"] = str(ROOT)  # the checkout itself, wherever the command runs
    env.update(extra_env)
    code = f"from golive.cli import main; raise SystemExit(main({args!r}))"
    return subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "environ", "named"),
    [
        (["migrate"], {"GOLIVE_WEB_PORT": "abc"}, "GOLIVE_WEB_PORT"),
        (["check"], {"GOLIVE_WEB_PORT": "70000"}, "GOLIVE_WEB_PORT"),
        (["migrate"], {"GOLIVE_CONFIG": "/nowhere/golive.toml"}, "GOLIVE_CONFIG"),
        (["web"], {"LIVEKIT_URL": "ftp://x"}, "LIVEKIT_URL"),
        (["migrate"], {"GOLIVE_SECRET": "short"}, "GOLIVE_SECRET"),
    ],
)
def test_the_cli_reports_a_bad_setting_in_one_line_and_exits_2(
    args: list[str], environ: dict[str, str], named: str
) -> None:
    result = run_cli(args, environ)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert named in lines[0]
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_the_cli_reports_a_bad_config_file_in_one_line(tmp_path: Path) -> None:
    config = write(tmp_path / "golive.toml", "[web]\nport = inf\n")
    result = run_cli(["migrate"], {"GOLIVE_CONFIG": str(config)})
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert "web.port" in line


def test_golive_migrate_creates_the_database_and_can_run_again(tmp_path: Path) -> None:
    database = tmp_path / "data" / "golive.db"
    environ = {
        "GOLIVE_CONFIG": str(SHIPPED),
        "GOLIVE_DATABASE": str(database),
        "GOLIVE_SECRET": A_SECRET,
    }
    for _ in range(2):
        result = run_cli(["migrate"], environ, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
    assert database.exists()
