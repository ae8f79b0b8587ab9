"""Example vendor hooks for nova's flow engine.

See README.md: ``special_sauce`` is the example to copy; ``broken`` and
``broken_import`` exist only so that nova's tests can prove the start-up
checks on real, installed entry points.
"""
