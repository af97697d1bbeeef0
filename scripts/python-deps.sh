#!/usr/bin/env bash
# Creates the project's Python virtualenvs with the pinned test components:
# - .venv: moto_server (AWS API emulator) and kubernetes-validate (official Kubernetes schemas),
#   from scripts/requirements.txt;
# - .venv-checkov: checkov (a policy scanner that reads Terraform plans), from
#   scripts/requirements-checkov.txt, apart because it pins its own dependencies exactly.
# Idempotent: does nothing for a virtualenv whose pinned set is already installed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# install VENV REQUIREMENTS TOOL: the pinned set of REQUIREMENTS into VENV, unless TOOL is
# there and the set is the one last installed.
install() {
  local venv="$root/$1" requirements="$root/scripts/$2" tool="$3"
  local stamp="$venv/.requirements.sha256"
  local want
  want="$(sha256sum "$requirements" | cut -d' ' -f1)"
  if [ -x "$venv/bin/$tool" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  echo "$want" > "$stamp"
  echo "python test components of $2 installed in $venv"
}

install .venv requirements.txt moto_server
install .venv-checkov requirements-checkov.txt checkov
