#!/usr/bin/env bash
# Creates the project's Python virtualenv (.venv) with the pinned test components:
# moto_server (AWS API emulator) and kubernetes-validate (official Kubernetes schemas).
# Idempotent: does nothing when the pinned set is already installed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$root/scripts/requirements.txt" | cut -d' ' -f1)"
if [ -x "$venv/bin/moto_server" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$root/scripts/requirements.txt"
echo "$want" > "$stamp"
echo "python test components installed in $venv"
