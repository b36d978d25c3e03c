"""Controller configuration: defaults, overridden by ``cells.json`` on the Pico's flash."""

DEFAULTS = {
    "cells": 12,  # cells in the chain
    "pin_din": 2,  # GP2 -> cell connector DIN
    "pin_clk": 3,  # GP3 -> CLK
    "pin_strobe": 4,  # GP4 -> STROBE
    "pin_hv_en": 5,  # GP5 -> HV module enable (pulled down on the board)
    "adc_hv": 26,  # GP26 / ADC0 <- HV divider
    "key_pins": [6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17],  # routing keys, active low
    "hv_divider": 67.67,  # HV = ADC volts * divider (10 MOhm / 150 kOhm)
    "hv_min_v": 170.0,
    "hv_max_v": 215.0,
    "hv_rise_ms": 20,  # HV on -> first latch
    "hv_check_ms": 500,  # HV watched this often while on
    "settle_ms": 50,  # minimum time between two refreshes
    "debounce_ms": 20,
    "key_retry_ms": 250,  # resend an unacknowledged key press after this
    "key_tries": 5,
    "wdt_ms": 2000,  # hardware watchdog (RP2040 maximum 8388 ms)
}


def merged(overrides=None):
    cfg = dict(DEFAULTS)
    if overrides:
        for key in overrides:
            if key not in DEFAULTS:
                raise ValueError("unknown config key: " + str(key))
            cfg[key] = overrides[key]
    if not 1 <= cfg["cells"] <= 80:
        raise ValueError("cells must be 1..80")
    return cfg


def load(path="cells.json"):
    """Defaults merged with the JSON file at ``path`` if it exists."""
    import json

    try:
        with open(path) as f:
            return merged(json.load(f))
    except OSError:
        return merged()
