"""nova.tests.fixtures.services.ServiceFixture: a skip in _setUp is a
skip, not an error."""

from __future__ import annotations

import unittest

import testtools

from nova import test
from nova.tests.fixtures import services


class _Skipping(services.ServiceFixture):

    def __init__(self) -> None:
        super().__init__()
        self.cleaned = False

    def _setUp(self) -> None:
        self.addCleanup(setattr, self, 'cleaned', True)
        raise unittest.SkipTest('no such service')


class _Failing(services.ServiceFixture):

    def _setUp(self) -> None:
        raise RuntimeError('broken')


class TestServiceFixture(test.TestCase):

    def _result_of(self, fixture: services.ServiceFixture,
                   ) -> testtools.TestResult:
        class Inner(testtools.TestCase):
            def test_it(inner) -> None:
                inner.useFixture(fixture)

        result = testtools.TestResult()
        Inner('test_it').run(result)
        return result

    def test_skip_in_setup_is_a_skip(self) -> None:
        fixture = _Skipping()
        result = self._result_of(fixture)
        self.assertEqual([], result.errors + result.failures)
        self.assertEqual(['no such service'], list(result.skip_reasons))
        self.assertTrue(fixture.cleaned)

    def test_other_errors_stay_errors(self) -> None:
        result = self._result_of(_Failing())
        self.assertEqual(1, len(result.errors))
        self.assertEqual({}, result.skip_reasons)
