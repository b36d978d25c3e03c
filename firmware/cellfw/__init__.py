"""BREXIT Braille cell controller firmware (MicroPython, RP2040).

Runs unchanged on CPython for tests and the emulator: hardware comes in as a ``machine``
module passed to ``runner.boot``, never imported here.
"""

VERSION = "1.0.0"
PROTOCOL = 1
