"""shelve, shelve-offload and unshelve (through the conductor).

Shelving powers the guest off, snapshots it and offloads it at once
(upstream's default): the host keeps nothing, the server keeps its
addresses and volumes.  Unshelving schedules it again and deletes the
snapshot.  A failure in any stage leaves the server as it was (shelve,
unshelve) or shelved (offload), consistent with the hypervisor.
"""

import testscenarios

from nova import exception
from nova.compute import power_state, vm_states
from nova.image import api as image_api
from nova.tests.functional import fixtures as func_fixtures
from nova.tests.functional.compute import action_helpers as helpers

load_tests = testscenarios.load_tests_apply_scenarios

SHELVE = 'compute.shelve_instance'
OFFLOAD = 'compute.shelve_offload_instance'
UNSHELVE = 'compute.unshelve_instance'


class _ShelveHelpers(helpers.ActionTestCase):

    def node(self, host='compute1'):
        return self.cloud.db.compute_node_get_all_by_host(self.cloud.ctx,
                                                          host)[0]

    def image_status(self, image_id):
        try:
            return image_api.API().get(self.cloud.ctx, image_id)['status']
        except exception.ImageNotFound:
            return None

    def shelve(self, uuid):
        """Shelve, and wait until the offload run has ended: the server
        is SHELVED_OFFLOADED one stage before the run's end is
        recorded (and the shelve action ends before the offload it
        casts)."""
        offloads = len(self.ended_runs(uuid, OFFLOAD))
        self.act('shelve', uuid)
        func_fixtures.wait_for(
            lambda: len(self.ended_runs(uuid, OFFLOAD)) > offloads,
            what=f'the offload of {uuid} to end')
        return self.wait_for(uuid, vm_states.SHELVED_OFFLOADED)

    def assert_offloaded(self, uuid, server):
        self.assertIsNone(server['host'])
        self.assertIsNone(server['node'])
        self.assertFalse(self.driver.instance_exists({'uuid': uuid}))
        self.assertIsNone(self.cloud.db.allocation_get_by_instance(
            self.cloud.ctx, uuid))
        self.assertEqual(0, self.node()['memory_mb_used'])

    def assert_running_here(self, uuid, host='compute1'):
        server = self.server(uuid)
        self.assertEqual((vm_states.ACTIVE, None, host),
                         (server['vm_state'], server['task_state'],
                          server['host']))
        driver = self.cloud.manager(host).driver
        self.assertEqual(power_state.RUNNING,
                         driver.instance_record(uuid)['power_state'])
        self.assertIsNotNone(self.cloud.db.allocation_get_by_instance(
            self.cloud.ctx, uuid))


