"""nova's oslo.policy enforcer: policy files and defaults merged at most
once per RULES_TTL, check signatures looked up once per class, plugin check
kinds imported when a rule uses them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from unittest import mock

import fixtures
import testtools
from oslo_config import fixture as config_fixture
from oslo_policy import _checks

import nova.conf
from nova import context, exception
from nova.policies import enforcer, rule_checks

CONF = nova.conf.CONF


class _EnforcerTest(testtools.TestCase):

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


class _LegacyCheck(_checks.Check):
    def __call__(self, target, creds, enforcer):
        return creds.get('legacy') == 'yes'


class _CurrentRuleCheck(_checks.Check):
    def __call__(self, target, creds, enforcer, current_rule=None):
        return current_rule == 'wanted'


class TestCheckSignatureCache(_EnforcerTest):

    def test_installed_in_oslo_policy(self):
        enforcer.get_enforcer()
        self.assertIs(enforcer._check, _checks._check)

    def test_legacy_and_current_checks_called_as_oslo_policy_does(self):
        legacy = _LegacyCheck('legacy', 'x')
        current = _CurrentRuleCheck('current', 'x')
        self.assertTrue(enforcer._check(legacy, {}, {'legacy': 'yes'},
                                        None, 'any'))
        self.assertFalse(enforcer._check(legacy, {}, {}, None, 'any'))
        self.assertTrue(enforcer._check(current, {}, {}, None, 'wanted'))
        self.assertFalse(enforcer._check(current, {}, {}, None, 'other'))

    def test_signature_inspected_once_per_class(self):
        enforcer._takes_current_rule.cache_clear()
        check = _CurrentRuleCheck('current', 'x')
        with mock.patch('nova.policies.enforcer.inspect.getfullargspec',
                        wraps=enforcer.inspect.getfullargspec) as spec:
            for _ in range(3):
                enforcer._check(check, {}, {}, None, 'wanted')
        self.assertEqual(1, spec.call_count)

    def test_decisions_unchanged(self):
        admin = context.RequestContext('admin', 'p1', is_admin=True,
                                       roles=['admin', 'member', 'reader'])
        self.assertFalse(self.allowed())
        self.assertTrue(enforcer.authorize(
            admin, 'os_compute_api:os-services:list', fatal=False))
        self.assertRaises(exception.PolicyNotAuthorized, enforcer.authorize,
                          self.member, 'os_compute_api:os-services:list')


class TestLazyRuleChecks(_EnforcerTest):

    def test_installed_in_oslo_policy(self):
        self.assertIsInstance(_checks.extension_checks,
                              rule_checks.LazyRuleChecks)

    def test_lists_the_plugins_and_loads_one_when_asked(self):
        from oslo_policy import _external
        checks = rule_checks.LazyRuleChecks()
        self.assertIn('http', checks)
        self.assertIn('https', checks)
        self.assertNotIn('role', checks)
        self.assertIs(_external.HttpsCheck, checks['https'])
        self.assertRaises(KeyError, checks.__getitem__, 'gopher')

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

    def test_checking_default_rules_does_not_import_requests(self):
        probe = textwrap.dedent('''
            import json, sys
            import nova.conf
            from nova import context
            from nova.policies import enforcer, rule_checks
            nova.conf.CONF([], project='nova', default_config_files=[])
            member = context.RequestContext('u1', 'p1', roles=['member'])
            decision = enforcer.authorize(
                member, 'os_compute_api:servers:create', fatal=False)
            print(json.dumps({'allowed': decision,
                              'requests': 'requests' in sys.modules}))
        ''')
        result = subprocess.run([sys.executable, '-c', probe],
                                capture_output=True, text=True, timeout=60)
        self.assertEqual(0, result.returncode, result.stderr)
        out = json.loads(result.stdout.strip().splitlines()[-1])
        self.assertEqual({'allowed': True, 'requests': False}, out)
