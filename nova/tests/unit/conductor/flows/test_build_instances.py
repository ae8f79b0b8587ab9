"""conductor.build_instances with the vendor kit.

Read next to nova/conductor/flows/build_instances.py: a create request
placed, reserved, configured and powered on all or nothing - each
stage's effect (hosts chosen, the claims and ports of a multi-create
made before any host has an instance, every instance configured on its
host before any is powered on, one build cast for a single instance,
the instances beyond what fits deleted with a fault), the revert of
claim_resources (each host unconfigures what it configured; claims and
ports of the others) and the failure handler (set_error:
every instance no host took is ERROR with the fault, nothing held).
"""

from __future__ import annotations

import threading

import fixtures
import testscenarios

from nova import exception
from nova.compute import vm_states
from nova.conductor import manager as conductor_manager
from nova.db import api as db
from nova.db import recorder as db_recorder
from nova.flow import FlowEngine, hooks, testing
from nova.tests.unit.compute.flows import kit

load_tests = testscenarios.load_tests_apply_scenarios

FLOW = 'conductor.build_instances'
STAGES = ['select_destinations', 'claim_resources', 'allocate_networks',
          'create_volumes', 'build_on_hosts', 'configure_on_hosts',
          'delete_unreserved', 'power_on_on_hosts']
#: The stages with a revert, in order (claim_resources' gives back the
#: ports allocate_networks took, and has the hosts unconfigure what
#: configure_on_hosts configured, too).
REVERTING = ['claim_resources']


class _BuildTestCase(kit.FlowKitTestCase):

    def boot_many(self, min_count, max_count, **kwargs):
        """The instances of one create request, in launch order."""
        ctx = self.cloud.user_context()
        flavor = self.cloud.db.flavor_get_by_flavor_id(ctx, '1')
        image = kwargs.pop('image', self.cloud.image['id'])
        instances, _ = self.cloud.compute_api.create(
            ctx, flavor, image, name='many',
            min_count=min_count, max_count=max_count, **kwargs)
        return [i['uuid'] for i in instances]

    def settled(self, uuid):
        """The instance's vm_state once ACTIVE or ERROR with no task."""
        def ended():
            instance = self.cloud.instance(uuid)
            if instance['task_state'] is None and instance['vm_state'] in (
                    vm_states.ACTIVE, vm_states.ERROR):
                return instance['vm_state']
            return None
        return testing.wait_for(ended, what=f'{uuid} to be built or fail')

    def first_run_status(self, uuid):
        """How the first run of the flow on ``uuid`` (its request's, not
        a reschedule's) ended, once it has."""
        def ended():
            status = self.cloud.runs(uuid, FLOW)[0]['status']
            return None if status == 'running' else status
        return testing.wait_for(ended, what=f'the request of {uuid}')

    def ports(self, uuids):
        """Instance UUID -> the hosts its ports are bound to, for those
        that have ports."""
        found = {}
        for uuid in uuids:
            rows = db.fixed_ip_get_by_instance(self.cloud.ctx, uuid)
            if rows:
                found[uuid] = [r['host'] for r in rows]
        return found