class TestShelve(_ShelveHelpers):

    def test_shelve_offloads_and_unshelve_brings_it_back(self):
        server = self.boot_active()
        uuid = server['uuid']
        ports = self.api.get_interfaces(self.ctx, server)
        shelved = self.shelve(uuid)
        image_id = shelved['system_metadata']['shelved_image_id']
        self.assertEqual('compute1',
                         shelved['system_metadata']['shelved_host'])
        self.assertEqual(image_api.ACTIVE, self.image_status(image_id))
        self.assertEqual(power_state.SHUTDOWN, shelved['power_state'])
        self.assert_offloaded(uuid, shelved)
        # The addresses stay with the server.
        self.assertEqual(ports, self.api.get_interfaces(self.ctx, shelved))
        self.assertEqual(
            ['notify_usage_start', 'driver_power_off', 'driver_snapshot',
             'update_shelved', 'notify_usage_end', 'cast_shelve_offload'],
            self.stage_names(uuid, 'shelve', SHELVE))
        self.assertEqual(8, len(self.stage_names(uuid, 'shelve', OFFLOAD)))

        self.act('unshelve', uuid)
        self.wait_done(uuid, 'unshelve')
        self.assert_running_here(uuid)
        unshelved = self.server(uuid)
        self.assertFalse(set(unshelved['system_metadata']) & {
            'shelved_image_id', 'shelved_at', 'shelved_host'})
        self.assertIsNone(self.image_status(image_id))
        self.assertEqual(ports, self.api.get_interfaces(self.ctx,
                                                        unshelved))
        self.assert_all_succeeded(uuid, 'unshelve', UNSHELVE)

    def test_shelve_keeps_volumes_attached(self):
        uuid = self.boot_active()['uuid']
        volume_api = self.manager.services.volume
        volume = volume_api.create(self.ctx, 1)
        bdm = self.act_and_wait('compute.attach_volume', 'attach_volume',
                                uuid, volume['id'])
        self.shelve(uuid)
        self.assertEqual('in-use', volume_api.get(self.ctx,
                                                  volume['id'])['status'])
        self.act('unshelve', uuid)
        self.wait_for(uuid, vm_states.ACTIVE)
        self.assertEqual({bdm['device_name']: volume['id']},
                         self.driver.attached_volumes(uuid))

    def test_volume_attach_and_detach_while_offloaded(self):
        uuid = self.boot_active()['uuid']
        self.shelve(uuid)
        volume_api = self.manager.services.volume
        volume = volume_api.create(self.ctx, 1)
        self.act('attach_volume', uuid, volume['id'], device='/dev/vdc')
        self.assertEqual('in-use', volume_api.get(self.ctx,
                                                  volume['id'])['status'])
        self.act('unshelve', uuid)
        self.wait_for(uuid, vm_states.ACTIVE)
        self.assertEqual({'/dev/vdc': volume['id']},
                         self.driver.attached_volumes(uuid))
        self.shelve(uuid)
        self.act('detach_volume', uuid, volume['id'])
        self.assertEqual('available', volume_api.get(
            self.ctx, volume['id'])['status'])
        self.assertEqual([], self.api.get_volume_attachments(
            self.ctx, self.server(uuid)))

    def test_unshelve_of_a_stopped_server_and_to_another_host(self):
        # Shelving a SHUTOFF server works too; the scheduler may put it
        # anywhere, and an admin may name the host (2.91).
        uuid = self.boot_active()['uuid']
        self.act('stop', uuid)
        self.wait_for(uuid, vm_states.STOPPED)
        self.shelve(uuid)
        self.act('unshelve', uuid, ctx=self.cloud.ctx, host='compute1')
        self.wait_for(uuid, vm_states.ACTIVE)
        self.assert_running_here(uuid)

    def test_unshelve_with_no_valid_host_stays_offloaded(self):
        uuid = self.boot_active()['uuid']
        self.shelve(uuid)
        self.act('unshelve', uuid, ctx=self.cloud.ctx, host='nowhere')
        server = self.wait_done(uuid, 'unshelve')
        self.assertEqual((vm_states.SHELVED_OFFLOADED, None),
                         (server['vm_state'], server['task_state']))
        self.assertIn('No valid host', self.faults(uuid)[0]['message'])

    def test_invalid_transitions(self):
        uuid = self.boot_active()['uuid']
        self.assertRaises(exception.InstanceInvalidState, self.act,
                          'unshelve', uuid)
        self.assertRaises(exception.InstanceInvalidState, self.act,
                          'shelve_offload', uuid)
        self.shelve(uuid)
        for method in ('shelve', 'pause', 'start', 'stop', 'reboot',
                       'shelve_offload'):
            args = ('SOFT',) if method == 'reboot' else ()
            self.assertRaises(exception.InstanceInvalidState, self.act,
                              method, uuid, *args)
        self.assertRaises(exception.InstanceNotReady, self.act,
                          'get_console_output', uuid)
        # The availability zone is only chosen for an offloaded server.
        self.act('unshelve', uuid, new_az='nova')
        self.wait_for(uuid, vm_states.ACTIVE)


class TestShelveFails(_ShelveHelpers):

    scenarios = helpers.failure_scenarios(SHELVE)

    def test_failure_leaves_it_running_without_snapshot(self):
        uuid = self.boot_active()['uuid']
        self.inject(self.stage_id)
        self.act('shelve', uuid)
        server = self.wait_done(uuid, 'shelve')
        self.assertEqual((vm_states.ACTIVE, None, power_state.RUNNING),
                         (server['vm_state'], server['task_state'],
                          server['power_state']))
        self.assertEqual(power_state.RUNNING,
                         self.power_state_on_hypervisor(uuid))
        self.assertNotIn('shelved_image_id', server['system_metadata'])
        self.assertEqual([], [i for i in image_api.API().get_all(
            self.cloud.ctx) if i['properties'].get('instance_uuid') == uuid])
        self.assert_failed_in(uuid, 'shelve', self.stage_id)


class TestShelvePausedServerFails(_ShelveHelpers):

    scenarios = [s for s in helpers.failure_scenarios(SHELVE)
                 if s[0] in ('driver_snapshot', 'update_shelved')]

    def test_failure_after_power_off_leaves_it_active(self):
        # Its memory went with the power-off: it comes back running.
        uuid = self.boot_active()['uuid']
        self.act('pause', uuid)
        self.wait_for(uuid, vm_states.PAUSED)
        self.inject(self.stage_id)
        self.act('shelve', uuid)
        server = self.wait_done(uuid, 'shelve')
        self.assertEqual((vm_states.ACTIVE, power_state.RUNNING),
                         (server['vm_state'], server['power_state']))
        self.assertEqual(power_state.RUNNING,
                         self.power_state_on_hypervisor(uuid))


