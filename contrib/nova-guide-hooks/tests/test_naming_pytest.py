"""guide_naming through pytest: the kit's ``pytest_cloud`` fixture."""

import pytest

from nova.flow import testing

BUILD = 'compute.build_instance'

cloud = pytest.fixture(testing.pytest_cloud(hooks=['guide_naming']))


def test_reserved_name_refused(cloud):
    uuid = cloud.boot(name='reserved-pytest')['uuid']
    cloud.wait_for_state(uuid, 'error')
    assert cloud.faults(uuid)[0]['message'].startswith(
        'Server names starting with "reserved-"')
