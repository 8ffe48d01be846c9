"""Session fixtures: the prod and staging syntheses, built once each."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.synth import Synth, synth  # noqa: E402


@pytest.fixture(scope="session")
def prod() -> Synth:
    return synth("prod")


@pytest.fixture(scope="session")
def staging() -> Synth:
    return synth("staging")