class TestShelveOffloadFails(_ShelveHelpers):

    scenarios = helpers.failure_scenarios(OFFLOAD)

    def test_failure_leaves_it_shelved_and_offload_again_finishes(self):
        uuid = self.boot_active()['uuid']
        self.inject(self.stage_id)
        self.act('shelve', uuid)
        server = func_wait_for_idle(self, uuid)
        events = {e['event']: e for e in self.events(uuid, 'shelve')}
        self.assertEqual('Error', events[self.stage_id]['result'])
        self.assertEqual('InjectedFault', self.faults(uuid)[0]['message'])
        if server['vm_state'] == vm_states.SHELVED_OFFLOADED:
            # Failed after the update (notify_usage_end).
            self.assert_offloaded(uuid, server)
            return
        self.assertEqual(vm_states.SHELVED, server['vm_state'])
        # The snapshot holds the server whatever the host still has.
        image_id = server['system_metadata']['shelved_image_id']
        self.assertEqual(image_api.ACTIVE, self.image_status(image_id))

        self.clear_fault()
        self.act('shelve_offload', uuid, ctx=self.cloud.ctx)
        offloaded = self.wait_for(uuid, vm_states.SHELVED_OFFLOADED)
        self.assert_offloaded(uuid, offloaded)
        self.act('unshelve', uuid)
        self.wait_for(uuid, vm_states.ACTIVE)
        self.assert_running_here(uuid)


def func_wait_for_idle(test, uuid):
    """The offload runs after the shelve action's first run finished."""
    from nova.tests.functional import fixtures as func_fixtures

    def done():
        server = test.server(uuid)
        runs = test.cloud.db.flow_runs_get_by_instance(test.cloud.ctx, uuid)
        offload = [r for r in runs if r['flow'] == OFFLOAD]
        if server['task_state'] is None and offload and \
                offload[0]['status'] != 'running':
            return server
        return None
    return func_fixtures.wait_for(done, what=f'{uuid} offload to end')


class TestUnshelveFails(_ShelveHelpers):

    scenarios = helpers.failure_scenarios(UNSHELVE)

    def test_failure_leaves_it_offloaded_with_its_snapshot(self):
        uuid = self.boot_active()['uuid']
        shelved = self.shelve(uuid)
        image_id = shelved['system_metadata']['shelved_image_id']
        self.inject(self.stage_id)
        self.act('unshelve', uuid)
        server = self.wait_done(uuid, 'unshelve')
        self.assertEqual((vm_states.SHELVED_OFFLOADED, None),
                         (server['vm_state'], server['task_state']))
        self.assert_offloaded(uuid, server)
        self.assertEqual(image_api.ACTIVE, self.image_status(image_id))
        self.assert_failed_in(uuid, 'unshelve', self.stage_id)

        self.clear_fault()
        self.act('unshelve', uuid)
        self.wait_done(uuid, 'unshelve')
        self.assert_running_here(uuid)
        self.assertIsNone(self.image_status(image_id))


class TestUnshelveKeptGuestFails(_ShelveHelpers):
    """A server whose offload failed is SHELVED with its guest still on
    the host: unshelve powers that guest on."""

    scenarios = [s for s in helpers.failure_scenarios(UNSHELVE)
                 if s[0] in ('driver_power_on', 'update_active')]

    def test_unshelve_of_a_kept_guest(self):
        uuid = self.boot_active()['uuid']
        self.inject(OFFLOAD + '.driver_destroy')
        self.act('shelve', uuid)
        shelved = func_wait_for_idle(self, uuid)
        self.assertEqual(vm_states.SHELVED, shelved['vm_state'])
        self.assertTrue(self.driver.instance_exists({'uuid': uuid}))

        self.inject(self.stage_id)
        self.act('unshelve', uuid)
        server = self.wait_done(uuid, 'unshelve')
        self.assertEqual((vm_states.SHELVED, 'compute1'),
                         (server['vm_state'], server['host']))
        self.assertEqual(power_state.SHUTDOWN,
                         self.power_state_on_hypervisor(uuid))

        self.clear_fault()
        self.act('unshelve', uuid)
        self.wait_for(uuid, vm_states.ACTIVE)
        self.assert_running_here(uuid)
