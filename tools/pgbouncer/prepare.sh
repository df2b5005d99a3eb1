#!/usr/bin/env bash
# Installs PgBouncer (Debian's package) for the pooler tests: they start a real PgBouncer in
# transaction mode in front of the embedded PostgreSQL (io.queuepilot.queue.testing.PgBouncer).
# Idempotent: does nothing when /usr/sbin/pgbouncer (or pgbouncer on PATH) is already there.
# Installing needs root (CI runs as root); elsewhere it says what to run instead.
set -euo pipefail
if command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ]; then
  bin="$(command -v pgbouncer 2>/dev/null || echo /usr/sbin/pgbouncer)"
  echo "tools/pgbouncer: $("$bin" --version | head -1) already installed at $bin"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "tools/pgbouncer: pgbouncer is not installed; run 'sudo apt-get install -y pgbouncer' (the pooler tests need it)" >&2
  exit 1
fi
start=$(date +%s)
export DEBIAN_FRONTEND=noninteractive
# The package list may be empty on a fresh machine; update once, then install.
apt-get install -y --no-install-recommends pgbouncer >/dev/null 2>&1 \
  || { apt-get update -qq && apt-get install -y --no-install-recommends pgbouncer >/dev/null; }
# The package starts no service here (no systemd in containers); the tests start their own.
echo "tools/pgbouncer: installed $(/usr/sbin/pgbouncer --version | head -1) in $(( $(date +%s) - start )) s"