class TestBuildInstances(_BuildTestCase):

    def test_stages_and_effects(self):
        uuids = self.boot_many(2, 2)
        run = self.cloud.wait_for_run(uuids[0], FLOW)
        self.assertEqual('success', run['status'])
        self.cloud.assert_stages_ran(uuids[0], FLOW, STAGES)
        # configure_on_hosts, power_on_on_hosts: both configured, then
        # powered on, on the host chosen and claimed; no build cast.
        for uuid in uuids:
            server = self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
            self.assertEqual('compute1', server['host'])
            self.assertEqual(
                ['compute.configure_instance', 'compute.power_on_instance'],
                [r['flow'] for r in self.cloud.runs(uuid)
                 if r['flow'].startswith('compute.')])
        self.assertEqual(sorted(uuids),
                         sorted(self.cloud.guests('compute1')))
        self.assertEqual((1024, 2, 2), self.node_usage())
        # allocate_networks: one port each (the host kept the one
        # nova-conductor allocated), bound to the host that built it.
        self.assertEqual({u: ['compute1'] for u in uuids},
                         self.ports(uuids))

    def test_single_boot_is_left_to_its_host(self):
        uuid = self.cloud.boot()['uuid']
        self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        # One port, by the host's allocate_network (this process's
        # [DEFAULT] host is its binding: all services run in it).
        self.assertEqual(1, len(self.ports([uuid])[uuid]))
        run = self.cloud.wait_for_run(uuid, FLOW)
        self.assertEqual('success', run['status'])
        self.cloud.assert_stages_ran(uuid, FLOW, STAGES)
        # build_on_hosts: its one cast, no phases.
        self.assertEqual(['compute.build_instance'],
                         [r['flow'] for r in self.cloud.runs(uuid)
                          if r['flow'].startswith('compute.')])


    def test_no_group_is_read_for_a_build_without_the_hint(self):
        # The compute API puts the servers' group in the hint: without
        # one, neither the scheduler nor the host reads a membership.
        reads = self.useFixture(fixtures.MockPatch(
            'nova.db.api.instance_group_get_by_instance',
            wraps=db.instance_group_get_by_instance)).mock
        uuid = self.cloud.boot()['uuid']
        self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        self.assertEqual('success',
                         self.cloud.wait_for_run(uuid, FLOW)['status'])
        reads.assert_not_called()


class TestIpPoolExhausted(_BuildTestCase):
    """allocate_networks: a flat network with one free address."""

    # 10.9.0.1 is the gateway, 10.9.0.2 the one address to give.
    cloud_options = {'network__flat_network_cidr': '10.9.0.0/30'}

    def test_between_min_and_max_the_rest_is_deleted(self):
        uuids = self.boot_many(1, 3)
        self.assertEqual('success',
                         self.cloud.wait_for_run(uuids[0], FLOW)['status'])
        self.cloud.wait_for_state(uuids[0], vm_states.ACTIVE)
        self.assertEqual({uuids[0]: ['compute1']}, self.ports(uuids))
        for uuid in uuids[1:]:
            self.assertTrue(self.cloud.instance(uuid)['deleted'])
            message = self.cloud.faults(uuid)[0]['message']
            self.assertIn('its network: No fixed IP addresses available',
                          message)
        # Only the one built holds a claim.
        self.assertEqual((512, 1, 1), self.node_usage())
        self.assertEqual([uuids[0]], self.cloud.guests('compute1'))

    def test_fewer_than_min_count_nothing_is_held(self):
        uuids = self.boot_many(2, 3)
        run = self.cloud.wait_for_run(uuids[0], FLOW)
        self.assertEqual('error', run['status'])
        self.assertEqual([f'{FLOW}.claim_resources'],
                         self.cloud.reverted_stages(uuids[0], FLOW))
        for uuid in uuids:
            failed = self.cloud.wait_for_state(uuid, vm_states.ERROR)
            self.assertIsNone(failed['host'])
            faults = self.cloud.faults(uuid)
            self.assertEqual(1, len(faults))
            self.assertIn('No fixed IP addresses available',
                          faults[0]['message'])
        self.assertEqual({}, self.ports(uuids))
        self.assertEqual(kit.NO_USAGE, self.node_usage())
        self.assertEqual([], self.cloud.guests('compute1'))


class TestFewerFit(_BuildTestCase):
    """delete_unreserved: room for two of three (min_count 1): two are
    built, the third is deleted with a fault saying why."""

    cloud_options = {'fake_driver__memory_mb': 1024,
                     'ram_allocation_ratio': 1.0}

    def test_instances_beyond_the_room_are_deleted(self):
        uuids = self.boot_many(1, 3)
        self.assertEqual('success',
                         self.cloud.wait_for_run(uuids[0], FLOW)['status'])
        for uuid in uuids[:2]:
            self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        deleted = self.cloud.instance(uuids[2])
        self.assertTrue(deleted['deleted'])
        self.assertIn('min_count 1',
                      self.cloud.faults(uuids[2])[0]['message']
                      + str(self.cloud.faults(uuids[2])[0]['details']))


