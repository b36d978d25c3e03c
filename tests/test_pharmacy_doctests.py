"""The docstring examples of the pharmacy and the counter aid run as tests."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["edge.pharmacy.label", "edge.pharmacy.braille_lines", "edge.pharmacy.ink",
           "edge.pharmacy.spoken", "edge.pharmacy.store", "edge.pharmacy.config",
           "edge.pharmacy.role", "edge.pharmacy.pages", "edge.pharmacy.web",
           "edge.aid.config", "edge.aid.layout"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
