"""Provisioning a node from the fleet inventory: its config, its seed, its image.

Runs on the technician's laptop, never on a Pi: ``brexit fleet`` and ``brexit provision``.
"""