class TestBuildInstancesFails(_BuildTestCase):
    """A failure at any stage before the point of no return: the
    instances configured on their host are unconfigured there (ERROR,
    on that host) and the claims of the others released (both by
    claim_resources' revert), each of them ERROR with the fault
    (set_error); nothing is held, no guest left."""

    scenarios = [(s, {'stage': s}) for s in STAGES[:STAGES.index(
        'power_on_on_hosts')]]

    def test_reverts_and_failure_handler(self):
        self.cloud.fail_at(f'{FLOW}.{self.stage}')
        uuids = self.boot_many(2, 2)
        run = self.cloud.wait_for_run(uuids[0], FLOW)
        self.assertEqual('error', run['status'])
        position = STAGES.index(self.stage)
        self.assertEqual(
            [f'{FLOW}.{s}' for s in reversed(REVERTING)
             if STAGES.index(s) <= position],
            self.cloud.reverted_stages(uuids[0], FLOW))
        configured = position > STAGES.index('configure_on_hosts')
        for uuid in uuids:
            failed = self.cloud.wait_for_state(uuid, vm_states.ERROR)
            self.assertEqual('compute1' if configured else None,
                             failed['host'])
            self.assertIn('InjectedFailure',
                          self.cloud.faults(uuid)[0]['message'])
        self.assertEqual(kit.NO_USAGE, self.node_usage())
        self.assertEqual([], self.cloud.guests('compute1'))
        self.assertEqual({}, self.ports(uuids))


class SeenMappings(hooks.Hook):
    """Whose block device mappings each host's configure and power-on
    of a multi-create got: (flow, instance UUID) -> the instance UUIDs
    of the mappings in its state."""

    supports = {'compute.configure_instance': '1.0',
                'compute.power_on_instance': '1.0'}

    def __init__(self):
        self.seen = {}
        self.lock = threading.Lock()

    def see(self, flow, state):
        with self.lock:
            self.seen[flow, state.instance['uuid']] = [
                b['instance_uuid'] for b in state.block_device_mapping]

    @hooks.around('compute.configure_instance.'
                  'check_instance_not_already_created')
    def see_configure(self, ctx, state, proceed):
        self.see('compute.configure_instance', state)
        return proceed()

    @hooks.around('compute.power_on_instance.check_configured')
    def see_power_on(self, ctx, state, proceed):
        self.see('compute.power_on_instance', state)
        return proceed()


class TestEachHostGetsItsOwnMappings(_BuildTestCase):
    """configure_on_hosts, power_on_on_hosts: without image -> volume
    mappings (create_volumes makes nothing) each instance's calls still
    carry its own block device mappings, not the first instance's (the
    ones nova-api sends with the request)."""

    def setUp(self):
        self.hook = SeenMappings()
        self.cloud_options = {'hook_objects': [self.hook]}
        super().setUp()

    def test_each_call_carries_its_instances_mappings(self):
        uuids = self.boot_many(3, 3)
        self.assertEqual('success',
                         self.cloud.wait_for_run(uuids[0], FLOW)['status'])
        for uuid in uuids:
            self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        # One mapping each (the image -> local disk nova-api adds).
        self.assertEqual(
            {(flow, u): [u] for u in uuids
             for flow in ('compute.configure_instance',
                          'compute.power_on_instance')},
            self.hook.seen)


class TestHostBuildFailsBeforeItsNetwork(_BuildTestCase):
    """The ports nova-conductor allocated are the host's from the call
    on: a configure that fails before its allocate_network gives them
    back (the build's failure handler), as it releases the claim."""

    def test_failed_build_gives_back_the_conductors_ports(self):
        self.cloud.fail_at('compute.configure_instance.claim_resources',
                           exc=exception.InstanceExists(name='x'), times=1)
        uuids = self.boot_many(2, 2)
        self.assertEqual('success',
                         self.cloud.wait_for_run(uuids[0], FLOW)['status'])
        states = {}
        for uuid in uuids:
            self.cloud.wait_for_run(uuid, 'compute.configure_instance')
            states[uuid] = self.cloud.instance(uuid)['vm_state']
        self.assertEqual([vm_states.ACTIVE, vm_states.ERROR],
                         sorted(states.values()))
        (built,) = [u for u, s in states.items() if s == vm_states.ACTIVE]
        # InstanceExists is not rescheduled: the failed one is ERROR,
        # without its ports; the other kept its one port.
        self.assertEqual({built: ['compute1']}, self.ports(uuids))
        self.assertEqual((512, 1, 1), self.node_usage())


