"""A reverted stage as the real ``openstack`` client shows it.

A nova-all whose fake hypervisor fails every spawn (``[fake_driver]
fail_methods = spawn``): a server create runs compute.build_instance up
to ``spawn.driver_spawn``, which fails after claim_resources,
allocate_network and the other stages with a revert completed; they are
undone, and the only host leaves the server in ERROR.  ``openstack
server event show`` (python-openstackclient, unmodified) then lists each
undone stage's own event (Success: what it did) and its
``<stage ID>:revert`` event (Success: undone).

Skipped, as test_clients.py, when nova-all or the client is missing.
"""

from __future__ import annotations

from nova.tests.functional.api import test_clients

BUILD = 'compute.build_instance'
#: Stages of a build that complete before driver_spawn and have a
#: revert (validate_instance_group_policy has none: the build's failure
#: handler forgets its check).
UNDONE = ['claim_resources', 'allocate_network', 'create_volumes',
          'prep_block_device']


class TestRevertEventInTheClient(test_clients.NovaAllTestCase):

    flavors = (('m1.e2e', 'e2e', 128, 1, 1),)

    @classmethod
    def prepare(cls, nova: test_clients.NovaAll) -> None:
        with open(nova.conf, 'a') as conf:
            conf.write('\n[fake_driver]\nfail_methods = spawn\n')

    # The same client invocation and bounded poll as test_clients.py.
    osc = test_clients.TestClients.osc
    wait_for = test_clients.TestClients.wait_for

    def test_server_event_show_lists_the_revert(self):
        server = self.osc('server', 'create', '--flavor', 'm1.e2e',
                          '--image', 'cirros', 'e2e-revert')
        self.wait_for(
            lambda: self.cloud.api('GET', f'/servers/{server["id"]}')
            ['server']['status'] == 'ERROR', 'the server to be ERROR')
        (create,) = [e for e in self.osc('server', 'event', 'list',
                                         'e2e-revert')
                     if e['Action'] == 'create']
        detail = self.osc('--os-compute-api-version', '2.84', 'server',
                          'event', 'show', 'e2e-revert',
                          create['Request ID'])
        results = {e['event']: e['result'] for e in detail['events']}
        for stage in UNDONE:
            stage_id = f'{BUILD}.{stage}'
            self.assertEqual('Success', results.get(stage_id), results)
            self.assertEqual('Success', results.get(f'{stage_id}:revert'),
                             results)
        self.assertEqual('Error', results.get(f'{BUILD}.spawn.driver_spawn'),
                         results)
        # A stage that did not run has nothing to revert.
        self.assertNotIn(f'{BUILD}.spawn.update_active:revert', results)
        self.osc('server', 'delete', '--wait', 'e2e-revert', parse=False)
