"""The ComputeDriver base class and load_compute_driver."""

import inspect
import os
import sys

import fixtures
import testtools
from oslo_config import cfg

import nova.conf.fake_driver
import nova.conf.virt
from nova import exception, test
from nova.compute import power_state
from nova.virt import driver, fake

# Base-class methods with a working default; every other public method
# raises NotImplementedError.
DEFAULTS = {'cleanup_host', 'node_is_available', 'instance_exists',
            'get_num_instances', 'manage_image_cache', 'instance_on_disk',
            'configure_guest', 'power_on_configured', 'unconfigure_guest'}


def make_conf(**fake_opts):
    conf = cfg.ConfigOpts()
    nova.conf.virt.register_opts(conf)
    nova.conf.fake_driver.register_opts(conf)
    conf([])
    for name, value in fake_opts.items():
        conf.set_override(name, value, group='fake_driver')
    return conf


def public_methods(cls):
    return {name for name, member in inspect.getmembers(cls)
            if callable(member) and not name.startswith('_')}


class Lister(driver.ComputeDriver):

    def list_instance_uuids(self):
        return ['a', 'b']

    def get_available_nodes(self, refresh=False):
        return ['n1']


class TestComputeDriverDefaults(test.TestCase):

    def setUp(self):
        super().setUp()
        self.driver = driver.ComputeDriver(conf=make_conf())

    def test_unimplemented_methods_raise_not_implemented(self):
        methods = public_methods(driver.ComputeDriver) - DEFAULTS
        self.assertIn('spawn', methods)
        self.assertIn('rebuild', methods)
        for name in sorted(methods):
            method = getattr(self.driver, name)
            required = [p for p in inspect.signature(method).parameters
                        .values() if p.default is inspect.Parameter.empty]
            with testtools.ExpectedException(NotImplementedError,
                                             msg=name):
                method(*[None] * len(required))

    def test_instance_exists_default_uses_list_instance_uuids(self):
        lister = Lister(conf=make_conf())
        self.assertTrue(lister.instance_exists({'uuid': 'a'}))
        self.assertFalse(lister.instance_exists({'uuid': 'c'}))

    def test_instance_on_disk_default_is_no_shared_storage(self):
        self.assertFalse(self.driver.instance_on_disk({'uuid': 'a'}))

    def test_get_num_instances_default_counts_uuids(self):
        self.assertEqual(2, Lister(conf=make_conf()).get_num_instances())

    def test_node_is_available_default_uses_available_nodes(self):
        lister = Lister(conf=make_conf())
        self.assertTrue(lister.node_is_available('n1'))
        self.assertFalse(lister.node_is_available('n2'))

    def test_host_hooks_with_defaults_do_nothing(self):
        self.assertIsNone(self.driver.cleanup_host('h'))
        self.assertIsNone(self.driver.manage_image_cache(None, []))

    def test_instance_attr_reads_dicts_and_objects(self):
        class Row:
            uuid = 'u2'
            memory_mb = 64

        self.assertEqual('u1', driver.instance_uuid({'uuid': 'u1'}))
        self.assertEqual('u2', driver.instance_uuid(Row()))
        self.assertEqual(64, driver.instance_attr(Row(), 'memory_mb'))
        self.assertEqual(7, driver.instance_attr({}, 'vcpus', 7))
        self.assertEqual(7, driver.instance_attr(Row(), 'vcpus', 7))

    def test_fake_driver_implements_every_method_but_rebuild(self):
        # The fake must keep up with the API, or flows tested on it would
        # hit NotImplementedError only with a real driver. rebuild stays
        # unimplemented so the flows' destroy + spawn fallback is used.
        missing = {name for name in public_methods(driver.ComputeDriver)
                   if getattr(fake.FakeDriver, name) is
                   getattr(driver.ComputeDriver, name)}
        self.assertEqual({'rebuild', 'cleanup_host', 'node_is_available',
                          'get_num_instances', 'manage_image_cache',
                          # Boot in phases: the base's, over spawn and
                          # power_on, for every driver.
                          'configure_guest', 'power_on_configured',
                          'unconfigure_guest'},
                         missing)


class SpawnOnly(driver.ComputeDriver):
    """A driver that cannot define a guest without starting it: it
    implements spawn only (and ignores power_on=False)."""

    def __init__(self, conf):
        super().__init__(conf=conf)
        self.spawned = []

    def spawn(self, context, instance, image_meta, injected_files,
              admin_password, allocations, network_info=None,
              block_device_info=None, power_on=True):
        self.spawned.append((instance['uuid'], image_meta['id'],
                             admin_password, network_info, power_on))


class SpawnAndDestroy(SpawnOnly):

    def destroy(self, context, instance, network_info,
                block_device_info=None, destroy_disks=True):
        self.spawned = [s for s in self.spawned if s[0] != instance['uuid']]


