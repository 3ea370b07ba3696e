#!/usr/bin/env bash
# The whole test suite: installs what it needs, then runs pytest against a real
# MariaDB, a real Laravel app, real logs and a real terminal.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/bootstrap.sh"
cd "$ROOT"
exec "$VENV/bin/pytest" -p no:cacheprovider "$@"
