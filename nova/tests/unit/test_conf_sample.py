"""etc/nova/nova.conf.sample must be what the generator makes now."""

import difflib
import os
import subprocess
import sys

import fixtures
import testtools

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))))


class TestConfigSample(testtools.TestCase):

    def test_sample_is_up_to_date(self):
        out = os.path.join(self.useFixture(fixtures.TempDir()).path,
                           'nova.conf.sample')
        generator = os.path.join(os.path.dirname(sys.executable),
                                 'oslo-config-generator')
        subprocess.run(
            [generator, '--config-file',
             os.path.join(ROOT, 'etc/nova/nova-config-generator.conf'),
             '--output-file', out],
            check=True, capture_output=True, cwd=ROOT, timeout=120)
        with open(os.path.join(ROOT, 'etc/nova/nova.conf.sample')) as f:
            committed = f.readlines()
        with open(out) as f:
            generated = f.readlines()
        diff = ''.join(difflib.unified_diff(committed, generated,
                                            'committed', 'generated', n=1))
        self.assertEqual('', diff, 'etc/nova/nova.conf.sample is stale: '
                         'run tools/generate-config-sample.sh')
