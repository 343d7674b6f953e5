#!/usr/bin/env bash
# `make run` on a fresh clone finishes with a .venv that holds no test tools (CI runs this after
# `make test`; run it by hand the same way: scripts/check_fresh_run.sh).
#
# Clones the committed HEAD into a temporary folder, runs `make run` there until golive's web
# sidecar listens, stops it with SIGTERM as an operator would, and then checks the .venv: golive
# and its runtime dependencies are installed, and not one package of pyproject.toml's dev extra
# (pytest, mypy, ruff, playwright, simcord, ...) is. Needs the package registries (pip, npm).
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/golive-fresh-run.XXXXXX")"
log="$work/make-run.log"
run_pid=""
cleanup() {
  if [[ -n "$run_pid" ]] && kill -0 "$run_pid" 2>/dev/null; then
    kill -KILL -- "-$run_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

git clone --quiet "$repo" "$work/golive"
echo "== make run in a fresh clone of $(git -C "$repo" rev-parse --short HEAD) ($work/golive)"
# Its own process group (setsid), so the SIGTERM below reaches make and golive and nothing else.
# Port 0: any free port; nothing of this machine's is used (no .env in a fresh clone).
(cd "$work/golive" && GOLIVE_WEB_PORT=0 DISCORD_TOKEN= exec setsid make run) >"$log" 2>&1 </dev/null &
run_pid=$!

deadline=$((SECONDS + 900))
until grep -q "web sidecar listening" "$log"; do
  if ! kill -0 "$run_pid" 2>/dev/null; then
    cat "$log"
    echo "FAIL: make run ended before golive listened" >&2
    exit 1
  fi
  if ((SECONDS > deadline)); then
    cat "$log"
    echo "FAIL: golive did not listen within 15 minutes of make run" >&2
    exit 1
  fi
  sleep 1
done
kill -TERM -- "-$run_pid"
wait "$run_pid" || true
run_pid=""
grep -q "golive stopped" "$log" || { cat "$log"; echo "FAIL: golive did not stop cleanly" >&2; exit 1; }
grep -E "== installing|golive.livekit|listening on" "$log" | sed 's/^/   /'

venv="$work/golive/.venv"
"$venv/bin/python" - "$work/golive/pyproject.toml" <<'EOF'
import re
import subprocess
import sys
import tomllib

def name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match is not None
    return re.sub(r"[-_.]+", "-", match.group(0)).lower()

with open(sys.argv[1], "rb") as file:
    project = tomllib.load(file)["project"]
frozen = subprocess.run(
    [sys.executable, "-m", "pip", "list", "--format=freeze"],
    capture_output=True, text=True, check=True,
).stdout
installed = {name(line) for line in frozen.splitlines() if line.strip()}
# (uvloop's marker leaves it out on Windows only)
runtime = {name(dep) for dep in project["dependencies"] if sys.platform != "win32" or "win32" not in dep}
dev = {name(dep) for dep in project["optional-dependencies"]["dev"]}
missing = runtime - installed
present = sorted(dev & installed)
if "golive" not in installed or missing:
    sys.exit(f"FAIL: the fresh .venv lacks what golive needs to run: {sorted(missing) or 'golive'}")
if present:
    sys.exit(f"FAIL: make run installed test tools into .venv: {', '.join(present)}")
print(f"ok: {len(installed)} packages in .venv, golive and all {len(runtime)} runtime dependencies; "
      f"none of the {len(dev)} dev/test tools ({', '.join(sorted(dev))})")
EOF
du -sh "$venv" | awk '{print "   .venv is " $1}'
