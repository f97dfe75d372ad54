"""The publish and manifest commands' reference pages list exactly the options the commands
have."""

from __future__ import annotations

import re

import pytest

from tests.conftest import ROOT
from tideway_site.cli import manifest_parser, publish_parser

REFERENCE = ROOT / "docs" / "reference"


@pytest.mark.parametrize(
    ("page", "parser"), [("publish.md", publish_parser), ("manifest.md", manifest_parser)]
)
def test_every_option_is_in_the_reference_and_no_other(page, parser):
    text = (REFERENCE / page).read_text()
    documented = set(re.findall(r"^\| `([^` ]+)[^`]*` \|", text, flags=re.M))
    actual = set()
    for action in parser()._actions:
        if action.option_strings and action.dest != "help":
            actual.add(max(action.option_strings, key=len))
        elif not action.option_strings:
            actual.add(action.dest.upper())
    assert documented == actual
