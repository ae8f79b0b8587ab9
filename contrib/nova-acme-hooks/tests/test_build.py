import fixtures
import testtools

from nova.flow import testing

BUILD = 'compute.build_instance'
TERMINATE = 'compute.terminate_instance'


class TestAcmeBuildPolicy(testtools.TestCase):

    with_api = False

    def setUp(self):
        super().setUp()
        self.ledger_dir = self.useFixture(fixtures.TempDir()).path
        self.cloud = self.useFixture(
            testing.FlowTestCloud(hooks=['acme_build'],
                                  with_api=self.with_api))
        self.cloud.config(group='hook:acme_build',
                          ledger_dir=self.ledger_dir)
        self.hook = self.cloud.hook('acme_build')

    def test_stages_run_around_the_claim(self):
        uuid = self.cloud.boot(name='web-1')['uuid']
        self.cloud.wait_for_state(uuid, 'active')
        ran = self.cloud.stages_run(uuid, BUILD)
        i = ran.index(f'{BUILD}.claim_resources')
        self.assertEqual(f'{BUILD}.acme_check_name', ran[i - 1])
        self.assertEqual(f'{BUILD}.acme_ledger', ran[i + 1])
        self.assertIn(uuid, self.hook.ledger())
        self.assertEqual('web-1', self.hook.ledger()[uuid]['name'])

    def test_events_list_our_stages(self):
        uuid = self.cloud.boot(name='web-2')['uuid']
        self.cloud.wait_for_state(uuid, 'active')
        events = dict(self.cloud.events(uuid, 'create'))
        self.assertEqual('Success', events.get(f'{BUILD}.acme_check_name'),
                         events)
        self.assertEqual('Success', events.get(f'{BUILD}.acme_ledger'),
                         events)

    def test_forbidden_name_is_refused_with_our_message(self):
        uuid = self.cloud.boot(name='forbidden-web')['uuid']
        self.cloud.wait_for_state(uuid, 'error')
        ran = self.cloud.stages_run(uuid, BUILD)
        self.assertIn(f'{BUILD}.acme_check_name', ran)
        self.assertNotIn(f'{BUILD}.claim_resources', ran)
        messages = [str(f.get('message') if isinstance(f, dict) else f)
                    for f in self.cloud.faults(uuid)]
        self.assertTrue(
            any('ACME policy: server names starting with "forbidden-"'
                in m for m in messages), messages)
        self.assertNotIn(uuid, self.hook.ledger())
        self.assertEqual('failure', self.hook.outcomes[-1][2])

    def test_option_changes_the_prefix(self):
        self.cloud.config(group='hook:acme_build', forbidden_prefix='tmp-')
        ok = self.cloud.boot(name='forbidden-but-allowed-now')['uuid']
        self.cloud.wait_for_state(ok, 'active')
        bad = self.cloud.boot(name='tmp-x')['uuid']
        self.cloud.wait_for_state(bad, 'error')

    def test_ledger_is_reverted_when_the_spawn_fails(self):
        self.cloud.fail_at(f'{BUILD}.spawn.driver_spawn')
        uuid = self.cloud.boot(name='web-3')['uuid']
        self.cloud.wait_for_state(uuid, 'error')
        self.assertIn(f'{BUILD}.acme_ledger',
                      self.cloud.reverted_stages(uuid, BUILD))
        self.assertNotIn(uuid, self.hook.ledger())
        self.assertEqual('failure', self.hook.outcomes[-1][2])



class TestAcmeBuildPolicyThroughTheAPI(TestAcmeBuildPolicy):
    with_api = True

    # Only the test below needs the API: do not run the others twice.
    def test_stages_run_around_the_claim(self): pass
    def test_events_list_our_stages(self): pass
    def test_forbidden_name_is_refused_with_our_message(self): pass
    def test_option_changes_the_prefix(self): pass
    def test_ledger_is_reverted_when_the_spawn_fails(self): pass

    def test_delete_removes_the_ledger_entry(self):
        uuid = self.cloud.boot(name='web-4')['uuid']
        self.cloud.wait_for_state(uuid, 'active')
        self.assertIn(uuid, self.hook.ledger())
        status, body = self.cloud.api('DELETE', f'/servers/{uuid}')
        self.assertEqual(204, status, body)
        self.cloud.wait_for_state(uuid, 'deleted')
        ran = self.cloud.stages_run(uuid, TERMINATE)
        self.assertEqual(f'{TERMINATE}.acme_ledger_remove',
                         ran[ran.index(f'{TERMINATE}.mark_deleted') + 1])
        self.assertNotIn(uuid, self.hook.ledger())

