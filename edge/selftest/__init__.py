"""``brexit selftest``: test every part of a node and say the result (see docs/selftest.md)."""
