"""The cells' shift-register chain and their high-voltage supply.

Each cell holds 8 bits, dot n at weight 2^(n-1). Bits are shifted inverted (0 raises a
dot), the farthest cell first and dot 8 first within a cell; one STROBE pulse latches
the whole chain. HV is on only while some dot is raised.
"""

from cellfw import clock

FAULT_HV_LOW = 0x0001
FAULT_HV_HIGH = 0x0002
FAULT_WDT_RESET = 0x0004
HV_FAULTS = FAULT_HV_LOW | FAULT_HV_HIGH


class Chain:
    """The chain and HV; ``feed`` (the watchdog's) is called during every wait, so a burst
    of SHOW frames, each waiting ``settle_ms``, never looks like a hung main loop."""

    def __init__(self, machine, cfg, feed=None):
        pin = machine.Pin
        self._feed = feed or _nothing
        self._slice_ms = max(1, cfg["wdt_ms"] // 4)  # waits feed the watchdog this often
        self.n = cfg["cells"]
        self._cfg = cfg
        self._din = pin(cfg["pin_din"], pin.OUT, value=1)
        self._clk = pin(cfg["pin_clk"], pin.OUT, value=0)
        self._strobe = pin(cfg["pin_strobe"], pin.OUT, value=0)
        self._hv = pin(cfg["pin_hv_en"], pin.OUT, value=0)
        self._adc = machine.ADC(cfg["adc_hv"])
        self.hv_on = False
        self.faults = 0
        self.shown = bytes(self.n)
        self._ready_at = clock.ticks_ms()
        self._checked_at = self._ready_at

    def show(self, masks):
        """Latch ``masks`` (padded with blank cells); False if HV failed."""
        masks = bytes(masks) + bytes(self.n - len(masks))
        self._wait_settle()
        raised = any(masks)
        if raised and not self._hv_up():
            return False
        self._shift(masks)
        self._pulse(self._strobe)
        self.shown = masks
        self._ready_at = clock.ticks_add(clock.ticks_ms(), self._cfg["settle_ms"])
        if not raised:
            self._hv_off()
        return True

    def hv_volts(self):
        return self._adc.read_u16() * 3.3 / 65535 * self._cfg["hv_divider"]

    def watch(self):
        """Check HV while it is on; on a fault switch it off (the dots fall)."""
        now = clock.ticks_ms()
        if not self.hv_on or clock.ticks_diff(now, self._checked_at) < self._cfg["hv_check_ms"]:
            return
        self._checked_at = now
        if not self._hv_in_range():
            self._hv_off()
            self.shown = bytes(self.n)

    def _hv_up(self):
        if self.hv_on:
            return True
        self._hv.value(1)
        self.hv_on = True
        self._sleep(self._cfg["hv_rise_ms"])
        if self._hv_in_range():
            return True
        self._hv_off()
        return False

    def _hv_in_range(self):
        volts = self.hv_volts()
        self.faults &= ~HV_FAULTS
        if volts < self._cfg["hv_min_v"]:
            self.faults |= FAULT_HV_LOW
        elif volts > self._cfg["hv_max_v"]:
            self.faults |= FAULT_HV_HIGH
        return not self.faults & HV_FAULTS

    def _hv_off(self):
        self._hv.value(0)
        self.hv_on = False

    def _wait_settle(self):
        self._sleep(clock.ticks_diff(self._ready_at, clock.ticks_ms()))

    def _sleep(self, ms):
        while ms > 0:
            self._feed()
            step = min(ms, self._slice_ms)
            clock.sleep_ms(step)
            ms -= step
        self._feed()

    def _shift(self, masks):
        din = self._din
        for cell in range(self.n - 1, -1, -1):
            mask = masks[cell]
            for bit in range(7, -1, -1):
                din.value(0 if mask >> bit & 1 else 1)
                self._pulse(self._clk)

    def _pulse(self, pin):
        pin.value(1)
        clock.sleep_us(1)
        pin.value(0)


def _nothing():
    pass
