#!/usr/bin/env bash
# Regenerate etc/nova/nova.conf.sample from the options nova and the oslo
# libraries it uses register (see etc/nova/nova-config-generator.conf).
# nova.tests.unit.test_conf_sample fails when the committed sample is stale.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/oslo-config-generator ] || tools/ensure-venv.sh
exec .venv/bin/oslo-config-generator \
    --config-file etc/nova/nova-config-generator.conf "$@"
