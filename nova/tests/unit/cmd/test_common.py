"""Start-up shared by the service commands: [DEFAULT] malloc_arena_max."""

from __future__ import annotations

from unittest import mock

import fixtures

from nova import test
from nova.cmd import common


class TestMallocArenaMax(test.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.EnvironmentVariable('MALLOC_ARENA_MAX'))
        self.libc = mock.Mock()
        self.libc.mallopt.return_value = 1
        self.useFixture(fixtures.MockPatch(
            'nova.cmd.common.ctypes.CDLL', return_value=self.libc))

    def test_limit_is_given_to_glibc(self):
        self.assertTrue(common.limit_malloc_arenas(2))
        self.libc.mallopt.assert_called_once_with(common._M_ARENA_MAX, 2)

    def test_zero_keeps_glibc_default(self):
        self.assertFalse(common.limit_malloc_arenas(0))
        self.libc.mallopt.assert_not_called()

    def test_environment_variable_wins(self):
        self.useFixture(fixtures.EnvironmentVariable('MALLOC_ARENA_MAX', '4'))
        self.assertFalse(common.limit_malloc_arenas(2))
        self.libc.mallopt.assert_not_called()

    def test_c_library_without_mallopt(self):
        del self.libc.mallopt
        self.assertFalse(common.limit_malloc_arenas(2))


class TestMallocArenaMaxOnThisMachine(test.TestCase):

    def test_glibc_accepts_the_default(self):
        self.useFixture(fixtures.EnvironmentVariable('MALLOC_ARENA_MAX'))
        import platform
        if platform.libc_ver()[0] != 'glibc':
            self.skipTest('not glibc')
        self.assertTrue(common.limit_malloc_arenas(2))
