"""Boot and delete with every service in its own process, over RabbitMQ,
on MariaDB and on PostgreSQL, with the services on eventlet green threads
and on native threads."""

import testscenarios

from nova import test
from nova.compute import vm_states
from nova.tests.functional import multiprocess

load_tests = testscenarios.load_tests_apply_scenarios


class TestSeparateProcesses(test.TestCase):

    scenarios = testscenarios.multiply_scenarios(
        [('mysql', {'backend': 'mysql'}),
         ('postgresql', {'backend': 'postgresql'})],
        [('eventlet', {'concurrency': 'eventlet'}),
         ('threading', {'concurrency': 'threading'})])

    def setUp(self):
        super().setUp()
        self.cloud = self.useFixture(multiprocess.ProcessCloud(
            self, self.backend, conductor_in_process=False,
            concurrency=self.concurrency))
        self.cloud.start('nova-conductor', 'conductor1')
        self.cloud.start('nova-compute', 'compute1')
        self.cloud.start('nova-compute', 'compute2')

    def test_boot_two_and_delete_over_rabbitmq(self):
        # One request for two: the conductor places both at once, so the
        # free-RAM weigher sees the first placement when choosing the second.
        ctx = self.cloud.user_context()
        flavor = self.cloud.db.flavor_get_by_flavor_id(ctx, '1')
        (first, second), _ = self.cloud.compute_api.create(
            ctx, flavor, self.cloud.image['id'], name='pair', min_count=2,
            max_count=2)
        hosts = set()
        for instance in (first, second):
            active = self.cloud.wait_for_state(instance['uuid'],
                                               vm_states.ACTIVE)
            hosts.add(active['host'])
            self.assertIn(instance['uuid'],
                          self.cloud.hypervisor_guests(active['host']))
        self.assertEqual({'compute1', 'compute2'}, hosts)

        for instance in (first, second):
            self.cloud.compute_api.delete(
                self.cloud.ctx, self.cloud.instance(instance['uuid']))
        for instance in (first, second):
            self.cloud.wait_for_deleted(instance['uuid'])
        self.assertEqual([], self.cloud.hypervisor_guests('compute1'))
        self.assertEqual([], self.cloud.hypervisor_guests('compute2'))
