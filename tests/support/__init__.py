"""Helpers shared by tests of several tiers, imported as ``tests.support.<module>``."""
