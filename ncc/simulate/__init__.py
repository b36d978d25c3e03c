"""The fleet simulator (``brexit ncc simulate``): thousands of nodes that speak the real
contract over a few shared MQTT connections, at puskesmas rates, with faults.

``profile``: arrival rates by hour of day; ``check``: the contract's JSON Schemas, compiled;
``model``: one site's nodes and what they do; ``connection``: one MQTT connection carrying
many sites; ``fleet``: the whole run, its progress line, summary and record.
"""
