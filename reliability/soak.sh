#!/usr/bin/env bash
# The reliability SOAK: every chaos scenario with 2,000 jobs and full-length faults (30 s
# blackhole, 30 s of OpenAI 429s, 30 SIGKILLs, two PostgreSQL restarts, ...). The FAST part of
# the same suite (200 jobs, shortened faults) runs in the README's test command.
# Figures: reliability/target/reliability-report/scenarios.md (one Markdown row per scenario),
# worker/controller logs under reliability/target/chaos/<scenario>-<millis>/logs/.
# Takes ~25-30 min on 2 cores. Extra Maven arguments are passed on (e.g. -Dit.test=BadInputIT).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/java-home.sh
for prepare in tools/*/prepare.sh; do
  [ -x "$prepare" ] && "$prepare"
done
rm -f reliability/target/reliability-report/scenarios.md
exec ./mvnw -B -pl reliability -am verify -Psoak \
  -Dtest=NoUnitTestsInTheSoak -Dsurefire.failIfNoSpecifiedTests=false \
  -Dit.test='NetworkChaosIT,ProcessChaosIT,PostgresRestartIT,OpenAiChaosIT,BadInputIT,ControllerChaosIT' \
  -Dfailsafe.failIfNoSpecifiedTests=false "$@"
