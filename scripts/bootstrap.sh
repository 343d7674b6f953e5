#!/usr/bin/env bash
# Installs what a fresh Debian/Ubuntu machine lacks to run (and, with --for-tests, to test) golive:
# python3 with venv, Node.js with npm; for the tests Debian's chromium (the page tests) and
# postgresql (its binaries, from which tests/postgres.py starts a throwaway server when none
# answers at 127.0.0.1:5432). --with-browser is the old name of --for-tests.
# Uses apt-get as root, or through sudo; elsewhere it only says what is missing.
set -euo pipefail

want_browser=0
[[ "${1:-}" == "--for-tests" || "${1:-}" == "--with-browser" ]] && want_browser=1

missing=()
python3 -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null || missing+=(python3)
python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if ((want_browser)) && [[ ! -x /usr/bin/chromium ]]; then missing+=(chromium); fi
if ((want_browser)) && ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  missing+=(postgresql)
fi

((${#missing[@]} == 0)) && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "golive needs: ${missing[*]} (Python >= 3.11). Install them with your package manager, then retry." >&2
  exit 1
fi
sudo=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then sudo=(sudo); else
    echo "golive needs: ${missing[*]}. Run as root: apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi
echo "Installing ${missing[*]} with apt-get…"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
