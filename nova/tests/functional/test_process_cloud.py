"""The multi-process tests' fixture: each test's RabbitMQ virtual host is
new, and what a test leaves in its own never reaches the next test's; no
service process outlives its test."""

from __future__ import annotations

import subprocess

import kombu

from nova import test
from nova.tests.fixtures import services
from nova.tests.functional import fixtures as func_fixtures
from nova.tests.functional import multiprocess


def _virtual_hosts() -> list[str]:
    listed = subprocess.run(['rabbitmqctl', '-q', 'list_vhosts'],
                            check=True, capture_output=True, text=True,
                            timeout=60)
    return listed.stdout.split()


class TestVirtualHosts(test.TestCase):

    def setUp(self) -> None:
        super().setUp()
        services.require_url(self, multiprocess.RABBIT_URL, 'RabbitMQ')
        self.hosts = multiprocess._VirtualHosts()
        self.addCleanup(self.hosts._at_exit)

    def url(self, name: str) -> str:
        # kombu's name of the AMQP transport is amqp, oslo's rabbit.
        base = multiprocess.RABBIT_URL.replace('rabbit://', 'amqp://', 1)
        return base.rstrip('/') + '/' + name

    def test_a_left_message_stays_in_its_tests_virtual_host(self):
        first = self.hosts.take()
        self.addCleanup(self.hosts.release, first)
        with kombu.Connection(self.url(first)) as connection:
            queue = connection.SimpleQueue('compute.compute1')
            queue.put({'method': 'left_behind'})
            queue.close()
        second = self.hosts.take()
        self.addCleanup(self.hosts.release, second)
        self.assertNotEqual(first, second)
        with kombu.Connection(self.url(second)) as connection:
            channel = connection.channel()
            # Not there at all: declaring it passively fails.
            self.assertRaises(
                connection.channel_errors, channel.queue_declare,
                queue='compute.compute1', passive=True)

    def test_a_released_virtual_host_is_deleted(self):
        name = self.hosts.take()
        self.assertIn(name, _virtual_hosts())
        self.hosts.release(name)
        func_fixtures.wait_for(lambda: name not in _virtual_hosts(),
                               what=f'{name} to be deleted')

    def test_the_one_made_ahead_is_deleted_at_exit(self):
        name = self.hosts.take()
        self.addCleanup(self.hosts.release, name)
        making = self.hosts._next
        assert making is not None
        made_ahead = making.name()
        self.assertNotEqual(name, made_ahead)
        self.assertIn(made_ahead, _virtual_hosts())
        self.hosts._at_exit()
        self.assertNotIn(made_ahead, _virtual_hosts())
        self.assertIn(name, _virtual_hosts())


class TestProcessesStop(test.TestCase):

    def test_no_process_outlives_the_fixture(self):
        cloud = multiprocess.ProcessCloud(self)
        cloud.setUp()
        try:
            first = cloud.start('nova-compute', 'compute1')
            first.kill()
            restarted = cloud.start('nova-compute', 'compute1')
            other = cloud.start('nova-compute', 'compute2')
            for process in (restarted, other):
                self.assertIsNone(process.process.poll())
        finally:
            cloud.cleanUp()
        for process in (first, restarted, other):
            self.assertIsNotNone(process.process.poll())
        # Stopped by SIGTERM (their own clean stop), not killed.
        self.assertEqual([0, 0], [restarted.process.returncode,
                                  other.process.returncode])
