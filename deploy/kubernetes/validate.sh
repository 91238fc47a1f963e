#!/usr/bin/env bash
# Validates the manifests offline: yamllint for the YAML itself, then
# kubernetes-validate (PyPI; it ships the Kubernetes JSON schemas, so no
# cluster and no network once installed) in strict mode, which also rejects
# a misspelled field, against the oldest and newest Kubernetes versions it
# knows of that this recipe supports. The Kustomization has no schema there;
# its resources are checked to exist and to be validated above.
#
#   deploy/kubernetes/validate.sh
set -euo pipefail
cd "$(dirname "$0")"
# Pinned: a newer release may drop old Kubernetes versions.
version=1.37.0
if ! python3 -c 'import kubernetes_validate, yamllint' 2>/dev/null; then
  python3 -m pip install -q "kubernetes-validate==$version" yamllint >&2 \
    || python3 -m pip install -q --break-system-packages "kubernetes-validate==$version" yamllint >&2
fi
manifests=(secret.yaml sandbox.yaml service.yaml)
python3 -m yamllint -d '{extends: default, rules: {line-length: {max: 120}, document-start: disable}}' \
  kustomization.yaml "${manifests[@]}"
for k in 1.29.0 1.37.0; do
  python3 -m kubernetes_validate --strict --quiet -k "$k" "${manifests[@]}"
done
listed=$(python3 -c 'import sys, yaml; print(" ".join(sorted(yaml.safe_load(open("kustomization.yaml"))["resources"])))')
[[ $listed == "$(printf '%s\n' "${manifests[@]}" | sort | tr '\n' ' ' | sed 's/ $//')" ]] \
  || { echo "validate.sh: kustomization.yaml lists '$listed', not the manifests validated" >&2; exit 1; }
echo "deploy/kubernetes: ${manifests[*]} valid (kubernetes-validate $version, Kubernetes 1.29 and 1.37, strict)" >&2
