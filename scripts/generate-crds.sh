#!/usr/bin/env bash
# Regenerates the QueueScaler CRD from the controller's Java classes (fabric8 crd-generator)
# and copies it to crds/ and helm/queuepilot/crds/. CrdUpToDateTest fails the build until
# the committed YAML equals the generated one. Never edit the YAML by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/java-home.sh
./mvnw -B -q -pl controller -am process-classes
mkdir -p crds helm/queuepilot/crds
for f in controller/target/classes/META-INF/fabric8/*.yml; do
  cp "$f" crds/
  cp "$f" helm/queuepilot/crds/
  echo "generated $(basename "$f") into crds/ and helm/queuepilot/crds/"
done