class RequestReserved(hooks.Hook):
    """A vendor's hook point "after every instance of this request is
    reserved": a stage after create_volumes, before any cast.  It
    sees, for each instance, whether it holds its claim and its ports
    and whether a host has it yet; ``refuse`` makes it refuse the
    request."""

    supports = {FLOW: '1.3'}
    refuse = False

    def __init__(self):
        self.seen = {}

    @hooks.after(f'{FLOW}.create_volumes')
    def check_request_reserved(self, ctx, state):
        conductor = state.conductor
        for uuid in state.reserved:
            self.seen[uuid] = (
                conductor.db.allocation_get_by_instance(ctx, uuid)
                is not None,
                len(state.network_info[uuid]),
                conductor.db.instance_get_by_uuid(ctx, uuid)['host'])
        if self.refuse:
            raise hooks.RunRefused('The request is over the budget.')


class TestHookAfterEveryInstanceIsReserved(_BuildTestCase):

    def setUp(self):
        self.hook = RequestReserved()
        self.cloud_options = {'hook_objects': [self.hook]}
        super().setUp()

    def test_hook_sees_every_instance_reserved_none_cast(self):
        uuids = self.boot_many(2, 2)
        self.assertEqual('success',
                         self.cloud.wait_for_run(uuids[0], FLOW)['status'])
        self.cloud.assert_stages_ran(
            uuids[0], FLOW, ['select_destinations', 'claim_resources',
                             'allocate_networks', 'create_volumes',
                             'check_request_reserved', 'build_on_hosts',
                             'configure_on_hosts', 'delete_unreserved',
                             'power_on_on_hosts'])
        # Claimed, one port each, on no host yet.
        self.assertEqual({u: (True, 1, None) for u in uuids}, self.hook.seen)
        for uuid in uuids:
            self.cloud.wait_for_state(uuid, vm_states.ACTIVE)

    def test_hook_refusing_gives_every_reservation_back(self):
        self.hook.refuse = True
        uuids = self.boot_many(2, 2)
        self.assertEqual('error',
                         self.cloud.wait_for_run(uuids[0], FLOW)['status'])
        for uuid in uuids:
            failed = self.cloud.wait_for_state(uuid, vm_states.ERROR)
            self.assertIsNone(failed['host'])
            self.assertEqual('The request is over the budget.',
                             self.cloud.faults(uuid)[0]['message'])
        self.assertEqual({}, self.ports(uuids))
        self.assertEqual(kit.NO_USAGE, self.node_usage())
        self.assertEqual([], self.cloud.guests('compute1'))


class BeforePowerOn(hooks.Hook):
    """A vendor's hook point "before power on": a stage before
    power_on_on_hosts.  It sees each instance of the request as its
    host left it after configure_on_hosts."""

    supports = {FLOW: '1.2'}

    def __init__(self):
        self.seen = {}

    @hooks.before(f'{FLOW}.power_on_on_hosts')
    def check_request_configured(self, ctx, state):
        for uuid in state.configured:
            instance = state.conductor.db.instance_get_by_uuid(ctx, uuid)
            self.seen[uuid] = (instance['vm_state'], instance['task_state'],
                               instance['host'], instance['power_state'])


class TestHookBeforePowerOn(_BuildTestCase):

    def setUp(self):
        self.hook = BeforePowerOn()
        self.cloud_options = {'hook_objects': [self.hook]}
        super().setUp()

    def test_hook_sees_every_instance_configured_none_started(self):
        uuids = self.boot_many(3, 3)
        self.assertEqual('success',
                         self.cloud.wait_for_run(uuids[0], FLOW)['status'])
        self.assertEqual(
            {u: (vm_states.BUILDING, 'spawning', 'compute1', 0)
             for u in uuids}, self.hook.seen)
        for uuid in uuids:
            self.cloud.wait_for_state(uuid, vm_states.ACTIVE)


