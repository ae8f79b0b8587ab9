#!/usr/bin/env bash
# Regenerate docs/flow-reference.md (every flow's stages and state fields,
# from the code) after changing a flow; a unit test
# (nova.tests.unit.flow.test_reference) fails while it is stale.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || tools/ensure-venv.sh
.venv/bin/python -m nova.flow.reference > docs/flow-reference.md
echo "wrote docs/flow-reference.md"