class TestBootInPhasesDefault(test.TestCase):
    """configure_guest / power_on_configured for a driver without
    supports_deferred_power_on: nothing at configure, the whole spawn
    at power on."""

    def setUp(self):
        super().setUp()
        self.driver = SpawnOnly(make_conf())
        self.instance = {'uuid': 'u1'}
        self.vifs = [{'id': 'p1'}]

    def test_no_deferred_power_on_by_default(self):
        self.assertFalse(driver.ComputeDriver.capabilities[
            'supports_deferred_power_on'])
        self.assertFalse(self.driver.capabilities[
            'supports_deferred_power_on'])

    def test_configure_does_nothing_on_the_hypervisor(self):
        self.driver.configure_guest(None, self.instance, {'id': 'img'},
                                    None, 'secret', None,
                                    network_info=self.vifs)
        self.assertEqual([], self.driver.spawned)

    def test_power_on_does_the_whole_spawn_with_the_configured_args(self):
        self.driver.configure_guest(None, self.instance, {'id': 'img'},
                                    None, 'secret', None,
                                    network_info=self.vifs)
        self.driver.power_on_configured(None, self.instance, self.vifs)
        self.assertEqual([('u1', 'img', 'secret', self.vifs, True)],
                         self.driver.spawned)
        # The kept arguments are gone: a second power on finds nothing.
        self.assertRaises(exception.InstanceNotFound,
                          self.driver.power_on_configured, None,
                          self.instance, self.vifs)

    def test_power_on_of_what_was_never_configured_is_not_found(self):
        # As after a nova-compute restart between the phases.
        self.assertRaises(exception.InstanceNotFound,
                          self.driver.power_on_configured, None,
                          self.instance, self.vifs)
        self.assertEqual([], self.driver.spawned)

    def test_unconfigure_forgets_and_destroys(self):
        spawner = SpawnAndDestroy(make_conf())
        spawner.configure_guest(None, self.instance, {'id': 'img'}, None,
                                None, None)
        spawner.unconfigure_guest(None, self.instance, None)
        self.assertRaises(exception.InstanceNotFound,
                          spawner.power_on_configured, None,
                          self.instance, None)
        self.assertEqual([], spawner.spawned)


class TestBootInPhasesFake(test.TestCase):
    """The fake driver splits: configure defines the guest stopped,
    power on starts it."""

    def setUp(self):
        super().setUp()
        self.driver = fake.FakeDriver(conf=make_conf())
        self.driver.init_host('h1')
        self.instance = {'uuid': 'u1', 'memory_mb': 64, 'vcpus': 1,
                         'root_gb': 1}

    def test_configure_defines_stopped_then_power_on_starts(self):
        self.assertTrue(self.driver.capabilities[
            'supports_deferred_power_on'])
        self.driver.configure_guest(None, self.instance, {'id': 'img'},
                                    None, None, None, network_info=[])
        self.assertEqual(power_state.SHUTDOWN,
                         self.driver.get_info(self.instance).state)
        self.driver.power_on_configured(None, self.instance, [])
        self.assertEqual(power_state.RUNNING,
                         self.driver.get_info(self.instance).state)
        self.driver.unconfigure_guest(None, self.instance, [])
        self.assertFalse(self.driver.instance_exists(self.instance))


class TestLoadComputeDriver(test.TestCase):

    def test_default_option_loads_the_fake_driver(self):
        conf = make_conf()
        self.assertEqual('fake.FakeDriver', conf.compute_driver)
        loaded = driver.load_compute_driver(conf, virtapi='api')
        self.assertIsInstance(loaded, fake.FakeDriver)
        self.assertEqual('api', loaded.virtapi)
        self.assertIs(conf, loaded.conf)

    def test_full_dotted_path_loads_too(self):
        loaded = driver.load_compute_driver(
            make_conf(), compute_driver='nova.virt.fake.FakeDriver')
        self.assertIsInstance(loaded, fake.FakeDriver)

    def test_unknown_module_error_names_the_option(self):
        conf = make_conf()
        conf.set_override('compute_driver', 'nope.NopeDriver')
        error = self.assertRaises(driver.DriverLoadError,
                                  driver.load_compute_driver, conf)
        self.assertIn('[DEFAULT] compute_driver', str(error))
        self.assertIn('nope.NopeDriver', str(error))
        self.assertIn('no module nova.virt.nope or nope', str(error))

    def test_missing_class_is_reported(self):
        error = self.assertRaises(
            driver.DriverLoadError, driver.load_compute_driver,
            make_conf(), compute_driver='fake.NopeDriver')
        self.assertIn('module nova.virt.fake has no class NopeDriver',
                      str(error))

    def test_class_that_is_not_a_driver_is_refused(self):
        error = self.assertRaises(
            driver.DriverLoadError, driver.load_compute_driver,
            make_conf(), compute_driver='driver.InstanceInfo')
        self.assertIn('is not a nova.virt.driver.ComputeDriver', str(error))

    def test_broken_driver_module_reports_its_import_error(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        with open(os.path.join(tmp, 'broken_nova_driver.py'), 'w') as f:
            f.write('import not_installed_hypervisor_binding\n')
        self.useFixture(fixtures.MonkeyPatch('sys.path', [tmp] + sys.path))
        self.addCleanup(sys.modules.pop, 'broken_nova_driver', None)
        error = self.assertRaises(
            driver.DriverLoadError, driver.load_compute_driver, make_conf(),
            compute_driver='broken_nova_driver.Driver')
        self.assertIn('importing broken_nova_driver failed', str(error))
        self.assertIn('not_installed_hypervisor_binding', str(error))

    def test_driver_constructor_error_names_the_option(self):
        conf = make_conf(fail_methods=['spwan'])
        error = self.assertRaises(driver.DriverLoadError,
                                  driver.load_compute_driver, conf)
        self.assertIn('[DEFAULT] compute_driver', str(error))
        self.assertIn("[fake_driver] fail_methods: 'spwan'", str(error))

    def test_unset_option_is_reported(self):
        conf = make_conf()
        conf.set_override('compute_driver', '')
        error = self.assertRaises(driver.DriverLoadError,
                                  driver.load_compute_driver, conf)
        self.assertIn('not set', str(error))
