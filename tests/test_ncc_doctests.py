"""The examples in the NCC modules' docstrings are tests too."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["ncc.config", "ncc.messages", "ncc.store", "ncc.state", "ncc.alarms", "ncc.ingest",
           "ncc.notify", "ncc.metrics", "ncc.commands", "ncc.monitor", "ncc.rowindex",
           "ncc.fleetsummary"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
