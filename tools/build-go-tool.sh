#!/usr/bin/env bash
# Shared by tools/promtool and tools/actionlint: builds one Go command pinned by the calling
# folder's go.mod / go.sum (fetched through the Go module proxy) once into the tools cache and
# links it into ${QUEUEPILOT_TOOLS_CACHE:-~/.cache/queuepilot}/bin/<name>.
# Usage: build-go-tool.sh <folder with go.mod> <binary name> <main package> <module whose version names the build> [build tags]
# Idempotent: when the cache's stamp (hash of go.mod, go.sum, `go version` and the tags) matches, it only
# re-links. GO (default: go on PATH, else /usr/local/go/bin/go); QUEUEPILOT_TOOLS_REBUILD=1 forces a build.
set -euo pipefail
here="$1"; name="$2"; package="$3"; module="$4"; tags="${5:-}"
cache_root="${QUEUEPILOT_TOOLS_CACHE:-$HOME/.cache/queuepilot}"

source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/find-go.sh" "$name"

version="$(awk -v m="$module" '$1 == m && $2 ~ /^v/ {print $2; exit}' "$here/go.mod")"
[ -n "$version" ] || { echo "tools/$name: cannot read the $module version from $here/go.mod" >&2; exit 1; }
stamp="$( { cat "$here/go.mod" "$here/go.sum"; "$go_bin" version; echo "tags=$tags"; } | sha256sum | cut -c1-16)"
build_dir="$cache_root/$name/$version-$("$go_bin" env GOOS)-$("$go_bin" env GOARCH)"

if [ "${QUEUEPILOT_TOOLS_REBUILD:-0}" != 1 ] && [ -f "$build_dir/.stamp" ] \
   && [ "$(cat "$build_dir/.stamp")" = "$stamp" ] && [ -x "$build_dir/$name" ]; then
  echo "tools/$name: $name $version already built in $build_dir (cached)"
else
  echo "tools/$name: building $name $version with $("$go_bin" version)"
  start=$(date +%s)
  mkdir -p "$build_dir"
  rm -f "$build_dir/.stamp"
  tmp="$(mktemp -d "$build_dir/.build.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  (
    cd "$here"
    export CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false" GOTOOLCHAIN=local
    "$go_bin" build -trimpath -tags "$tags" -ldflags "-s -w" -o "$tmp/$name" "$package"
  )
  mv -f "$tmp/$name" "$build_dir/"
  echo "$stamp" > "$build_dir/.stamp"
  echo "tools/$name: built in $(( $(date +%s) - start )) s into $build_dir"
fi

mkdir -p "$cache_root/bin"
ln -sfn "$build_dir/$name" "$cache_root/bin/$name"
echo "tools/$name: $cache_root/bin/$name -> $build_dir/$name"
