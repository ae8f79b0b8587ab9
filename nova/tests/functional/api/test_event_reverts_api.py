"""Reverted stages in ``openstack server event show``.

A build failing in ``driver_spawn`` on its only host undoes the stages
before it; what a client reads of that through os-instance-actions: the
stages' own events unchanged, and one ``<stage ID>:revert`` event per
undone stage, with the standard event fields only.
"""

from __future__ import annotations

import fixtures

from nova.compute import vm_states
from nova.tests.functional.api import base as api_base

BUILD = 'compute.build_instance'
#: The stages of a build with a revert, up to driver_spawn (which is
#: reverted too: a failing stage may have half done its work).
REVERTED = [f'{BUILD}.claim_resources',
            f'{BUILD}.allocate_network', f'{BUILD}.create_volumes',
            f'{BUILD}.prep_block_device', f'{BUILD}.spawn.driver_spawn']


class TestRevertedStagesAsEvents(api_base.APITestCase):

    cloud_options = {'flow__enabled_hooks': ['fault_injection']}

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.EnvironmentVariable(
            'NOVA_FAULT_AT', f'{BUILD}.spawn.driver_spawn:fail'))
        self.uuid = self.cloud.boot(self.cloud.user_context())['uuid']
        self.cloud.wait_for_state(self.uuid, vm_states.ERROR)
        action = self.cloud.wait_for_action(self.uuid, 'create')
        self.request_id = action['request_id']

    def events(self, token=api_base.ADMIN, version='2.84'):
        code, data = self.call(
            'GET', f'/servers/{self.uuid}/os-instance-actions/'
                   f'{self.request_id}', token=token, version=version)
        self.assertEqual(200, code, data)
        return data['instanceAction']['events']

    def test_each_reverted_stage_has_a_revert_event(self):
        events = self.events()
        reverts = [e for e in events if e['event'].endswith(':revert')]
        # Newest first, as the list is: the last stage was undone first.
        self.assertEqual([f'{s}:revert' for s in REVERTED],
                         [e['event'] for e in reverts])
        for event in reverts:
            self.assertEqual('Success', event['result'])
            self.assertEqual('The stage was reverted.', event['details'])
            self.assertEqual('compute1', event['host'])
            self.assertIsNone(event['traceback'])
        by_name = {e['event']: e for e in events}
        # The stages' own events still say what the stages did.
        for stage_id in REVERTED[:-1]:
            self.assertEqual('Success', by_name[stage_id]['result'])
        self.assertEqual('Error',
                         by_name[f'{BUILD}.spawn.driver_spawn']['result'])

    def test_revert_events_have_the_standard_fields_only(self):
        events = self.events(token=api_base.USER, version='2.51')
        (revert, *_) = [e for e in events if e['event'].endswith(':revert')]
        self.assertEqual({'event', 'start_time', 'finish_time', 'result'},
                         set(revert))
        events = self.events(token=api_base.ADMIN, version='2.84')
        (revert, *_) = [e for e in events if e['event'].endswith(':revert')]
        stage = [e for e in events if e['event'] == REVERTED[-1]][0]
        self.assertEqual(set(stage), set(revert))
