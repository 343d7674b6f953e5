"""The image builds from the lock file, its context leaves local state and secrets out, and
compose pins its versions, sends LiveKit's webhooks to golive and keeps OBS services in a
profile. (No Docker engine runs in the tests: these read the files the build reads.)"""

from __future__ import annotations

import re
import tomllib

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


def test_compose_pins_every_image_and_points_livekits_webhook_at_golive() -> None:
    compose = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    images = re.findall(r"^\s+image:\s*(\S+)$", compose, flags=re.MULTILINE)
    assert len(images) == 4
    assert all(re.search(r":v?\d+(\.\d+)+(-[a-z]+)?$", image) for image in images), images
    assert "http://golive:8080/livekit/webhook" in compose
    for service in ("redis", "ingress", "egress"):
        block = compose.split(f"\n  {service}:\n", 1)[1].split("\n  ", 1)[0]
        assert block.strip().startswith("profiles: [obs]"), service
