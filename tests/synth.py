"""Synthesize once per configuration per test session, in-process, and hand tests the parsed JSON.

The jsii runtime is started once for the whole session; each distinct (environment, overrides) pair is
synthesized once into a temporary folder and cached, so the suite stays well under its time budget. The
folder (``globalpay-synth-*`` in the system temporary directory) is made on the first synth and removed by
``cleanup()``: at the end of the pytest session (tests/conftest.py), or at exit for any other caller.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from constructs_lib.config import load_config
from constructs_lib.synthesis import Synthesis
from constructs_lib.validation import validate
from regions import REGION_SPECS

_ROOT: Path | None = None
_CACHE: dict[str, Synth] = {}

#: The failover and failback steps, as operators commit them (docs/runbooks/failover.md): ``NN-<step>.json``.
SWITCH_STEPS_DIR = Path(__file__).resolve().parent.parent / "docs" / "runbooks" / "failover"


def switch_steps() -> list[str]:
    """The numbered steps in order: ``01-failover`` ... ``09-original``."""
    return sorted(p.stem for p in SWITCH_STEPS_DIR.glob("[0-9][0-9]-*.json"))


def switch_step(name: str) -> dict[str, Any]:
    """The overrides of one step (or of ``emergency-scaling``)."""
    return json.loads((SWITCH_STEPS_DIR / f"{name}.json").read_text())


#: The failover configuration every test of the failed-over topology uses: the committed first step.
FAILOVER = switch_step("01-failover")


def synth_root() -> Path:
    """The session's synthesis folder, made on first use."""
    global _ROOT
    if _ROOT is None:
        _ROOT = Path(tempfile.mkdtemp(prefix="globalpay-synth-"))
        atexit.register(cleanup)
    return _ROOT


def cleanup() -> None:
    """Remove the synthesis folder and forget what it held (the next synth makes a new one)."""
    global _ROOT
    if _ROOT is not None:
        shutil.rmtree(_ROOT, ignore_errors=True)
        _ROOT = None
    _CACHE.clear()


class Synth(Synthesis):
    """One synthesized environment, read by the project's one reader of syntheses (``constructs_lib/synthesis.py``):
    ``synth[stack_name]`` is that stack's parsed cdk.tf.json; ``items``, ``of_type`` and ``resolve`` are the
    reader's, so a test hands the tools the very object they read."""

    def __init__(self, outdir: Path) -> None:
        loaded = Synthesis.load(outdir)
        super().__init__(loaded.stacks, outdir)
        self.outdir: Path = outdir

    def __getitem__(self, name: str) -> dict[str, Any]:
        return self.stacks[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.stacks)

    def __len__(self) -> int:
        return len(self.stacks)


def synth(env: str = "prod", overrides: dict[str, Any] | None = None, *, backend: str | None = None) -> Synth:
    key = json.dumps([env, overrides or {}, backend], sort_keys=True)
    if key not in _CACHE:
        from constructs_lib.policy import synth as policy_synth
        from regions.app import build_app

        config = load_config(env, REGION_SPECS, overrides)
        errors = validate(config, REGION_SPECS)
        assert not errors, [str(e) for e in errors]
        outdir = synth_root() / f"synth-{len(_CACHE)}"
        # As main.py does: the policy refuses the synth, the rules that span stacks included (app_rules), read from
        # the written JSON of this session's own folder.
        policy_synth(build_app(config, str(outdir), backend=backend).app, private_outdir=outdir)
        from scripts.ci.locks import install as install_lock_files

        install_lock_files(outdir)  # as main.py does: the output folder holds what terraform init will read
        _CACHE[key] = Synth(outdir)
    return _CACHE[key]


# ------------------------------------------------------------------------------------------------------
# Reading the JSON like a plan reviewer
# ------------------------------------------------------------------------------------------------------


def resources(stack: dict[str, Any], rtype: str) -> dict[str, dict[str, Any]]:
    """``{logical_name: config}`` of every resource of ``rtype`` in a stack."""
    return stack.get("resource", {}).get(rtype, {})


def by_path(stack: dict[str, Any], rtype: str, path_suffix: str) -> dict[str, Any]:
    """The one resource of ``rtype`` whose construct path ends with ``path_suffix``."""
    found = [
        cfg for cfg in resources(stack, rtype).values()
        if cfg.get("//", {}).get("metadata", {}).get("path", "").endswith(path_suffix)
    ]
    assert len(found) == 1, f"{len(found)} {rtype} with path ending {path_suffix!r}"
    return found[0]


def where(stack: dict[str, Any], rtype: str, **attrs: Any) -> list[dict[str, Any]]:
    """Resources of ``rtype`` whose attributes equal ``attrs``."""
    return [cfg for cfg in resources(stack, rtype).values() if all(cfg.get(k) == v for k, v in attrs.items())]


def policy(cfg: dict[str, Any], attr: str = "policy") -> dict[str, Any]:
    """A JSON policy attribute, parsed."""
    return json.loads(cfg[attr])
