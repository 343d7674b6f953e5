"""Every key config.toml documents has its environment variable, and settings that don't fit
together are refused by the loader, before any command touches the database."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.config.settings import load_settings, settings_table
from core.kernel.errors import ConfigError
from tests.core.config.test_settings import A_SECRET, SHIPPED, load, run_cli, write

# A key line of config.toml, set or commented out: `port = 8080   # env: GOLIVE_WEB_PORT`.
_KEY_LINE = re.compile(r"^(?:# )?(?P<name>[a-z][a-z0-9_]*) = (?P<value>[\"\[0-9tf])")
_ENV = re.compile(r"#\s*env:\s*(?P<env>[A-Z][A-Z0-9_]*)\s*$")
_SECTION = re.compile(r"^\[(?P<section>[a-z]+)\]$")


def documented_keys() -> dict[str, str | None]:
    """config.toml's keys (commented-out ones too), each with the variable named beside it."""
    keys: dict[str, str | None] = {}
    section = ""
    for line in SHIPPED.read_text(encoding="utf-8").splitlines():
        if header := _SECTION.match(line):
            section = header["section"]
        elif key := _KEY_LINE.match(line):
            env = _ENV.search(line)
            keys[f"{section}.{key['name']}"] = env["env"] if env else None
    return keys


DOCUMENTED = documented_keys()

# A valid value, different from the default, for every key; and what else must be set beside it
# (Stripe's two secrets come together). A new key needs a line here.
SAMPLES: dict[str, tuple[str, dict[str, str]]] = {
    "discord.token": ("bot-token", {}),
    "discord.client_id": ("123456789012345678", {"DISCORD_CLIENT_SECRET": "oauth-secret"}),
    "discord.client_secret": ("oauth-secret", {"DISCORD_CLIENT_ID": "123456789012345678"}),
    "discord.api_base": ("http://127.0.0.1:9999/api/v10", {}),
    "discord.authorize_url": ("http://127.0.0.1:9999/oauth2/authorize", {}),
    "discord.shard_count": ("4", {}),
    "discord.shard_ids": ("0-1,3", {"GOLIVE_SHARD_COUNT": "4"}),
    "livekit.url": ("wss://lk.example.org", {}),
    "livekit.public_url": ("wss://media.example.org", {}),
    "livekit.api_key": ("APIkey123", {}),
    "livekit.api_secret": (A_SECRET, {}),
    "livekit.token_ttl_minutes": ("15", {}),
    "livekit.timeout_seconds": ("7", {}),
    "database.path": ("/var/lib/golive/db.sqlite", {}),
    "database.busy_seconds": ("10", {}),
    "database.url": (
        "postgresql://golive@db-host:5432/golive",
        {"GOLIVE_SECRET": "a-shared-secret-of-at-least-32-characters"},
    ),
    "web.host": ("10.0.0.1", {}),
    "web.port": ("9000", {}),
    "web.public_url": ("https://live.example.org", {}),
    "web.max_body_kib": ("64", {}),
    "web.proxy_hops": ("1", {}),
    "web.shutdown_grace_seconds": ("30", {}),
    "security.secret": (A_SECRET, {}),
    "security.login_link_minutes": ("3", {}),
    "security.session_days": ("7", {}),
    "fees.mode": ("pass", {}),
    "fees.golive_fee": ("50", {}),
    "fees.pass_price": ("300", {}),
    "fees.pass_days": ("7", {}),
    "tips.min": ("20", {}),
    "tips.max": ("500", {}),
    "tips.message_max": ("0", {}),
    "tips.blocked_words": ("darn,heck", {}),
    "tips.presets": ("20,50", {}),
    "wallet.topup_min": ("200", {}),
    "wallet.topup_max": ("5000", {}),
    "wallet.payout_min": ("2000", {}),
    "stripe.secret_key": ("sk_test_123", {"STRIPE_WEBHOOK_SECRET": "whsec_123"}),
    "stripe.webhook_secret": ("whsec_123", {"STRIPE_SECRET_KEY": "sk_test_123"}),
    "stripe.currency": ("eur", {}),
    "stripe.cents_per_credit": ("10", {}),
    "stripe.api_base": ("http://localhost:12111", {}),
    "log.level": ("DEBUG", {}),
    "log.format": ("json", {}),
    "metrics.enabled": ("true", {"GOLIVE_METRICS_TOKEN": A_SECRET}),
    "metrics.token": (A_SECRET, {}),
    "live.auto_end_grace_seconds": ("300", {}),
    "live.reconcile_seconds": ("10", {}),
    "streams.media_wait_seconds": ("20", {}),
    "chat.max_length": ("100", {}),
    "chat.allow_guests": ("true", {}),
    "chat.allow_links": ("true", {}),
    "chat.blocked_words": ("darn,heck", {}),
    "chat.person_burst": ("3", {}),
    "chat.person_per_minute": ("10", {}),
    "chat.ip_burst": ("5", {}),
    "chat.ip_per_minute": ("60", {}),
    "moderation.kick_block_minutes": ("30", {}),
    "stage.max_guests": ("5", {}),
    "stage.invite_seconds": ("300", {}),
    "recording.output": ("file", {}),
    "recording.record_all": ("true", {}),
    "recording.file_prefix": ("vods/", {}),
    "recording.public_url": ("https://media.example.org", {}),
    "recording.s3_bucket": ("golive-recordings", {}),
    "recording.s3_region": ("eu-central-1", {}),
    "recording.s3_endpoint": ("https://minio.example.org", {}),
    "recording.s3_access_key": ("AKIA-test", {"GOLIVE_S3_SECRET": "s3-secret-test"}),
    "recording.s3_secret": ("s3-secret-test", {"GOLIVE_S3_ACCESS_KEY": "AKIA-test"}),
    "recording.s3_force_path_style": ("true", {}),
    "recording.local_dir": ("/srv/golive/recordings", {}),
    "recording.retention_days": ("30", {}),
    "thumbnails.directory": ("/var/lib/golive/thumbnails", {}),
    "thumbnails.interval_seconds": ("10", {}),
}


