"""BPJS Kesehatan's Antrean FKTP service (Mobile JKN): the site's tickets of BPJS patients.

``wire`` signs requests and opens answers (pure), ``calls`` builds the request bodies
(pure), ``store`` keeps registered patients and pending requests in the node's database,
``client`` speaks HTTP, and ``sync`` is the one thread that sends what is pending.
"""
