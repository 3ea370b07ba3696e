#!/usr/bin/env bash
# The guided rehearsal: installs what it needs, starts the built-in sandbox,
# walks the runbook against it, and stops the sandbox when you leave.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/bootstrap.sh"
exec "$VENV/bin/runbook" rehearse "$@"
