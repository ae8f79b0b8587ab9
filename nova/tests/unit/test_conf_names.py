"""Upstream nova's option names, and the old names of this tree still
working with a deprecation warning."""

import os
import textwrap

import fixtures
from oslo_config import cfg

from nova import test
from nova.conf import libvirt as libvirt_conf
from nova.conf import scheduler as scheduler_conf
from nova.conf import wsgi as wsgi_conf


class ConfigFileTestCase(test.TestCase):
    """Loads a nova.conf text into a ConfigOpts of its own.

    oslo.config warns about a deprecated name once per process, so each
    deprecated name is loaded by one test only.
    """

    def setUp(self):
        super().setUp()
        self.conf = cfg.ConfigOpts()
        scheduler_conf.register_opts(self.conf)
        libvirt_conf.register_opts(self.conf)
        wsgi_conf.register_opts(self.conf)
        self.path = os.path.join(
            self.useFixture(fixtures.TempDir()).path, 'nova.conf')
        self.log = self.useFixture(fixtures.FakeLogger(name='oslo_config'))

    def load(self, text):
        with open(self.path, 'w') as f:
            f.write(textwrap.dedent(text))
        self.conf(['--config-file', self.path], project='nova')


class TestRenamedOptions(ConfigFileTestCase):

    def assert_options_set(self):
        self.assertEqual(
            ('/srv/nova/instances', ['ComputeFilter', 'RamFilter'], -1.0,
             3600),
            (self.conf.instances_path,
             self.conf.filter_scheduler.enabled_filters,
             self.conf.filter_scheduler.ram_weight_multiplier,
             self.conf.image_cache
             .remove_unused_original_minimum_age_seconds))

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
        self.assert_options_set()
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
        self.assert_options_set()
        for old in ('[scheduler] enabled_filters',
                    '[libvirt] remove_unused_base_images_age',
                    '[libvirt] instances_path'):
            group, name = old[1:].split('] ')
            self.assertIn(f'Option "{name}" from group "{group}" is '
                          'deprecated', self.log.output)


class TestAPIOptionNames(ConfigFileTestCase):
    """An operator's nova.conf for upstream nova's API options."""

    def assert_api_options_set(self):
        self.assertEqual(('127.0.0.2', 18774, 4, '/etc/nova/api-paste.ini'),
                         (self.conf.osapi_compute_listen,
                          self.conf.osapi_compute_listen_port,
                          self.conf.osapi_compute_workers,
                          self.conf.wsgi.api_paste_config))

    def test_upstream_api_options_load(self):
        self.load('''
            [DEFAULT]
            osapi_compute_listen = 127.0.0.2
            osapi_compute_listen_port = 18774
            osapi_compute_workers = 4
            [wsgi]
            api_paste_config = /etc/nova/api-paste.ini
            ''')
        self.assert_api_options_set()
        self.assertNotIn('deprecated', self.log.output)

    def test_old_api_option_names_still_load_with_warnings(self):
        self.load('''
            [wsgi]
            listen = 127.0.0.2
            port = 18774
            workers = 4
            [api]
            api_paste_config = /etc/nova/api-paste.ini
            ''')
        self.assert_api_options_set()
        for group, name in (('wsgi', 'listen'), ('wsgi', 'port'),
                            ('wsgi', 'workers'), ('api', 'api_paste_config')):
            self.assertIn(f'Option "{name}" from group "{group}" is '
                          'deprecated', self.log.output)
