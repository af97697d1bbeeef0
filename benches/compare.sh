#!/usr/bin/env bash
# Peer comparison on the layered DAG (sim_dag's shape): girder end to end (process start,
# SQLite state, simulated cloud in files) against Terraform's `terraform_data` resources in
# the same DAG, when a `terraform` binary is on PATH (otherwise only girder's times are printed).
#
#   benches/compare.sh            # 1,000 resources, zero latency; 2,000 at 100 ms latency
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/girder-target}"
(cd "$root" && cargo build --release -p girder-benches --bin girder-sim-dag -q)
bin="$CARGO_TARGET_DIR/release/girder-sim-dag"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"

seconds() { # runs "$@" and prints its wall time in seconds
  local start end
  start=$(date +%s.%N); "$@" >/dev/null; end=$(date +%s.%N)
  echo "$end - $start" | bc -l
}

run_girder() { # N LATENCY_MS
  # A fresh directory per run, all removed at exit: removing the previous run's thousands of
  # files right before a run makes ext4 (mounted with `discard`) stall the run's own writes.
  local dir
  dir="$(mktemp -d -p "$work")"
  (cd "$dir" && GIRDER_SIM_N="$1" GIRDER_SIM_LATENCY_MS="$2" seconds "$bin" apply --yes)
}

echo "girder apply, 1000 resources, 10 layers, 0 ms latency (best of 5):"
best=999; for _ in 1 2 3 4 5; do t=$(run_girder 1000 0); best=$(echo "if ($t < $best) $t else $best" | bc -l); done
printf '  %.3f s\n' "$best"

echo "girder apply, 2000 resources, 10 layers, 100 ms latency (critical path 1.0 s; best of 3):"
best2=999; for _ in 1 2 3; do t=$(run_girder 2000 100); best2=$(echo "if ($t < $best2) $t else $best2" | bc -l); done
printf '  %.3f s = %.2fx the critical path\n' "$best2" "$best2"

if command -v terraform >/dev/null; then
  mkdir tf && cd tf
  {
    for k in $(seq 0 9); do for i in $(seq 0 99); do
      if [ "$k" -eq 0 ]; then
        echo "resource \"terraform_data\" \"n${k}_${i}\" { input = ${k} }"
      else
        p=$((k-1)); j=$(((i+1)%100))
        echo "resource \"terraform_data\" \"n${k}_${i}\" { input = [terraform_data.n${p}_${i}.id, terraform_data.n${p}_${j}.id] }"
      fi
    done; done
  } > main.tf
  export TF_CLI_CONFIG_FILE=/dev/null
  terraform init -input=false >/dev/null 2>&1
  t=$(seconds terraform apply -auto-approve -input=false -parallelism=256)
  printf 'terraform apply, the same 1000-resource DAG: %.3f s (girder is %.0fx faster)\n' "$t" "$(echo "$t / $best" | bc -l)"
else
  # Only what was measured here is printed: without a terraform binary there is no comparison.
  echo "terraform is not on PATH: no comparison with Terraform was measured (install terraform to run one)"
fi