def test_config_toml_documents_exactly_the_settings_golive_reads() -> None:
    assert {key: env for key, env, _default in settings_table()} == DOCUMENTED


@pytest.mark.parametrize("key", sorted(DOCUMENTED))
def test_every_documented_key_can_come_from_its_environment_variable(
    key: str, tmp_path: Path
) -> None:
    env = DOCUMENTED[key]
    assert env is not None, f"config.toml names no `# env: …` beside {key}"
    assert key in SAMPLES, f"give {key} a sample value in SAMPLES"
    value, beside = SAMPLES[key]
    section, name = key.split(".")
    from_file = write(tmp_path / "golive.toml", f'[{section}]\n{name} = "{value}"\n')

    via_environment = load({env: value, **beside})
    via_file = load_settings({**beside, "GOLIVE_CONFIG": str(from_file)}, dotenv_path=None)
    assert via_environment == via_file
    if not beside:
        assert via_environment != load(), f"{env} changed nothing"
    # else `beside` alone is refused (a key without its secret): that the load above succeeded
    # shows the variable was read.


# -- settings that don't fit together ----------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "key", "also_named"),
    [
        ({"GOLIVE_TIP_MIN": "500", "GOLIVE_TIP_MAX": "100"}, "GOLIVE_TIP_MIN", "GOLIVE_TIP_MAX"),
        ({"GOLIVE_TIP_MIN": "20000"}, "GOLIVE_TIP_MIN", "tips.max"),
        (
            {"GOLIVE_TOPUP_MIN": "5000", "GOLIVE_TOPUP_MAX": "1000"},
            "GOLIVE_TOPUP_MIN",
            "GOLIVE_TOPUP_MAX",
        ),
        ({"GOLIVE_FEE_MODE": "pass", "GOLIVE_FEE": "50"}, "GOLIVE_FEE", "GOLIVE_FEE_MODE"),
        ({"STRIPE_SECRET_KEY": "sk_test_1"}, "stripe.webhook_secret", "STRIPE_SECRET_KEY"),
        ({"STRIPE_WEBHOOK_SECRET": "whsec_1"}, "stripe.secret_key", "STRIPE_WEBHOOK_SECRET"),
        ({"GOLIVE_RECORDING_OUTPUT": "s3"}, "recording.s3_bucket", "GOLIVE_RECORDING_OUTPUT"),
        (
            {"GOLIVE_RECORDING_OUTPUT": "s3", "GOLIVE_S3_BUCKET": "b"},
            "recording.s3_region",
            "recording.s3_endpoint",
        ),
        ({"GOLIVE_S3_ACCESS_KEY": "AKIA-1"}, "recording.s3_secret", "GOLIVE_S3_ACCESS_KEY"),
        ({"GOLIVE_S3_SECRET": "s3-secret-1"}, "recording.s3_access_key", "GOLIVE_S3_SECRET"),
        (
            {"GOLIVE_STAGE_INVITE_SECONDS": "900", "GOLIVE_LOGIN_LINK_MINUTES": "10"},
            "GOLIVE_STAGE_INVITE_SECONDS",
            "GOLIVE_LOGIN_LINK_MINUTES",
        ),
        ({"GOLIVE_METRICS_ENABLED": "true"}, "metrics.token", "GOLIVE_METRICS_ENABLED"),
        ({"DISCORD_CLIENT_ID": "123456789"}, "discord.client_secret", "DISCORD_CLIENT_ID"),
        ({"DISCORD_CLIENT_SECRET": "s3-secret-1"}, "discord.client_id", "DISCORD_CLIENT_SECRET"),
        ({"GOLIVE_TIP_PRESETS": "5,50"}, "GOLIVE_TIP_PRESETS", "tips.min"),
        ({"GOLIVE_SHARD_IDS": "0,1"}, "discord.shard_count", "GOLIVE_SHARD_IDS"),
        (
            {"GOLIVE_SHARD_COUNT": "4", "GOLIVE_SHARD_IDS": "2-4"},
            "GOLIVE_SHARD_IDS",
            "GOLIVE_SHARD_COUNT",
        ),
        (
            {"GOLIVE_TIP_MAX": "100", "GOLIVE_TIP_PRESETS": "50,500"},
            "GOLIVE_TIP_PRESETS",
            "GOLIVE_TIP_MAX",
        ),
    ],
)
def test_settings_that_do_not_fit_together_name_both_keys(
    environ: dict[str, str], key: str, also_named: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load(environ)
    assert caught.value.key == key
    assert also_named in caught.value.problem
    for secret in ("sk_test_1", "whsec_1", "AKIA-1", "s3-secret-1"):
        assert secret not in str(caught.value)


def test_a_tip_range_upside_down_in_the_file_names_the_file_keys(tmp_path: Path) -> None:
    config = write(tmp_path / "golive.toml", "[tips]\nmin = 500\nmax = 100\n")
    with pytest.raises(ConfigError) as caught:
        load_settings({"GOLIVE_CONFIG": str(config)}, dotenv_path=None)
    assert caught.value.key == "tips.min"
    assert "tips.max (100)" in caught.value.problem


@pytest.mark.parametrize(
    "environ",
    [
        {"GOLIVE_TIP_MIN": "100", "GOLIVE_TIP_MAX": "100"},
        {"GOLIVE_FEE_MODE": "pass", "GOLIVE_FEE": "0"},
        {"STRIPE_SECRET_KEY": "sk_test_1", "STRIPE_WEBHOOK_SECRET": "whsec_1"},
        {"GOLIVE_RECORDING_OUTPUT": "s3", "GOLIVE_S3_BUCKET": "b", "GOLIVE_S3_REGION": "eu"},
        {
            "GOLIVE_RECORDING_OUTPUT": "s3",
            "GOLIVE_S3_BUCKET": "b",
            "GOLIVE_S3_ENDPOINT": "https://minio.example.org",
            "GOLIVE_S3_ACCESS_KEY": "AKIA-1",
            "GOLIVE_S3_SECRET": "s3-secret-1",
        },
    ],
)
def test_settings_that_fit_together_load(environ: dict[str, str]) -> None:
    load(environ)


def test_discord_sign_in_is_on_only_with_the_client_id_and_secret() -> None:
    assert load().discord.sign_in_enabled is False
    both = {"DISCORD_CLIENT_ID": "123456789012345678", "DISCORD_CLIENT_SECRET": "s3cret"}
    settings = load(both)
    assert settings.discord.sign_in_enabled is True
    assert settings.discord.api_base == "https://discord.com/api/v10"
    assert settings.discord.authorize_url == "https://discord.com/oauth2/authorize"


@pytest.mark.parametrize("client_id", ["my-app", "12", "1" * 21])
def test_a_client_id_that_is_not_an_application_id_is_refused(client_id: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load({"DISCORD_CLIENT_ID": client_id, "DISCORD_CLIENT_SECRET": "s3cret"})
    assert caught.value.key == "DISCORD_CLIENT_ID"


def test_by_default_one_bot_process_runs_every_shard_discord_recommends() -> None:
    discord = load().discord
    assert (discord.shard_count, discord.shard_ids) == (None, None)
    assert discord.owns_guild(123456789012345678) and discord.shard_scope == ""


def test_a_process_owns_the_guilds_of_its_shards_only(tmp_path: Path) -> None:
    config = write(tmp_path / "golive.toml", "[discord]\nshard_count = 4\nshard_ids = [3, 1]\n")
    discord = load_settings({"GOLIVE_CONFIG": str(config)}, dotenv_path=None).discord
    assert discord.shard_ids == (1, 3) and discord.shard_scope == "shards 1,3/4"
    # A guild's shard is (id >> 22) % shard_count, as Discord routes its events.
    owned = [shard for shard in range(8) if discord.owns_guild((shard << 22) + 12345)]
    assert owned == [1, 3, 5, 7]


@pytest.mark.parametrize("ids", ["one", "3-1", "-1", "0,,x"])
def test_shard_ids_that_are_not_shards_are_refused(ids: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load({"GOLIVE_SHARD_COUNT": "4", "GOLIVE_SHARD_IDS": ids})
    assert caught.value.key == "GOLIVE_SHARD_IDS"


def test_tip_presets_default_to_multiples_of_the_smallest_tip() -> None:
    assert load().tips.form_presets() == (50, 100, 500)
    assert load({"GOLIVE_TIP_MIN": "100", "GOLIVE_TIP_MAX": "2000"}).tips.form_presets() == (
        500,
        1000,
        2000,
    )
    assert load({"GOLIVE_TIP_PRESETS": "300, 20,20"}).tips.form_presets() == (20, 300)


@pytest.mark.parametrize("presets", ["ten", "1,2,3,4,5,6,7", "0"])
def test_tip_presets_that_are_not_amounts_are_refused(presets: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load({"GOLIVE_TIP_PRESETS": presets})
    assert caught.value.key == "GOLIVE_TIP_PRESETS"


def test_stripe_is_on_only_with_both_secrets() -> None:
    assert load().stripe.enabled is False
    both = {"STRIPE_SECRET_KEY": "sk_test_1", "STRIPE_WEBHOOK_SECRET": "whsec_1"}
    assert load(both).stripe.enabled is True


@pytest.mark.parametrize(
    "args",
    [
        ["migrate"],
        ["check"],
        ["web"],
        ["run"],
        ["sync-commands"],
        ["login-link", "--user-id", "1", "--username", "alice"],
    ],
)
def test_every_command_refuses_an_upside_down_tip_range_before_touching_the_database(
    args: list[str], tmp_path: Path
) -> None:
    database = tmp_path / "data" / "golive.db"
    result = run_cli(
        args,
        {
            "GOLIVE_CONFIG": str(SHIPPED),
            "GOLIVE_DATABASE": str(database),
            "GOLIVE_TIP_MIN": "500",
            "GOLIVE_TIP_MAX": "100",
        },
        cwd=tmp_path,
    )
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert "GOLIVE_TIP_MIN" in line
    assert "GOLIVE_TIP_MAX" in line
    assert result.stdout == ""
    assert not database.parent.exists()


# -- the database ------------------------------------------------------------------------------


def test_a_postgresql_url_replaces_the_sqlite_file_and_is_shown_without_its_password() -> None:
    settings = load(
        {
            "GOLIVE_DATABASE_URL": "postgresql://golive:hunter2@db-host:5432/golive",
            "GOLIVE_SECRET": "a-shared-secret-of-at-least-32-characters",
        }
    )
    assert settings.database.target == "postgresql://golive:hunter2@db-host:5432/golive"
    assert settings.database.shown == "postgresql://golive:***@db-host:5432/golive"


def test_database_url_may_name_a_sqlite_file_too(tmp_path: Path) -> None:
    settings = load({"GOLIVE_DATABASE_URL": f"sqlite:///{tmp_path}/other.db"})
    assert settings.database.url is None
    assert settings.database.target == tmp_path / "other.db"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("mysql://db-host/golive", "postgresql:// URL or a SQLite file path"),
        ("postgresql://db-host", "must name the database"),
    ],
)
def test_a_database_url_golive_cannot_use_is_refused_in_one_line(url: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says) as refused:
        load({"GOLIVE_DATABASE_URL": url, "GOLIVE_SECRET": "x" * 40})
    assert "GOLIVE_DATABASE_URL" in str(refused.value)


def test_postgresql_needs_a_secret_every_process_shares() -> None:
    with pytest.raises(ConfigError, match="every golive process signs") as refused:
        load({"GOLIVE_DATABASE_URL": "postgresql://golive@db-host/golive"})
    assert "GOLIVE_SECRET" in str(refused.value)
