"""The publish command's reference page lists exactly the options the command has."""

from __future__ import annotations

import re

from tests.conftest import ROOT
from tideway_site.cli import publish_parser

REFERENCE = ROOT / "docs" / "reference" / "publish.md"


def test_every_publish_option_is_in_the_reference_and_no_other():
    documented = set(re.findall(r"^\| `([^` ]+)[^`]*` \|", REFERENCE.read_text(), flags=re.M))
    actual = set()
    for action in publish_parser()._actions:
        if action.option_strings and action.dest != "help":
            actual.add(max(action.option_strings, key=len))
        elif not action.option_strings:
            actual.add(action.dest.upper())
    assert documented == actual
