#!/usr/bin/env bash
# Runs girder's whole test suite on a fresh machine: installs the pinned test components
# (moto, kubernetes-validate and kubectl into .venv, checkov into .venv-checkov), then builds
# and runs every test of the workspace. Every test binary runs even when another fails; the failures are listed together
# at the end, and the exit status is non-zero if there were any.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# A shared target directory keeps the AWS SDK's cold build to once per machine.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/girder-target}"
scripts/python-deps.sh || exit 1
scripts/kubectl.sh || exit 1
# The tests find the tools through these (never through paths fixed at compile time); the
# pinned kubectl comes first on PATH for tests that run `kubectl` by name.
export GIRDER_MOTO_SERVER="$root/.venv/bin/moto_server"
export GIRDER_KUBERNETES_VALIDATE="$root/.venv/bin/kubernetes-validate"
export GIRDER_KUBECTL="$root/.venv/bin/kubectl"
export GIRDER_CHECKOV="$root/.venv-checkov/bin/checkov"
export PATH="$root/.venv/bin:$PATH"

failed=()
step() {
  local name="$1"
  shift
  echo "==> $name: $*"
  local started=$SECONDS
  if "$@"; then
    echo "==> $name: ok ($((SECONDS - started)) s)"
  else
    echo "==> $name: FAILED ($((SECONDS - started)) s)"
    failed+=("$name")
  fi
}
step "tests" cargo test --workspace --all-targets --no-fail-fast
step "doctests" cargo test --workspace --doc --no-fail-fast

if [ ${#failed[@]} -gt 0 ]; then
  echo "scripts/test.sh: failed: ${failed[*]} (each failing test binary is listed above, after 'error:')"
  exit 1
fi
echo "scripts/test.sh: every test passed"
