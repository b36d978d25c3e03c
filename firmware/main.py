"""Pico entry point: load cells.json, take over USB serial, run the cell controller.

Safe mode: hold routing key 1 while plugging the Pico in and the firmware does not start,
so mpremote can reach the REPL (see docs/cells.md).
"""

import machine
import micropython

from cellfw import config
from cellfw.runner import Firmware
from cellfw.usbport import UsbPort


def safe_mode(cfg):
    pins = cfg["key_pins"]
    if not pins:
        return False
    key = machine.Pin(pins[0], machine.Pin.IN, machine.Pin.PULL_UP)
    return key.value() == 0


def main():
    cfg = config.load()
    if safe_mode(cfg):
        print("brexit cells: safe mode, firmware not started")
        return
    micropython.kbd_intr(-1)  # 0x03 in a frame must not raise KeyboardInterrupt
    Firmware(machine, cfg, UsbPort()).run()


main()
