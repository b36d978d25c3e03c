"""Routing keys above the cells: debounced, active low, one event per press."""

from cellfw import clock


class Keys:
    def __init__(self, machine, pins, debounce_ms):
        pin = machine.Pin
        self._pins = [pin(p, pin.IN, pin.PULL_UP) for p in pins]
        self._debounce = debounce_ms
        now = clock.ticks_ms()
        n = len(pins)
        self.down = [False] * n  # debounced state
        self._raw = [False] * n
        self._since = [now] * n
        self.presses = 0

    def scan(self):
        """Sample every key; return the indexes newly pressed."""
        now = clock.ticks_ms()
        pressed = []
        for i in range(len(self._pins)):
            raw = self._pins[i].value() == 0
            if raw != self._raw[i]:
                self._raw[i] = raw
                self._since[i] = now
            elif raw != self.down[i] and clock.ticks_diff(now, self._since[i]) >= self._debounce:
                self.down[i] = raw
                if raw:
                    self.presses += 1
                    pressed.append(i)
        return pressed
