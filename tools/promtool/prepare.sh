#!/usr/bin/env bash
# Builds promtool (github.com/prometheus/prometheus/cmd/promtool, pinned in this folder's
# go.mod / go.sum) once into ~/.cache/queuepilot; the helm module's PrometheusRulesTest runs
# `promtool check rules` and `promtool test rules` on the chart's rendered PrometheusRule.
# Built with the tag remove_all_sd: Prometheus' service-discovery plugins (AWS, Azure, GCE,
# Kubernetes, ...) are only for `promtool check config` of scrape configs, and leaving them out
# cuts the cold build several-fold.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec "$here/../build-go-tool.sh" "$here" promtool github.com/prometheus/prometheus/cmd/promtool \
  github.com/prometheus/prometheus remove_all_sd
