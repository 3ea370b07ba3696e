#!/usr/bin/env bash
# Installs what runbook needs on a fresh Debian 12 machine and builds .venv.
# Sourced by scripts/test.sh and scripts/rehearse.sh; safe to run again.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
APT_PACKAGES=(mariadb-server mariadb-client php-cli php-mysql php-laravel-framework tmux)

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    missing+=(python3-venv)
fi
if [ "${#missing[@]}" -gt 0 ]; then
    echo "runbook: installing ${missing[*]}" >&2
    as_root apt-get update -qq
    # Debian's mariadb-server starts the distribution's own server where systemd runs;
    # runbook never uses it: the sandbox runs its own on a private port and socket.
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

VENV="$ROOT/.venv"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
# Editable, so `runbook` works the same from inside the checkout (where ./runbook would
# otherwise shadow the installed package); tests/test_packaging.py installs a real wheel.
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -e "$ROOT[test]" 2>&1 \
    | grep -v "^WARNING: Location" >&2 || true
(cd / && "$VENV/bin/python" -c 'import runbook.sql, runbook.assets, runbook.screens') \
    || { echo "runbook: the install into $VENV failed" >&2; exit 1; }
