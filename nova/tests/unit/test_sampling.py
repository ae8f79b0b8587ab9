"""The default run's share of the generated crash cases."""

from __future__ import annotations

from nova import test
from nova.tests.functional import sampling


class TestSpread(test.TestCase):

    def test_first_and_last_and_evenly_between(self):
        self.assertEqual([0, 5, 10], sampling.spread(list(range(11)), 3))
        self.assertEqual([0, 3, 6, 9], sampling.spread(list(range(10)), 4))

    def test_one_is_the_last(self):
        # The last stage of a flow: everything before it has run.
        self.assertEqual(['c'], sampling.spread(['a', 'b', 'c'], 1))

    def test_a_short_list_is_taken_whole(self):
        self.assertEqual(['a', 'b'], sampling.spread(['a', 'b'], 5))

    def test_no_case_twice(self):
        for n in range(1, 30):
            for count in range(1, n + 1):
                taken = sampling.spread(list(range(n)), count)
                self.assertEqual(count, len(set(taken)), (n, count))

    def test_count_must_be_positive(self):
        self.assertRaises(ValueError, sampling.spread, [1, 2], 0)
