"""Upstream nova's option names, and the old names of this tree still
working with a deprecation warning."""

import os
import textwrap

import fixtures
import testtools
from oslo_config import cfg

from nova.conf import libvirt as libvirt_conf
from nova.conf import scheduler as scheduler_conf


class TestRenamedOptions(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.conf = cfg.ConfigOpts()
        scheduler_conf.register_opts(self.conf)
        libvirt_conf.register_opts(self.conf)
        self.path = os.path.join(
            self.useFixture(fixtures.TempDir()).path, 'nova.conf')
        self.log = self.useFixture(fixtures.FakeLogger(name='oslo_config'))

    def load(self, text):
        with open(self.path, 'w') as f:
            f.write(textwrap.dedent(text))
        self.conf(['--config-file', self.path], project='nova')

    def test_upstream_names_load(self):
        self.load('''
            [DEFAULT]
            instances_path = /srv/nova/instances
            [filter_scheduler]
            enabled_filters = ComputeFilter,RamFilter
            ram_weight_multiplier = -1.0
            [image_cache]
            remove_unused_original_minimum_age_seconds = 3600
            ''')
        self.assertEqual('/srv/nova/instances', self.conf.instances_path)
        self.assertEqual(['ComputeFilter', 'RamFilter'],
                         self.conf.filter_scheduler.enabled_filters)
        self.assertEqual(-1.0,
                         self.conf.filter_scheduler.ram_weight_multiplier)
        self.assertEqual(
            3600, self.conf.image_cache
            .remove_unused_original_minimum_age_seconds)
        self.assertNotIn('deprecated', self.log.output)

    def test_old_names_load_with_the_same_effect_and_a_warning(self):
        self.load('''
            [scheduler]
            enabled_filters = ComputeFilter,RamFilter
            ram_weight_multiplier = -1.0
            [libvirt]
            instances_path = /srv/nova/instances
            remove_unused_base_images_age = 3600
            ''')
        self.assertEqual('/srv/nova/instances', self.conf.instances_path)
        self.assertEqual(['ComputeFilter', 'RamFilter'],
                         self.conf.filter_scheduler.enabled_filters)
        self.assertEqual(-1.0,
                         self.conf.filter_scheduler.ram_weight_multiplier)
        self.assertEqual(
            3600, self.conf.image_cache
            .remove_unused_original_minimum_age_seconds)
        for old in ('[scheduler] enabled_filters',
                    '[libvirt] remove_unused_base_images_age',
                    '[libvirt] instances_path'):
            group, name = old[1:].split('] ')
            self.assertIn(f'Option "{name}" from group "{group}" is '
                          'deprecated', self.log.output)
