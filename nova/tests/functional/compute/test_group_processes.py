"""Server group anti-affinity with each service in its own process over
RabbitMQ and MariaDB: a conductor and two nova-compute processes (hosts
compute1 and compute2).  Two servers of one anti-affinity group never
share a host, even when they are requested at once; a third, with no
host left, fails with upstream's NoValidHost message.

Needs RabbitMQ and MariaDB (skipped without them, failed with
NOVA_TEST_REQUIRE_SERVICES=1, as the other multi-process tests).
"""

from __future__ import annotations

from nova import test
from nova.compute import vm_states
from nova.tests.functional import multiprocess


class TestAntiAffinityProcesses(test.TestCase):

    def setUp(self) -> None:
        super().setUp()
        self.cloud = self.useFixture(multiprocess.ProcessCloud(
            self, 'mysql', conductor_in_process=False))
        self.cloud.start('nova-conductor', 'conductor1')
        for host in ('compute1', 'compute2'):
            self.cloud.start('nova-compute', host)
        ctx = self.cloud.user_context()
        self.ctx = ctx
        self.group = self.cloud.db.instance_group_create(ctx, {
            'name': 'g', 'policy': 'anti-affinity',
            'project_id': ctx.project_id, 'user_id': ctx.user_id})

    def boot(self, name: str, count: int = 1) -> list[str]:
        flavor = self.cloud.db.flavor_get_by_flavor_id(self.ctx, '1')
        instances, _ = self.cloud.compute_api.create(
            self.ctx, flavor, self.cloud.image['id'], name=name,
            min_count=count, max_count=count,
            scheduler_hints={'group': self.group['uuid']},
            instance_group=self.group)
        return [i['uuid'] for i in instances]

    def test_two_hosts_then_no_valid_host(self) -> None:
        # Two requests at once: neither sees the other's host when it is
        # scheduled; the compute hosts' late check keeps them apart.
        first, second = self.boot('a') + self.boot('b')
        hosts = {self.cloud.wait_for_state(uuid, vm_states.ACTIVE)['host']
                 for uuid in (first, second)}
        self.assertEqual({'compute1', 'compute2'}, hosts)
        [third] = self.boot('c')
        self.cloud.wait_for_state(third, vm_states.ERROR)
        faults = self.cloud.db.instance_fault_get_by_instance_uuids(
            self.cloud.ctx, [third])[third]
        self.assertTrue(faults[0]['message'].startswith(
            'No valid host was found. There are not enough hosts '
            'available.'), faults[0]['message'])
        members = self.cloud.db.instance_group_get(
            self.cloud.ctx, self.group['uuid'])['members']
        self.assertEqual({first, second, third},
                         {m['instance_uuid'] for m in members})

    def test_multiple_create_spreads(self) -> None:
        uuids = self.boot('m', count=2)
        hosts = {self.cloud.wait_for_state(uuid, vm_states.ACTIVE)['host']
                 for uuid in uuids}
        self.assertEqual({'compute1', 'compute2'}, hosts)
