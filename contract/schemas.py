"""The JSON Schemas of every MQTT payload (package data ``contract/schemas/``), loaded once.

>>> s = Schemas.load()
>>> s.errors("ack", {"epoch": "e1", "seq": -1})
['seq: -1 is less than the minimum of 0']
>>> s.errors("ack", {"epoch": "e1", "seq": 1.0})
["seq: 1.0 is not of type 'integer'"]
>>> "call_next" in s.command_names
True
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema

ENV_DIR = "BREXIT_MQTT_SCHEMAS"
DEFAULT_DIR = Path(str(files("contract").joinpath("schemas")))


def schema_dir() -> Path:
    """``$BREXIT_MQTT_SCHEMAS`` when set, else the package's ``contract/schemas``."""
    return Path(os.environ.get(ENV_DIR) or DEFAULT_DIR)


def _is_integer(checker: object, value: object) -> bool:
    """JSON integers only: 1.0 and true are not integers here (a counter must be 1, not 1.0)."""
    return isinstance(value, int) and not isinstance(value, bool)


StrictValidator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer),
)


def where(error: jsonschema.ValidationError) -> str:
    """A readable path to the failing field: ``data.number`` or ``(payload)``."""
    parts = [f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path]
    return "".join(parts).lstrip(".") or "(payload)"


@dataclass(frozen=True)
class Schemas:
    """Validators by name: ``status``, ``health``, ``event``, ``reply``, ``queue``, ``ack``,
    ``ncc_status`` and ``cmd/{name}`` for each command."""

    validators: dict[str, jsonschema.protocols.Validator]

    @classmethod
    def load(cls, root: Path | None = None) -> Schemas:
        root = root or schema_dir()
        validators: dict[str, jsonschema.protocols.Validator] = {}
        for path in sorted(root.rglob("*.json")):
            schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            jsonschema.Draft202012Validator.check_schema(schema)
            name = path.relative_to(root).with_suffix("").as_posix()
            validators[name] = StrictValidator(schema)
        return cls(validators)

    @property
    def command_names(self) -> frozenset[str]:
        return frozenset(n.split("/", 1)[1] for n in self.validators if n.startswith("cmd/"))

    def errors(self, name: str, instance: object) -> list[str]:
        """Every violation of schema ``name`` as ``field: message``; empty when valid."""
        found = sorted(
            self.validators[name].iter_errors(instance),
            key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path)), e.message),
        )
        return [f"{where(e)}: {e.message}" for e in found]

    def validate(self, name: str, instance: object) -> None:
        """Raise ValueError naming the first violation of schema ``name``."""
        problems = self.errors(name, instance)
        if problems:
            raise ValueError(f"{name}: {problems[0]}")
