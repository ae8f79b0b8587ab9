"""The same kit through pytest (vendor guide, section 4, last paragraph)."""
import pytest

from nova.flow import testing

BUILD = 'compute.build_instance'

cloud = pytest.fixture(testing.pytest_cloud(hooks=['acme_build']))


def test_forbidden_name_refused(cloud, tmp_path):
    cloud.config(group='hook:acme_build', ledger_dir=str(tmp_path))
    uuid = cloud.boot(name='forbidden-pytest')['uuid']
    cloud.wait_for_state(uuid, 'error')
    assert f'{BUILD}.acme_check_name' in cloud.stages_run(uuid, BUILD)
    assert ('Success' not in
            dict(cloud.events(uuid, 'create'))[f'{BUILD}.acme_check_name'])


def test_normal_build_recorded(cloud, tmp_path):
    cloud.config(group='hook:acme_build', ledger_dir=str(tmp_path))
    uuid = cloud.boot(name='ok-pytest')['uuid']
    cloud.wait_for_state(uuid, 'active')
    assert uuid in cloud.hook('acme_build').ledger()
