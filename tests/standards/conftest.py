"""Fixtures for the standards tests: python-stdnum's own reference data, read independently of our code."""

from __future__ import annotations

import re
from importlib import resources

import pytest

_LINE = re.compile(r'^(?P<indent> *)(?P<digits>\d+) (?:province|county)="(?P<value>[^"]*)"')
_PERIOD = re.compile(r"^(?:\[(\d*)-(\d*)\])?(.+)$")


class Locations(dict):
    """code -> [(first year, last year, name)]; a short repr keeps hypothesis' failure reports readable."""

    def __repr__(self) -> str:
        return f"<stdnum cn/loc: {len(self)} codes>"


@pytest.fixture(scope="session")
def stdnum_locations() -> Locations:
    """Return python-stdnum's ``cn/loc.dat`` as code -> [(first year, last year, name)], parsed from the raw file.

    Deliberately a separate reading of the file (a regex over its lines, not stdnum's numdb API that the
    code under test uses), so a mistake in our reading shows as a disagreement.
    """
    text = resources.files("stdnum").joinpath("cn/loc.dat").read_text(encoding="utf-8")
    locations = Locations()
    province = ""
    for line in text.splitlines():
        match = _LINE.match(line)
        if not match:
            continue
        if not match["indent"]:
            province = match["digits"]
            continue
        periods = []
        for part in match["value"].split(","):
            first, last, name = _PERIOD.match(part).groups()
            periods.append((int(first) if first else None, int(last) if last else None, name))
        locations[province + match["digits"]] = periods
    return locations
