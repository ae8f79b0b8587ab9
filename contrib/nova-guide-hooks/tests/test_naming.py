"""guide_naming with nova's hook test kit (vendor guide, section 4)."""

import testtools

from nova.flow import testing

BUILD = 'compute.build_instance'
HOOK = 'guide_naming'


class TestNamingPolicy(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.cloud = self.useFixture(testing.FlowTestCloud(hooks=[HOOK]))

    def test_check_runs_right_before_the_claim(self):
        uuid = self.cloud.boot(name='web-1')['uuid']
        self.cloud.wait_for_state(uuid, 'active')
        ran = self.cloud.stages_run(uuid, BUILD)
        self.assertEqual(f'{BUILD}.check_name',
                         ran[ran.index(f'{BUILD}.claim_resources') - 1])
        self.assertIn((f'{BUILD}.check_name', 'Success'),
                      self.cloud.events(uuid, 'create'))
        self.assertEqual((set(), 1), (self.cloud.hook(HOOK).pending,
                                      self.cloud.hook(HOOK).built))

    def test_reserved_name_is_refused_with_the_hooks_message(self):
        uuid = self.cloud.boot(name='reserved-db')['uuid']
        self.cloud.wait_for_state(uuid, 'error')
        self.assertEqual(
            'Server names starting with "reserved-" are reserved on this '
            'cloud; choose another name.',
            self.cloud.faults(uuid)[0]['message'])
        self.assertNotIn(f'{BUILD}.claim_resources',
                         self.cloud.stages_run(uuid, BUILD))
        self.assertEqual(0, self.cloud.hook(HOOK).built)

    def test_prefix_is_the_hooks_option(self):
        self.cloud.config(group=f'hook:{HOOK}', reserved_prefix='infra-')
        refused = self.cloud.boot(name='infra-dns')['uuid']
        allowed = self.cloud.boot(name='reserved-db')['uuid']
        self.cloud.wait_for_state(refused, 'error')
        self.cloud.wait_for_state(allowed, 'active')

    def test_forgotten_when_the_spawn_fails(self):
        self.cloud.fail_at(f'{BUILD}.spawn.driver_spawn')
        uuid = self.cloud.boot(name='web-2')['uuid']
        self.cloud.wait_for_state(uuid, 'error')
        self.assertIn(f'{BUILD}.check_name',
                      self.cloud.reverted_stages(uuid, BUILD))
        self.assertEqual((set(), 0), (self.cloud.hook(HOOK).pending,
                                      self.cloud.hook(HOOK).built))
