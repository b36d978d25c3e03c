"""The hardware's data files, shipped in the wheel: ``pinmap.toml`` (the single source of
every GPIO the node uses). Read it with ``importlib.resources.files("hardware")``."""