class TestPhaseFailsOnOneInstance(_BuildTestCase):
    """A configure or power-on that fails for one instance of the
    request follows the build's rules on its host; the others are
    powered on.  With one host, no other host is left: that one is
    ERROR, holding nothing."""

    scenarios = [('configure', {'flow': 'compute.configure_instance',
                                'stage': 'configure_guest'}),
                 ('power_on', {'flow': 'compute.power_on_instance',
                               'stage': 'driver_power_on'})]

    def test_others_are_powered_on(self):
        self.cloud.fail_at(f'{self.flow}.{self.stage}', times=1)
        uuids = self.boot_many(3, 3)
        states = {uuid: self.settled(uuid) for uuid in uuids}
        # The request's run (a reschedule of the failed one, if it was
        # the first, has a run of its own after it).
        self.assertEqual('success', self.first_run_status(uuids[0]))
        self.assertEqual([vm_states.ACTIVE, vm_states.ACTIVE,
                          vm_states.ERROR], sorted(states.values()))
        self.assertEqual((1024, 2, 2), self.node_usage())
        (failed,) = [u for u, s in states.items() if s == vm_states.ERROR]
        self.assertNotIn(failed, self.cloud.guests('compute1'))
        self.assertNotIn(failed, self.ports(uuids))


class TestPhaseFailureIsRescheduled(_BuildTestCase):
    """Two hosts, one of them failing its configure (or power-on) once:
    that instance is rebuilt on the other host; every instance of the
    request ends ACTIVE."""

    cloud_options = {'compute_hosts': ('compute1', 'compute2')}
    scenarios = TestPhaseFailsOnOneInstance.scenarios

    def test_rescheduled_to_the_other_host(self):
        self.cloud.fail_at(f'{self.flow}.{self.stage}', times=1)
        uuids = self.boot_many(2, 2)
        for uuid in uuids:
            self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        rescheduled = [u for u in uuids if 'compute.build_instance' in
                       [r['flow'] for r in self.cloud.runs(u)]]
        self.assertEqual(1, len(rescheduled))


def _volumes_made(state):
    """For kit.watch: instance UUID -> the status and holder of each
    volume its mappings name, as create_volumes left them."""
    found = {}
    for uuid, bdms in state.instance_block_device_mappings.items():
        found[uuid] = []
        for bdm in bdms:
            if bdm.get('volume_id'):
                volume = state.conductor.volume.get(None, bdm['volume_id'])
                found[uuid].append((volume['status'],
                                    volume['instance_uuid']))
    return found


