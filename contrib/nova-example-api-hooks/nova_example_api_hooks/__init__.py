"""Example vendor hooks for nova's compute API flows."""
