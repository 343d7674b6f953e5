"""The image builds from the lock file, its context leaves local state and secrets out, and
compose pins its versions, sends LiveKit's webhooks to golive and keeps OBS services in a
profile, and that the `scale` profile is a PostgreSQL, the bot and two web replicas behind a
proxy. (No Docker engine runs in the tests: these read the files the build reads.)"""

from __future__ import annotations

import re
import tomllib
from typing import Any

import yaml

from golive.dev_livekit import COMPOSE_SERVICE
from tests.conftest import ROOT


def normalized(requirement: str) -> str:
    name = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert name is not None
    return re.sub(r"[-_.]+", "-", name.group(0)).lower()


def locked() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        if match := re.match(r"([A-Za-z0-9._-]+)==(\S+)", line):
            pins[normalized(match.group(1))] = match.group(2)
    return pins


def test_every_runtime_dependency_is_pinned_in_the_lock_and_no_test_tool_is() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pins = locked()
    runtime = {normalized(dep) for dep in project["dependencies"]}
    assert runtime <= set(pins), runtime - set(pins)
    dev = {normalized(dep) for dep in project["optional-dependencies"]["dev"]}
    assert not dev & set(pins)


def test_the_dockerfile_installs_the_lock_before_golive_without_resolving_again() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    lock_install = dockerfile.index("pip install --no-cache-dir -r requirements.lock")
    assert lock_install < dockerfile.index("pip install --no-cache-dir --no-deps .")


def test_the_build_context_leaves_out_local_state_and_secrets() -> None:
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".env", ".venv", "data/", ".git", "web/node_modules"} <= set(ignored)


def compose_file() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8")))


def test_compose_pins_every_image() -> None:
    services = compose_file()["services"]
    images = {name: service["image"] for name, service in services.items() if "image" in service}
    assert set(images) == {
        "livekit",
        "livekit-dev",
        "redis",
        "ingress",
        "egress",
        "postgres",
        "proxy",
    }
    for name, image in images.items():
        assert re.search(r":v?\d+(\.\d+)+(-[a-z]+)?$", image), f"{name}: {image} is not pinned"
    # The LiveKit that `make run` starts is the one compose runs.
    assert images["livekit-dev"] == images["livekit"]


def test_compose_points_livekits_webhook_at_golive_with_its_keys() -> None:
    services = compose_file()["services"]
    config = yaml.safe_load(services["livekit"]["environment"]["LIVEKIT_CONFIG"])
    golive = services["golive"]["environment"]
    assert config["keys"] == {golive["LIVEKIT_API_KEY"]: golive["LIVEKIT_API_SECRET"]}
    assert config["webhook"]["api_key"] == golive["LIVEKIT_API_KEY"]
    # golive's own route, on the port golive listens on inside the compose network.
    assert config["webhook"]["urls"] == ["http://golive:8080/livekit/webhook"]
    assert "8080:8080" in services["golive"]["ports"]
    assert golive["LIVEKIT_URL"] == f"http://livekit:{config['port']}"


def test_obs_services_are_a_profile_and_the_dev_livekit_is_configured_by_golive() -> None:
    services = compose_file()["services"]
    profiles = {name: service.get("profiles") for name, service in services.items()}
    assert profiles == {
        "livekit": None,
        "golive": None,
        "livekit-dev": ["dev"],
        "redis": ["obs"],
        "ingress": ["obs"],
        "egress": ["obs"],
        "postgres": ["scale"],
        "bot": ["scale"],
        "golive-web-1": ["scale"],
        "golive-web-2": ["scale"],
        "proxy": ["scale"],
    }
    dev = services[COMPOSE_SERVICE]
    # golive/dev_livekit.py passes its config through the environment of `docker compose up`.
    assert dev["environment"] == {"LIVEKIT_CONFIG": None}
    assert dev["network_mode"] == "host"
    assert dev["command"] == ["--dev"]
    for service in ("ingress", "egress"):
        assert {"redis", "livekit"} <= set(services[service]["depends_on"])


REPLICAS = ("golive-web-1", "golive-web-2")


def test_the_scale_profile_runs_the_bot_and_two_web_replicas_on_one_postgres() -> None:
    services = compose_file()["services"]
    postgres = services["postgres"]
    assert postgres["image"].startswith("postgres:15.")
    assert "postgres-data:/var/lib/postgresql/data" in postgres["volumes"]
    assert "postgres-data" in compose_file()["volumes"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    url = (
        f"postgresql://{postgres['environment']['POSTGRES_USER']}:"
        f"{postgres['environment']['POSTGRES_PASSWORD']}@postgres:5432/"
        f"{postgres['environment']['POSTGRES_DB']}"
    )
    roles = {"bot": ["golive", "bot"]} | {replica: ["golive", "web"] for replica in REPLICAS}
    secrets = set()
    for name, command in roles.items():
        service = services[name]
        assert service["command"] == command
        assert service["build"] == "."
        environment = service["environment"]
        assert environment["GOLIVE_DATABASE_URL"] == url
        secrets.add(environment["GOLIVE_SECRET"])
        assert service["depends_on"]["postgres"] == {"condition": "service_healthy"}
        # The same LiveKit as the one-process golive.
        for key in ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"):
            assert environment[key] == services["golive"]["environment"][key]
    # One secret for every process (from .env), never one generated per container.
    assert secrets == {"${GOLIVE_SECRET:-}"}
    for replica in REPLICAS:
        assert services[replica]["environment"]["GOLIVE_PROXY_HOPS"] == "1"


def test_the_scale_proxy_takes_turns_between_both_replicas_and_answers_for_golive() -> None:
    services = compose_file()["services"]
    proxy = services["proxy"]
    mount = next(v for v in proxy["volumes"] if v.endswith(":/etc/nginx/conf.d/default.conf:ro"))
    config = (ROOT / mount.split(":")[0]).read_text(encoding="utf-8")
    upstream = re.search(r"upstream (\w+) \{(.*?)\}", config, re.DOTALL)
    assert upstream is not None
    servers = re.findall(r"^\s*server ([\w.-]+:\d+)", upstream.group(2), re.MULTILINE)
    assert servers == [f"{replica}:8080" for replica in REPLICAS]
    # Round robin: nginx's default, so no other balancing method is named.
    assert not re.search(r"\b(ip_hash|hash|least_conn|random)\b", upstream.group(2))
    assert f"proxy_pass http://{upstream.group(1)};" in config
    assert re.search(r"listen 8080;", config)
    assert set(proxy["depends_on"]) == set(REPLICAS)
    assert "8080:8080" in proxy["ports"]
    # LiveKit's webhooks (http://golive:8080/...) reach a replica through it.
    assert "golive" in proxy["networks"]["default"]["aliases"]
