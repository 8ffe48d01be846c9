"""Docs/configuration.md is generated from config.py and validation.py, and is never stale.

Who changes a field, a default or a rule runs ``.venv/bin/python scripts/config_reference.py`` and commits
the regenerated reference with the change; this test fails otherwise.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import config_reference  # noqa: E402

from constructs_lib.config import EnvironmentConfig, RegionSpec  # noqa: E402


def test_committed_reference_is_up_to_date() -> None:
    committed = (ROOT / "docs" / "configuration.md").read_text()
    assert committed == config_reference.render(), (
        "docs/configuration.md is stale: run .venv/bin/python scripts/config_reference.py and commit it"
    )


def test_every_field_of_every_section_has_a_row() -> None:
    text = config_reference.render()
    missing = []

    def walk(cls: type, title: str) -> None:
        section = text.split(f"## `{title}` ({cls.__name__})", 1)
        if len(section) != 2:
            missing.append(f"section {title}")
            return
        body = section[1].split("\n## ", 1)[0]
        for f in dataclasses.fields(cls):
            if f"| `{f.name}` |" not in body:
                missing.append(f"{title}.{f.name}")
            default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default  # type: ignore[misc]
            if dataclasses.is_dataclass(default) and not isinstance(default, type):
                walk(type(default), f.name if title == "(top level)" else f"{title}.{f.name}")

    walk(EnvironmentConfig, "(top level)")
    walk(RegionSpec, "regions[]")
    assert not missing, missing


def test_every_validation_rule_is_in_the_reference() -> None:
    text = config_reference.render()
    rules = config_reference.validation_rules(config_reference.VALIDATION_PY.read_text())
    assert len(rules) > 50  # validation.py has rules for every section
    absent = [message for _, message in rules if config_reference._cell(message) not in text]
    assert not absent, absent


def test_rule_paths_are_resolved_through_locals_loops_and_helpers() -> None:
    source = '''
def _window(prefix, name):
    yield ConfigError(f"{prefix}.{name}", "must be a window")

def _db(c):
    p = "database"
    yield ConfigError(f"{p}.port", f"{c.port} is not a port")
    for name in ("a_percent", "b_percent"):
        yield ConfigError(f"{p}.{name}", "is 1-99")
    yield from _window(p, "backup_window")
    yield from _window("cache", "snapshot_window")
'''
    rules = config_reference.validation_rules(source)
    assert ("database.port", "<port> is not a port") in rules
    assert ("database.a_percent", "is 1-99") in rules and ("database.b_percent", "is 1-99") in rules
    assert ("database.backup_window", "must be a window") in rules
    assert ("cache.snapshot_window", "must be a window") in rules
    assert ("database.snapshot_window", "must be a window") not in rules  # call sites are not crossed


def test_field_comments_are_read_from_above_and_beside_the_field() -> None:
    source = '''
class X:
    # explains why
    # on two lines
    a: int = 1
    b: str = "x"  # trailing note
    c: int = 2
'''
    comments = config_reference.field_comments(source)
    assert comments[("X", "a")] == "explains why on two lines"
    assert comments[("X", "b")] == "trailing note"
    assert comments[("X", "c")] == ""
