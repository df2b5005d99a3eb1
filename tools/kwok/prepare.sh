#!/usr/bin/env bash
# Builds KWOK (sigs.k8s.io/kwok/cmd/kwok, pinned in this folder's go.mod / go.sum) once into
# ~/.cache/queuepilot and links it as ~/.cache/queuepilot/bin/kwok: the controller's cluster ITs
# run it next to kube-apiserver, kube-controller-manager and kube-scheduler (tools/k8s) to
# simulate nodes and the kubelet's pod lifecycle (a scheduled pod becomes Running and Ready, a
# deleted one goes away).
# KWOK standalone needs its Stages as configuration. The stages file is the set `kwokctl` uses
# by default (node-initialize, node-heartbeat-with-lease, pod-ready, pod-complete, pod-delete),
# taken from the very module version that was built (its kustomize/stage/ folder in the Go module
# cache), written to ~/.cache/queuepilot/bin/kwok-stages.yaml; nothing of it is in git.
# Its own module because KWOK v0.8.0 is built against the k8s.io v0.36 libraries, while the
# cluster binaries are built from k8s.io/kubernetes v1.34.12; KWOK only talks to the API server.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache_root="${QUEUEPILOT_TOOLS_CACHE:-$HOME/.cache/queuepilot}"
"$here/../build-go-tool.sh" "$here" kwok sigs.k8s.io/kwok/cmd/kwok sigs.k8s.io/kwok

source "$here/../find-go.sh" kwok
version="$(awk '$1 == "sigs.k8s.io/kwok" && $2 ~ /^v/ {print $2; exit}' "$here/go.mod")"
stages="$cache_root/kwok/stages-$version.yaml"
if [ ! -s "$stages" ]; then
  module_dir="$(cd "$here" && GOFLAGS=-mod=readonly GOTOOLCHAIN=local "$go_bin" list -m -f '{{.Dir}}' sigs.k8s.io/kwok)"
  [ -d "$module_dir/kustomize/stage" ] || { echo "tools/kwok: no kustomize/stage in $module_dir" >&2; exit 1; }
  mkdir -p "$(dirname "$stages")"
  tmp="$(mktemp "$stages.XXXXXX")"
  for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
           pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
    echo "---" >> "$tmp"
    cat "$module_dir/kustomize/stage/$f" >> "$tmp"
  done
  mv -f "$tmp" "$stages"
fi
ln -sfn "$stages" "$cache_root/bin/kwok-stages.yaml"
echo "tools/kwok: stages $cache_root/bin/kwok-stages.yaml -> $stages"
