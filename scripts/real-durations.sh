#!/usr/bin/env bash
# Runs the AWS-behaviour tests — the seed network and cluster (crates/girder-aws/tests/
# layer_*.rs) and the whole seed (tests/yolo.rs) — with the sandbox's durations at AWS's real
# length instead of the suite's hundredth: EKS clusters take ten minutes to create, NAT
# gateways a minute and a half to drain, roles fifteen seconds to propagate. Expect several
# hours for everything; name tests to run fewer, and set a scale to go faster:
#
#   scripts/real-durations.sh                           # everything, real length
#   GIRDER_SANDBOX_SCALE=0.1 scripts/real-durations.sh the_seed_survives_every_aws_behaviour_at_once
#
# Each run prints its requests, wall times and the behaviours it met (--nocapture).
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/girder-target}"
export GIRDER_SANDBOX_SCALE="${GIRDER_SANDBOX_SCALE:-1}"
scripts/python-deps.sh || exit 1
scripts/kubectl.sh || exit 1
export GIRDER_MOTO_SERVER="$root/.venv/bin/moto_server"
export PATH="$root/.venv/bin:$PATH"
echo "==> AWS behaviour tests at scale $GIRDER_SANDBOX_SCALE"
cargo test --no-fail-fast \
  -p girder-aws --test layer_network --test layer_eks --test layer_eks_access \
  -p girder-e2e --test yolo \
  -- --nocapture --test-threads 1 "$@"