class TestCreateVolumes(_BuildTestCase):
    """create_volumes: a multi-create booting from volumes made from the
    image (image -> volume mappings): every instance's volume is made
    before any host configures one, and recorded on its own mapping;
    one that cannot be made drops its instance (between min_count and
    max_count) or the whole request (fewer than min_count), and then no
    volume, claim or port is left."""

    def setUp(self):
        self.watch, self.seen = kit.watch(FLOW, '1.3', ['create_volumes'],
                                          _volumes_made)
        self.cloud_options = {'hook_objects': [self.watch]}
        super().setUp()
        self.volume_api = self.cloud.manager().services.volume

    def boot_from_volumes(self, min_count, max_count):
        return self.boot_many(min_count, max_count, image=None,
                              block_device_mapping=[{
                                  'source_type': 'image',
                                  'destination_type': 'volume',
                                  'image_id': self.cloud.image['id'],
                                  'volume_size': 1, 'boot_index': 0,
                                  'delete_on_termination': True}])

    def volumes(self):
        return self.volume_api.get_all(self.cloud.ctx)

    def mapping(self, uuid):
        (bdm,) = self.cloud.db.block_device_mapping_get_all_by_instance(
            self.cloud.ctx, uuid)
        return bdm

    def fail_volume_creates(self, count):
        """The first ``count`` volumes the volume service makes end in
        error (as Cinder's when the image cannot be copied)."""
        api = type(self.volume_api)
        real_create = api.create
        lock = threading.Lock()
        left = [count]

        def create(volumes, ctx, size, name=None, image_id=None):
            volume = real_create(volumes, ctx, size, name,
                                 image_id=image_id)
            with lock:
                fail, left[0] = left[0] > 0, left[0] - 1
            if not fail:
                return volume
            self.cloud.db.volume_update(ctx, volume['id'],
                                        {'status': 'error'})
            return dict(volume, status='error')

        self.useFixture(fixtures.MonkeyPatch(
            f'{api.__module__}.{api.__name__}.create', create))

    def test_every_volume_is_made_before_any_host_configures(self):
        uuids = self.boot_from_volumes(2, 2)
        self.assertEqual('success',
                         self.cloud.wait_for_run(uuids[0], FLOW)['status'])
        # Made by the conductor, each on its own instance's mapping,
        # available: no host had them yet.
        self.assertEqual({u: [('available', None)] for u in uuids},
                         self.seen['create_volumes'])
        for uuid in uuids:
            self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        volumes = {v['id']: v for v in self.volumes()}
        self.assertEqual(2, len(volumes))
        for uuid in uuids:
            volume = volumes[self.mapping(uuid)['volume_id']]
            self.assertEqual(('in-use', uuid),
                             (volume['status'], volume['instance_uuid']))

    def test_one_volume_failing_drops_its_instance(self):
        self.fail_volume_creates(1)
        uuids = self.boot_from_volumes(1, 2)
        self.assertEqual('success',
                         self.cloud.wait_for_run(uuids[0], FLOW)['status'])
        instances = {u: self.cloud.instance(u) for u in uuids}
        (dropped,) = [u for u, i in instances.items() if i['deleted']]
        (built,) = [u for u in uuids if u != dropped]
        self.cloud.wait_for_state(built, vm_states.ACTIVE)
        self.assertIn('its volumes: ',
                      self.cloud.faults(dropped)[0]['message'])
        self.assertIn('did not finish being created',
                      self.cloud.faults(dropped)[0]['message'])
        # Only the built one holds a volume, a claim and a port.
        (volume,) = self.volumes()
        self.assertEqual(('in-use', built),
                         (volume['status'], volume['instance_uuid']))
        self.assertEqual((512, 1, 1), self.node_usage())
        self.assertEqual([built], list(self.ports(uuids)))
        self.assertEqual([built], self.cloud.guests('compute1'))

    def test_fewer_than_min_count_nothing_is_held(self):
        self.fail_volume_creates(1)
        uuids = self.boot_from_volumes(2, 2)
        run = self.cloud.wait_for_run(uuids[0], FLOW)
        self.assertEqual('error', run['status'])
        for uuid in uuids:
            failed = self.cloud.wait_for_state(uuid, vm_states.ERROR)
            self.assertIsNone(failed['host'])
            (fault,) = self.cloud.faults(uuid)
            self.assertIn('did not finish being created', fault['message'])
            self.assertIsNone(self.mapping(uuid)['volume_id'])
        self.assertEqual([], self.volumes())
        self.assertEqual({}, self.ports(uuids))
        self.assertEqual(kit.NO_USAGE, self.node_usage())
        self.assertEqual([], self.cloud.guests('compute1'))


class ConductorDied(BaseException):
    """nova-conductor dying inside a stage (SIGKILL leaves the run
    unfinished the same way: the engine handles only Exception)."""


class DiesBeforeTheCast(hooks.Hook):
    """A vendor's stage before build_on_hosts - after claim_resources,
    allocate_networks and create_volumes, before any cast - in which
    nova-conductor dies the first time.  A ``before``, not an ``around``
    or a ``replace``: claim_resources' nothing_to_do check stays on.
    ``seen``: what it found reserved, with the claim and ports of each
    reserved instance."""

    supports = {FLOW: '1.3'}

    def __init__(self):
        self.armed = True
        self.seen = {}

    @hooks.before(f'{FLOW}.build_on_hosts')
    def check_before_the_cast(self, ctx, state):
        db_api = state.conductor.db
        for uuid in state.reserved:
            self.seen[uuid] = (
                db_api.allocation_get_by_instance(ctx, uuid) is not None,
                len(db_api.fixed_ip_get_by_instance(ctx, uuid)))
        if self.armed:
            self.armed = False
            raise ConductorDied()


