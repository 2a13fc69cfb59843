#!/usr/bin/env bash
# Checks the manifests in deploy/kubernetes/ without a cluster: schema validation with
# kubernetes-validate (PyPI, schemas bundled, run offline: under `unshare --net` when root)
# against the oldest Kubernetes with native gRPC probes on by default (1.24 beta, GA 1.27) and
# the newest it knows, in --strict mode (unknown fields fail), then the cross-field checks of
# scripts/kubernetes-consistency.py (selector vs. template labels and the rest), with its
# self-test.
set -euo pipefail
cd "$(dirname "$0")/.."

KUBERNETES_VALIDATE_VERSION=1.37.0
OLDEST=1.27.0

if ! python3 -c 'import kubernetes_validate' 2>/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check \
    "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
fi
offline=()
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null; then
  offline=(unshare --net --)
fi
manifests=(deploy/kubernetes/*.yaml)
for version in "$OLDEST" "$KUBERNETES_VALIDATE_VERSION"; do
  "${offline[@]}" python3 -m kubernetes_validate --strict --quiet -k "$version" "${manifests[@]}"
  echo "kubernetes-check: ${manifests[*]} valid (--strict) for Kubernetes $version"
done
python3 scripts/kubernetes-consistency.py --self-test "${manifests[@]}"
