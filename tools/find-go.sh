# Sourced by the tools' prepare scripts: sets go_bin to $GO, else go on PATH, else
# /usr/local/go/bin/go, or exits naming the tool ($1) that needs it.
go_bin="${GO:-}"
if [ -z "$go_bin" ]; then
  if command -v go >/dev/null 2>&1; then go_bin="$(command -v go)"
  elif [ -x /usr/local/go/bin/go ]; then go_bin=/usr/local/go/bin/go
  else
    echo "tools/$1: Go 1.25+ is needed to build $1 (set GO=/path/to/go)." >&2
    exit 1
  fi
fi
