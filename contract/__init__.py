"""The MQTT contract (v1) that the node, the NCC and the fleet simulator share.

``topics`` names every topic, ``payloads`` builds and parses every payload, ``schemas``
validates them against the JSON Schemas shipped as package data in ``contract/schemas/``,
and ``fleet`` reads the one inventory of puskesmas (``deploy/fleet.toml``).
Nobody builds a topic string or a payload by hand.
"""
