"""Session fixtures: the prod and staging syntheses, built once each, removed when the session ends."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.synth import Synth, cleanup, synth  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def _remove_syntheses_at_session_end() -> Iterator[None]:
    """Every synthesis of the session lives in one temporary folder (tests/synth.py): gone afterwards."""
    yield
    cleanup()


@pytest.fixture(scope="session")
def prod() -> Synth:
    return synth("prod")


@pytest.fixture(scope="session")
def staging() -> Synth:
    return synth("staging")
