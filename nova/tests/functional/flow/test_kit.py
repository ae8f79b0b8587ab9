"""nova.flow.testing, the kit vendors test their hooks with.

The kit's own tests use it as a vendor would: the example hook enabled by
entry point name, a hook object given directly, an injected failure, and
the record helpers.  They also prove the promise of ``around`` on a
sub-flow: a hook may run ``compute.build_instance.spawn`` again after a
failure, within one run.
"""

from __future__ import annotations

from nova import test
from nova.compute import vm_states
from nova.flow import hooks, testing

BUILD = 'compute.build_instance'
SAUCE = 'example_special_sauce'
BUILD_STAGES = [
    'check_instance_not_already_created', 'check_image_size',
    'notify_usage_start', 'update_building', 'claim_resources',
    'validate_instance_group_policy', 'allocate_network',
    'create_volumes', 'prep_block_device', 'spawn.update_spawning',
    'spawn.add_special_sauce', 'spawn.driver_spawn', 'spawn.update_active',
    'notify_usage_end']


class TestKitWithAnInstalledHook(test.TestCase):

    def setUp(self):
        super().setUp()
        self.cloud = self.useFixture(testing.FlowTestCloud(hooks=[SAUCE]))

    def test_stages_that_ran_include_the_hooks(self):
        uuid = self.cloud.boot()['uuid']
        self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        self.cloud.assert_stages_ran(uuid, BUILD, BUILD_STAGES)
        self.assertEqual(1, self.cloud.hook(SAUCE).sauce_added)
        events = self.cloud.events(uuid, 'create')
        self.assertIn((f'{BUILD}.spawn.add_special_sauce', 'Success'),
                      events)

    def test_assert_stages_ran_says_what_differs(self):
        uuid = self.cloud.boot()['uuid']
        self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        error = self.assertRaises(
            AssertionError, self.cloud.assert_stages_ran, uuid, BUILD,
            BUILD_STAGES[:-1])
        self.assertIn('expected:', str(error))

    def test_injected_failure_reverts_the_hooks_stage(self):
        self.cloud.fail_at(f'{BUILD}.spawn.driver_spawn')
        uuid = self.cloud.boot()['uuid']
        self.cloud.wait_for_state(uuid, vm_states.ERROR)
        self.assertEqual(
            [f'{BUILD}.spawn.driver_spawn', f'{BUILD}.spawn.add_special_sauce',
             f'{BUILD}.prep_block_device', f'{BUILD}.create_volumes',
             f'{BUILD}.allocate_network', f'{BUILD}.claim_resources'],
            self.cloud.reverted_stages(uuid, BUILD))
        self.assertEqual(1, self.cloud.hook(SAUCE).sauce_removed)
        self.assertIn((f'{BUILD}.spawn.driver_spawn', 'Error'),
                      self.cloud.events(uuid, 'create'))
        self.assertEqual('InjectedFailure',
                         self.cloud.faults(uuid)[-1]['message'])

    def test_hook_options_are_set_through_the_kit(self):
        self.cloud.config(group=f'hook:{SAUCE}', recipe='hot')
        uuid = self.cloud.boot()['uuid']
        self.cloud.wait_for_state(uuid, vm_states.ACTIVE)
        self.assertEqual('hot', self.cloud.hook(SAUCE).last_recipe)


class TestKitHookOptionsAtCreation(test.TestCase):

    def test_hook_option_given_to_the_fixture_is_set_before_start(self):
        cloud = self.useFixture(testing.FlowTestCloud(
            hooks=[SAUCE], **{f'hook:{SAUCE}__recipe': 'mild'}))
        self.assertEqual('mild', cloud.hook(SAUCE).conf.recipe)
        uuid = cloud.boot()['uuid']
        cloud.wait_for_state(uuid, vm_states.ACTIVE)
        self.assertEqual('mild', cloud.hook(SAUCE).last_recipe)


class RetrySpawn(hooks.Hook):
    """Runs the spawn sub-flow again once when it fails."""

    supports = {BUILD: '1.0'}

    def __init__(self):
        self.attempts = 0

    @hooks.around(f'{BUILD}.spawn')
    def retry(self, ctx, state, proceed):
        self.attempts += 1
        try:
            return proceed()
        except testing.InjectedFailure:
            self.attempts += 1
            return proceed()


class Refuse(hooks.Hook):
    supports = {BUILD: '1.0'}

    @hooks.before(f'{BUILD}.claim_resources')
    def check_quota_elsewhere(self, ctx, state):
        raise hooks.RunRefused('Your vendor quota is used up.')


class TestKitWithHookObjects(test.TestCase):

    def test_around_retries_the_spawn_sub_flow(self):
        hook = RetrySpawn()
        cloud = self.useFixture(testing.FlowTestCloud(hook_objects=[hook]))
        cloud.fail_at(f'{BUILD}.spawn.driver_spawn', times=1)
        uuid = cloud.boot()['uuid']
        cloud.wait_for_state(uuid, vm_states.ACTIVE)
        self.assertEqual(2, hook.attempts)
        ran = cloud.stages_run(uuid, BUILD)
        # One event per stage: the second attempt's stages update them.
        self.assertEqual(f'{BUILD}.spawn.update_active', ran[-2])
        self.assertEqual('success', cloud.runs(uuid, BUILD)[-1]['status'])
        self.assertTrue(cloud.manager().driver.instance_exists(
            {'uuid': uuid}))

    def test_refusal_from_a_hook_object(self):
        cloud = self.useFixture(testing.FlowTestCloud(
            hook_objects=[Refuse()], compute_hosts=('compute1', 'compute2')))
        uuid = cloud.boot()['uuid']
        cloud.wait_for_state(uuid, vm_states.ERROR)
        self.assertEqual('Your vendor quota is used up.',
                         cloud.faults(uuid)[0]['message'])
        self.assertEqual(1, len(cloud.runs(uuid, BUILD)))


class TestPytestFixture(test.TestCase):

    def test_generator_sets_up_and_cleans_up(self):
        fixture = testing.pytest_cloud(hooks=[SAUCE])
        generator = fixture()
        cloud = next(generator)
        uuid = cloud.boot()['uuid']
        cloud.wait_for_state(uuid, vm_states.ACTIVE)
        self.assertRaises(StopIteration, next, generator)
        # Cleaned up: its messaging is gone with it.
        from nova import rpc
        self.assertFalse(rpc.initialized())
