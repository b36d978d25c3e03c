"""``brexit ncc bench``: the NCC's benchmarks (ingest against mosquitto_sub; the fleet run)."""