class TestConductorDiesBeforeTheCast(_BuildTestCase):
    """nova-conductor dies in a stage after claim_resources, before
    build_on_hosts' cast; the next nova-conductor on its host reverts
    the run at start (init_host).

    A one-server create: claim_resources' start is held (its
    nothing_to_do check, Flow.nothing_to_do), so the crash leaves no
    record of it and recovery has no stage to revert; its failure
    handler set_error alone must end the instance.  A multi-create: the
    start is written, and claim_resources' revert gives back the claims
    and ports.  Either way every instance is ERROR with the
    interruption as its fault and no task, the run is reverted (not
    ``running``), its create action finished as Error, and no claim,
    port or guest is left.

    The run is this test's own ConductorManager's (host ``HOST``), with
    the flows loaded as a deployment loads them: without the kit's
    fault injection, whose ``around`` on every stage turns the
    nothing_to_do checks off.  The request is what nova-api casts,
    handed to it directly; the kit's conductor never sees it.
    """

    HOST = 'conductor2'

    def setUp(self):
        super().setUp()
        self.hook = DiesBeforeTheCast()
        self.cast = self.useFixture(fixtures.MockPatch(
            'nova.conductor.rpcapi.ConductorAPI.build_instances')).mock

    def conductor(self):
        """A nova-conductor process on ``HOST`` as (re)started: its own
        recorder and engine, the hook enabled, nothing in memory."""
        services = self.cloud.conductor().services
        recorder = db_recorder.DBRecorder(self.HOST)
        return conductor_manager.ConductorManager(
            self.HOST, db, recorder, network=services.network,
            volume=services.volume, image=services.image,
            notifier=services.notifier, engine=FlowEngine.load(
                hook_objects=[self.hook], recorder=recorder,
                host=self.HOST))

    def crash_and_recover(self, count):
        """A create request of ``count`` servers whose conductor dies
        before the cast, then a restarted conductor; the servers' UUIDs
        and the stages whose start was written before the crash."""
        uuids = self.boot_many(count, count)
        (ctx, instances), kwargs = self.cast.call_args
        self.assertRaises(ConductorDied, self.conductor().build_instances,
                          ctx, instances, **kwargs)
        # Cut after claim_resources (the instances reserved; a
        # multi-create's claims and ports held), before any cast.
        self.assertEqual({u: (count > 1, int(count > 1)) for u in uuids},
                         self.hook.seen)
        (run,) = self.cloud.runs(uuids[0], FLOW)
        self.assertEqual(('running', self.HOST),
                         (run['status'], run['host']))
        written = [e['event'] for e in db.action_events_get(
            self.cloud.ctx, run['action_id']) if e['run_id'] == run['id']]
        for uuid in uuids:
            instance = self.cloud.instance(uuid)
            self.assertEqual((vm_states.BUILDING, 'scheduling', None),
                             (instance['vm_state'], instance['task_state'],
                              instance['host']))

        self.conductor().init_host()
        return uuids, written

    def assert_ended_in_error_holding_nothing(self, uuids):
        self.assertEqual('reverted',
                         self.cloud.wait_for_run(uuids[0], FLOW)['status'])
        for uuid in uuids:
            failed = self.cloud.instance(uuid)
            self.assertEqual((vm_states.ERROR, None, None),
                             (failed['vm_state'], failed['task_state'],
                              failed['host']))
            (fault,) = self.cloud.faults(uuid)
            self.assertEqual('Interrupted', fault['message'])
            (action,) = db.actions_get(self.cloud.ctx, uuid)
            self.assertEqual(('create', 'Error'),
                             (action['action'], action['message']))
            self.assertIsNotNone(action['finish_time'])
            self.assertIsNone(db.allocation_get_by_instance(self.cloud.ctx,
                                                            uuid))
        self.assertEqual({}, self.ports(uuids))
        self.assertEqual(kit.NO_USAGE, self.node_usage())
        self.assertEqual([], self.cloud.guests('compute1'))
        self.assertEqual([], db_recorder.DBRecorder().unfinished_runs(
            self.cloud.ctx, self.HOST))

    def test_one_server_ends_in_error_by_the_failure_handler(self):
        uuids, written = self.crash_and_recover(1)
        self.assertNotIn(f'{FLOW}.claim_resources', written)
        self.assertEqual([], self.cloud.reverted_stages(uuids[0], FLOW))
        self.assert_ended_in_error_holding_nothing(uuids)

    def test_multi_create_is_reverted(self):
        uuids, written = self.crash_and_recover(2)
        self.assertIn(f'{FLOW}.claim_resources', written)
        self.assertEqual([f'{FLOW}.claim_resources'],
                         self.cloud.reverted_stages(uuids[0], FLOW))
        self.assert_ended_in_error_holding_nothing(uuids)
