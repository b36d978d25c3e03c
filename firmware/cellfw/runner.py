"""Boot and main loop, with the hardware watchdog fed once per pass (and by the chain
while it waits for the cells to settle or HV to rise).

``machine`` is passed in (the real module on a Pico, a fake on CPython); ``port`` has
``read() -> bytes`` (non-blocking, may wait a few ms) and ``write(bytes)``.
"""

from cellfw.chain import Chain
from cellfw.device import Device
from cellfw.keys import Keys


class Firmware:
    def __init__(self, machine, cfg, port):
        self.wdt = machine.WDT(timeout=cfg["wdt_ms"])
        cause = machine.reset_cause()
        self.chain = Chain(machine, cfg, self.wdt.feed)
        self.chain.show(b"")  # all dots down, HV off
        self.keys = Keys(machine, cfg["key_pins"][: cfg["cells"]], cfg["debounce_ms"])
        wdt_reset = cause == machine.WDT_RESET
        self.device = Device(self.chain, self.keys, cfg, port.write, cause, wdt_reset)
        self._port = port

    def step(self):
        self.wdt.feed()
        data = self._port.read()
        if data:
            self.device.on_bytes(data)
        self.device.tick()

    def run(self):
        while True:
            self.step()
