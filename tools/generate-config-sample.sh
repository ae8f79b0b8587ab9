#!/usr/bin/env bash
# Generate etc/nova/nova.conf.sample and etc/nova/policy.yaml.sample from
# the options and policy rules nova and the oslo libraries it uses register
# (etc/nova/nova-config-generator.conf, etc/nova/nova-policy-generator.conf).
# The same as "tox -e genconfig" and "tox -e genpolicy".  The samples are
# generated, not committed: they change whenever a library adds an option.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/oslo-config-generator ] || tools/ensure-venv.sh
.venv/bin/oslo-config-generator \
    --config-file etc/nova/nova-config-generator.conf
.venv/bin/oslopolicy-sample-generator \
    --config-file etc/nova/nova-policy-generator.conf
echo "wrote etc/nova/nova.conf.sample and etc/nova/policy.yaml.sample"
