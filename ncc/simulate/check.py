"""The contract's JSON Schemas compiled for speed (``ncc.fastschema``): every payload the
simulator publishes is checked by the compiled schema (~20 µs) and, for the first of each
kind and then one in ``full_every``, by the contract's own strict validator (jsonschema,
~300 µs) too (the compiled check would pass 1.0 for an integer; the strict one does not).
``full_every=1`` checks every payload both ways (the tests do that).

A payload either check rejects raises ``ContractViolation``: it is never published.

>>> c = ContractCheck(full_every=1)
>>> c("ack", {"epoch": "e1", "seq": 3})
>>> c("ack", {"epoch": "e1", "seq": -1})
Traceback (most recent call last):
...
ncc.simulate.check.ContractViolation: ack: data.seq must be bigger than or equal to 0
>>> c("ack", {"epoch": "e1", "seq": 1.0})   # strict: 1.0 is not an integer
Traceback (most recent call last):
...
ncc.simulate.check.ContractViolation: ack: seq: 1.0 is not of type 'integer'
"""

from __future__ import annotations

from typing import Any

import fastjsonschema

from ncc.fastschema import FastSchemas


class ContractViolation(ValueError):
    """A payload the contract's JSON Schemas reject (a simulator bug: never published)."""


class ContractCheck:
    def __init__(self, *, full_every: int = 200) -> None:
        self.full_every = max(1, full_every)
        self._schemas = FastSchemas.load()
        self._count: dict[str, int] = {}
        self.checked = 0
        self.fully_checked = 0

    def __call__(self, name: str, payload: dict[str, Any]) -> None:
        try:
            self._schemas.compiled[name](payload)
        except fastjsonschema.JsonSchemaException as e:
            raise ContractViolation(f"{name}: {e}") from None
        n = self._count.get(name, 0)
        self._count[name] = n + 1
        self.checked += 1
        if n % self.full_every == 0:
            self.fully_checked += 1
            problems = self._schemas.strict.errors(name, payload)
            if problems:
                raise ContractViolation(f"{name}: {problems[0]}")
