"""What the per-flow test modules share: the vendor kit, set up once per
test, and a server to act on."""

from __future__ import annotations

from typing import Any

import testtools

from nova.compute import vm_states
from nova.flow import testing


class FlowKitTestCase(testtools.TestCase):
    """``self.cloud``: nova.flow.testing.FlowTestCloud, no vendor hook."""

    #: FlowTestCloud keyword arguments.
    cloud_options: dict[str, Any] = {}

    def setUp(self) -> None:
        super().setUp()
        self.cloud = self.useFixture(testing.FlowTestCloud(
            **self.cloud_options))

    def active_server(self) -> dict[str, Any]:
        uuid = self.cloud.boot()['uuid']
        return self.cloud.wait_for_state(uuid, vm_states.ACTIVE)

    def power_state(self, uuid: str) -> int:
        instance = self.cloud.instance(uuid)
        assert instance is not None
        return int(instance['power_state'])

    def node_usage(self, host: str = 'compute1') -> tuple[int, int, int]:
        (node,) = self.cloud.db.compute_node_get_all_by_host(
            self.cloud.ctx, host)
        return (node['memory_mb_used'], node['vcpus_used'],
                node['local_gb_used'])
