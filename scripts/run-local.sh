#!/usr/bin/env bash
# The README's first command: the whole QueuePilot pipeline on this machine — embedded
# PostgreSQL, migrations, sample clinical documents, in-process workers scaled by the
# controller's policy, a live progress display and a summary.
# Builds the CLI jar first when it is missing or older than the sources.
# Options are passed to `queuepilot local` (see --help): --docs DIR, --copies N, --keep-db,
# --db-url URL (an existing PostgreSQL / Supabase instead of the embedded one).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/java-home.sh

jar=cli/target/queuepilot-cli.jar
stale=false
if [ ! -f "$jar" ]; then
  stale=true
elif [ -n "$(find pom.xml sql queue worker controller cli -newer "$jar" \
        \( -name '*.java' -o -name 'pom.xml' -o -name '*.sql' -o -name '*.xml' -o -name '*.yaml' \) \
        -not -path '*/target/*' -print -quit 2>/dev/null)" ]; then
  stale=true
fi
if [ "$stale" = true ]; then
  echo "Building the QueuePilot CLI (./mvnw -B -q -DskipTests package) ..."
  ./mvnw -B -q -DskipTests package
fi

exec java -jar "$jar" local "$@"
