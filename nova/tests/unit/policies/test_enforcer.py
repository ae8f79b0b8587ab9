"""nova's oslo.policy enforcer: policy files and defaults merged at most
once per RULES_TTL, check signatures looked up once per class, plugin check
kinds imported when a rule uses them."""

from __future__ import annotations

import os
from unittest import mock

import fixtures
from oslo_config import fixture as config_fixture

import nova.conf
from nova import context, exception, test
from nova.policies import enforcer

CONF = nova.conf.CONF


class _EnforcerTest(test.TestCase):

    def setUp(self):
        super().setUp()
        CONF([], project='nova', default_config_files=[])
        # The [oslo_policy] options exist once an enforcer was made.
        enforcer.get_enforcer()
        enforcer.reset()
        self.config = self.useFixture(config_fixture.Config(CONF))
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.config.config(group='oslo_policy', policy_file=os.path.join(
            self.tmp, 'policy.yaml'), policy_dirs=[])
        enforcer.reset()
        self.addCleanup(enforcer.reset)
        self.clock = 1000.0
        self.useFixture(fixtures.MockPatch(
            'nova.policies.enforcer.time.monotonic', lambda: self.clock))
        self.member = context.RequestContext('u1', 'p1', roles=['member'])

    def allowed(self, rule='os_compute_api:os-services:list'):
        return enforcer.authorize(self.member, rule, fatal=False)


class TestPolicyFileLookup(_EnforcerTest):

    def test_missing_file_is_looked_for_once_per_ttl(self):
        with mock.patch.object(CONF, 'find_file',
                               wraps=CONF.find_file) as find:
            for _ in range(5):
                self.allowed()
            self.assertEqual(1, find.call_count)
            self.clock += enforcer.RULES_TTL + 0.1
            self.allowed()
            self.assertEqual(2, find.call_count)

    def test_file_added_later_is_picked_up_after_the_ttl(self):
        self.assertFalse(self.allowed())
        with open(os.path.join(self.tmp, 'policy.yaml'), 'w') as f:
            f.write('"os_compute_api:os-services:list": "role:member"\n')
        self.clock += enforcer.RULES_TTL + 0.1
        self.assertTrue(self.allowed())

    def test_rules_are_loaded_once_per_ttl(self):
        from oslo_policy import policy
        with mock.patch.object(policy.Enforcer, 'load_rules',
                               autospec=True,
                               side_effect=policy.Enforcer.load_rules
                               ) as load:
            for _ in range(5):
                self.allowed()
            self.assertEqual(1, load.call_count)
            self.clock += enforcer.RULES_TTL + 0.1
            self.allowed()
            self.assertEqual(2, load.call_count)
            enforcer.get_enforcer().load_rules(force_reload=True)
            self.assertEqual(3, load.call_count)

    def test_changed_file_is_picked_up_after_the_ttl(self):
        path = os.path.join(self.tmp, 'policy.yaml')
        with open(path, 'w') as f:
            f.write('"os_compute_api:os-services:list": "role:member"\n')
        self.assertTrue(self.allowed())
        written = os.stat(path).st_mtime
        with open(path, 'w') as f:
            f.write('"os_compute_api:os-services:list": "role:nobody"\n')
        # oslo.policy notices a change by a newer mtime; within the same
        # clock tick the rewrite may not have one.
        os.utime(path, (written + 10, written + 10))
        self.clock += enforcer.RULES_TTL + 0.1
        self.assertFalse(self.allowed())

    def test_default_registered_later_is_enforced_at_once(self):
        from oslo_policy import policy
        self.allowed()
        enforcer.get_enforcer().register_default(
            policy.RuleDefault('nova:test:late', 'role:member'))
        self.assertTrue(enforcer.authorize(self.member, 'nova:test:late',
                                           fatal=False))


class TestDecisions(_EnforcerTest):

    def test_decisions_unchanged(self):
        admin = context.RequestContext('admin', 'p1', is_admin=True,
                                       roles=['admin', 'member', 'reader'])
        self.assertFalse(self.allowed())
        self.assertTrue(enforcer.authorize(
            admin, 'os_compute_api:os-services:list', fatal=False))
        self.assertRaises(exception.PolicyNotAuthorized, enforcer.authorize,
                          self.member, 'os_compute_api:os-services:list')


class TestPluginRules(_EnforcerTest):

    def test_a_rule_using_a_plugin_kind_still_parses_to_it(self):
        from oslo_policy import _external
        with open(os.path.join(self.tmp, 'policy.yaml'), 'w') as f:
            f.write('"os_compute_api:os-services:list": '
                    '"http://127.0.0.1:9/check"\n')
        policy_enforcer = enforcer.get_enforcer()
        policy_enforcer.load_rules()
        self.assertIsInstance(
            policy_enforcer.rules['os_compute_api:os-services:list'],
            _external.HttpCheck)
