"""BREXIT edge node: everything that runs on a puskesmas Raspberry Pi."""

__version__ = "0.1.0"
