#!/usr/bin/env bash
# Builds actionlint (github.com/rhysd/actionlint/cmd/actionlint, pinned in this folder's
# go.mod / go.sum) once into ~/.cache/queuepilot; the helm module's WorkflowLintTest runs it on
# .github/workflows/*.yml.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec "$here/../build-go-tool.sh" "$here" actionlint github.com/rhysd/actionlint/cmd/actionlint \
  github.com/rhysd/actionlint
