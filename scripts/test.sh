#!/usr/bin/env bash
# The README's test command: prepares the local tools the tests need, then runs every test
# (unit, real-PostgreSQL, real kube-apiserver, chart) with `./mvnw -B verify`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/java-home.sh
for prepare in tools/*/prepare.sh; do
  [ -x "$prepare" ] && "$prepare"
done
exec ./mvnw -B verify "$@"
