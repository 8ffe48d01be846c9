"""The reviewed allow-list of destructive changes: ``environments/<env>.allow-destructive.json``.

A stateful resource (``DATA_LOSS_TYPES`` of scripts/plan_review.py) that a change destroys or replaces is
refused by the offline plan review and by the live plan check of every pipeline run, unless its exact
address is on this list for that environment and stack, with a reason (the reviewed removal of
docs/safe-change.md, backup first). The file is committed, so the removal is reviewed in the same pull request
as the change that causes it; entries that no longer match anything are reported, and should be removed
after the deploy. Format::

    {"allow": [{"stack": "globalpay-prod-us-east-1", "address": "aws_s3_bucket.data_bucket_1A2B3C4D",
                "reason": "data bucket replaced by ...; restored from backup ... (change 1234)"}]}

Standard library only (the plan jobs run it with the runner's python3).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENVIRONMENTS = ROOT / "environments"
ADDRESS = re.compile(r"^[a-z0-9_]+\.[A-Za-z0-9_-]+(\[[^\]]+\])?$")


class AllowListError(ValueError):
    """The file cannot be used; ``str()`` names the file and the entry."""


@dataclass(frozen=True)
class Entry:
    stack: str
    address: str
    reason: str


@dataclass
class AllowList:
    environment: str
    entries: tuple[Entry, ...] = ()
    source: str = ""
    used: set[tuple[str, str]] = field(default_factory=set)

    def allows(self, stack: str, address: str) -> Entry | None:
        for entry in self.entries:
            if entry.stack == stack and entry.address == address:
                self.used.add((stack, address))
                return entry
        return None

    def unused(self, stacks: set[str] | None = None) -> list[Entry]:
        """Entries nothing matched (of the given stacks only, when the caller saw only some of them)."""
        return [e for e in self.entries if (e.stack, e.address) not in self.used and (stacks is None or e.stack in stacks)]


def path_for(environment: str, environments: Path = ENVIRONMENTS) -> Path:
    return environments / f"{environment}.allow-destructive.json"


def load(environment: str, path: Path | None = None) -> AllowList:
    """The environment's allow-list (empty when the file does not exist); AllowListError when it is malformed."""
    path = path_for(environment) if path is None else path
    shown = path.name
    if not path.is_file():
        return AllowList(environment, (), shown)
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise AllowListError(f"{shown}: not valid JSON ({error})") from None
    if not isinstance(data, dict) or set(data) != {"allow"} or not isinstance(data["allow"], list):
        raise AllowListError(f'{shown}: must be {{"allow": [...]}}')
    entries = []
    prefix = f"globalpay-{environment}-"
    for number, item in enumerate(data["allow"], 1):
        where = f"{shown}: entry {number}"
        if not isinstance(item, dict) or set(item) != {"stack", "address", "reason"}:
            raise AllowListError(f"{where}: needs exactly stack, address and reason")
        stack, address, reason = item["stack"], item["address"], item["reason"]
        if not isinstance(stack, str) or not stack.startswith(prefix):
            raise AllowListError(f"{where}: stack {stack!r} is not a stack of {environment} ({prefix}...)")
        if not isinstance(address, str) or not ADDRESS.match(address):
            raise AllowListError(f"{where}: address {address!r} is not one resource address (type.name), no wildcards")
        if not isinstance(reason, str) or len(reason.split()) < 3:
            raise AllowListError(f"{where}: the reason must say why, in words (backup, change)")
        entries.append(Entry(stack, address, reason))
    return AllowList(environment, tuple(entries), shown)
