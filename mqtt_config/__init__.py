"""Broker provisioning: the Mosquitto/NATS templates beside the code that renders them.

``render`` is the pure part (accounts, ACLs, configs as text), ``pki`` makes keys and
certificates with openssl, ``bundle`` writes a site's or the central broker's files, and
``cli`` is ``brexit broker``. It runs on a technician's laptop, never on a Pi.
"""
