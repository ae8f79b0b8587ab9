"""The example hook's own tests, written with nova's hook test kit.

Run from this directory with the hook installed into nova's environment::

    python -m unittest discover -s tests -t .

They need nothing but nova and this package: the kit starts nova's
services in the test process (fake driver, SQLite, in-process
messaging) with the hook enabled by its entry point name.
"""

import unittest

import testtools

from nova.flow import testing

BUILD = 'compute.build_instance'
HOOK = 'example_special_sauce'


class TestSpecialSauce(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.cloud = self.useFixture(testing.FlowTestCloud(hooks=[HOOK]))

    def test_sauce_is_added_right_before_the_driver_spawns(self):
        uuid = self.cloud.boot()['uuid']
        self.cloud.wait_for_state(uuid, 'active')
        ran = self.cloud.stages_run(uuid, BUILD)
        spawn = ran.index(f'{BUILD}.spawn.driver_spawn')
        self.assertEqual(f'{BUILD}.spawn.add_special_sauce', ran[spawn - 1])
        hook = self.cloud.hook(HOOK)
        self.assertEqual((1, 0), (hook.sauce_added, hook.sauce_removed))
        self.assertEqual({'run_start': 1, 'run_success': 1},
                         dict(hook.run_events))
        self.assertEqual(1, hook.network_calls)

    def test_sauce_is_taken_off_when_the_spawn_fails(self):
        self.cloud.fail_at(f'{BUILD}.spawn.driver_spawn')
        uuid = self.cloud.boot()['uuid']
        self.cloud.wait_for_state(uuid, 'error')
        self.assertIn(f'{BUILD}.spawn.add_special_sauce',
                      self.cloud.reverted_stages(uuid, BUILD))
        hook = self.cloud.hook(HOOK)
        self.assertEqual((1, 1), (hook.sauce_added, hook.sauce_removed))
        self.assertEqual(1, hook.run_events['run_failure'])

    def test_a_failure_before_the_sauce_leaves_it_alone(self):
        self.cloud.fail_at(f'{BUILD}.claim_resources')
        uuid = self.cloud.boot()['uuid']
        self.cloud.wait_for_state(uuid, 'error')
        self.assertNotIn(f'{BUILD}.spawn.add_special_sauce',
                         self.cloud.stages_run(uuid, BUILD))
        self.assertEqual(0, self.cloud.hook(HOOK).sauce_added)

    def test_recipe_option(self):
        self.cloud.config(group=f'hook:{HOOK}', recipe='hot')
        uuid = self.cloud.boot()['uuid']
        self.cloud.wait_for_state(uuid, 'active')
        self.assertEqual('hot', self.cloud.hook(HOOK).last_recipe)


if __name__ == '__main__':
    unittest.main()
