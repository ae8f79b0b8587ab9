"""The sample configuration and policy files can be generated.

They are not committed (``tools/generate-config-sample.sh``, ``tox -e
genconfig`` / ``genpolicy`` make them): a committed copy compared byte for
byte broke whenever an oslo library added an option.  These tests run the
two generators the way those commands do and check what they write.
"""

import configparser
import os
import subprocess
import sys

import fixtures
import yaml

from nova import test

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))))
BIN = os.path.dirname(sys.executable)


class TestGeneratedSamples(test.TestCase):

    def setUp(self):
        super().setUp()
        self.out_dir = self.useFixture(fixtures.TempDir()).path

    def _generate(self, script, generator_conf, name):
        out = os.path.join(self.out_dir, name)
        subprocess.run(
            [os.path.join(BIN, script), '--config-file',
             os.path.join(ROOT, 'etc/nova', generator_conf),
             '--output-file', out],
            check=True, capture_output=True, cwd=ROOT, timeout=120)
        with open(out) as f:
            return f.read()

    def test_config_sample_generates(self):
        text = self._generate('oslo-config-generator',
                              'nova-config-generator.conf',
                              'nova.conf.sample')
        # Every option is commented out; what is left parses as INI and
        # has the groups of nova's own options and the libraries'.
        parser = configparser.ConfigParser(interpolation=None)
        parser.read_string(text)
        for group in ('DEFAULT', 'api', 'flow', 'database', 'wsgi',
                      'oslo_messaging_notifications'):
            self.assertIn(group, parser.sections() + ['DEFAULT'])
        self.assertIn('#enabled_hooks =', text)
        self.assertIn('#transport_url =', text)
        self.assertIn('#connection = <None>', text)
        # Each installed hook's options, in its own group.
        self.assertIn('hook:example_special_sauce', parser.sections())
        self.assertIn('#recipe = house', text)

    def test_policy_sample_generates(self):
        text = self._generate('oslopolicy-sample-generator',
                              'nova-policy-generator.conf',
                              'policy.yaml.sample')
        # The rules are commented out: uncommented, the file is a YAML
        # mapping of every rule nova registers to its default.
        rules = yaml.safe_load('\n'.join(
            line[1:] for line in text.splitlines()
            if line.startswith('#"')))
        from nova.policies import list_rules
        self.assertEqual({rule.name for rule in list_rules()}, set(rules))
