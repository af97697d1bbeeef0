#!/usr/bin/env bash
# Runs girder's whole test suite on a fresh machine: installs the pinned test components
# (moto, kubernetes-validate) into .venv, then builds and runs every test of the workspace.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# A shared target directory keeps the AWS SDK's 10-minute cold build to once per machine.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/girder-target}"
scripts/python-deps.sh
# The tests find the tools through these (never through paths fixed at compile time).
export GIRDER_MOTO_SERVER="$root/.venv/bin/moto_server"
export GIRDER_KUBERNETES_VALIDATE="$root/.venv/bin/kubernetes-validate"
cargo test --workspace --all-targets
cargo test --workspace --doc
