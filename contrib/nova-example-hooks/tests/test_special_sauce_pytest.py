"""The example hook's tests in pytest's own style: the kit's
``pytest_cloud`` fixture, plain functions and asserts.

Run with pytest from this package's directory (nova's environment with
the hook installed)::

    python -m pytest tests

(``python -m unittest discover`` finds no test case here and runs the
testtools ones of test_special_sauce.py.)
"""

import pytest

from nova.flow import testing

BUILD = 'compute.build_instance'
HOOK = 'example_special_sauce'

cloud = pytest.fixture(testing.pytest_cloud(hooks=[HOOK]))


def test_sauce_is_added_right_before_the_driver_spawns(cloud):
    uuid = cloud.boot()['uuid']
    cloud.wait_for_state(uuid, 'active')
    ran = cloud.stages_run(uuid, BUILD)
    spawn = ran.index(f'{BUILD}.spawn.driver_spawn')
    assert ran[spawn - 1] == f'{BUILD}.spawn.add_special_sauce'
    assert cloud.hook(HOOK).sauce_added == 1


def test_sauce_is_taken_off_when_the_spawn_fails(cloud):
    cloud.fail_at(f'{BUILD}.spawn.driver_spawn')
    uuid = cloud.boot()['uuid']
    cloud.wait_for_state(uuid, 'error')
    assert f'{BUILD}.spawn.add_special_sauce' in cloud.reverted_stages(
        uuid, BUILD)
    assert cloud.hook(HOOK).sauce_removed == 1
