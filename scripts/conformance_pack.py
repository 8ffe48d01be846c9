"""Derive the AWS Config conformance pack data of ``constructs_lib/conformance/`` from AWS's published
operational-best-practices templates (github.com/awslabs/aws-config-rules, ``aws-config-conformance-packs/``,
CC0 1.0), at a pinned commit.

    .venv-checkov/bin/python scripts/conformance_pack.py <git dir of aws-config-rules> [--commit SHA] [--check]

Needs PyYAML (the checkov or moto tool environment has it). For each template it writes
``constructs_lib/conformance/<name>.json``: the source (repository, path, commit, sha256 of the file at that
commit) and the template's rules with every parameter resolved to the template's own default, exactly as
the stacks deploy it (``constructs_lib/resource_recording.py``). ``--check`` compares instead of writing and
exits 1 on any difference: run it when the pin moves, and review the rule diff like code.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "constructs_lib" / "conformance"
REPOSITORY = "https://github.com/awslabs/aws-config-rules"
#: Commit of aws-config-rules the packs are taken from (HEAD of the default branch, 2026-04-09, as fetched).
COMMIT = "b54d4a6c99e105c25ca46af9305770e4ba51c422"
#: Output name -> template path in the repository. "including" records global resource types (IAM): the one
#: region that records them; "excluding" every other region.
TEMPLATES = {
    "pci-dss-v4.0-including-global": "aws-config-conformance-packs/Operational-Best-Practices-for-PCI-DSS-v4.0-including-global-resourcetypes.yml",
    "pci-dss-v4.0-excluding-global": "aws-config-conformance-packs/Operational-Best-Practices-for-PCI-DSS-v4.0-excluding-global-resourcetypes.yml",
}


class _Loader(yaml.SafeLoader):
    """CloudFormation short forms (``!Ref``, ``!If``...) read as their long ``Fn::`` objects."""


def _cfn(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        return {name: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {name: loader.construct_sequence(node, deep=True)}
    return {name: loader.construct_mapping(node, deep=True)}


_Loader.add_multi_constructor("!", _cfn)


def resolve(node: Any, params: dict[str, str], conditions: dict[str, Any]) -> Any:
    """The template with ``Ref`` to parameters, ``Fn::If``, ``Fn::Not`` and ``Fn::Equals`` evaluated on the defaults."""
    if isinstance(node, list):
        return [v for v in (resolve(x, params, conditions) for x in node) if v is not _NO_VALUE]
    if not isinstance(node, dict):
        return node
    if set(node) == {"Ref"}:
        ref = node["Ref"]
        if ref == "AWS::NoValue":
            return _NO_VALUE
        return params[ref]
    if set(node) == {"Fn::If"}:
        name, yes, no = node["Fn::If"]
        return resolve(yes if _condition(conditions[name], params, conditions) else no, params, conditions)
    out = {}
    for key, value in node.items():
        resolved = resolve(value, params, conditions)
        if resolved is not _NO_VALUE:
            out[key] = resolved
    return out


_NO_VALUE = object()


def _condition(node: Any, params: dict[str, str], conditions: dict[str, Any]) -> bool:
    if "Fn::Not" in node:
        return not _condition(node["Fn::Not"][0], params, conditions)
    if "Fn::Equals" in node:
        a, b = (resolve(x, params, conditions) for x in node["Fn::Equals"])
        return a == b
    if "Condition" in node:
        return _condition(conditions[node["Condition"]], params, conditions)
    raise ValueError(f"unsupported condition {node!r}")


def derive(git_dir: Path, commit: str, path: str) -> dict[str, Any]:
    raw = subprocess.run(["git", "--git-dir", str(git_dir), "show", f"{commit}:{path}"], check=True, capture_output=True).stdout
    template = yaml.load(raw.decode(), Loader=_Loader)
    params = {name: str(spec.get("Default", "")) for name, spec in template.get("Parameters", {}).items()}
    resources = resolve(template["Resources"], params, template.get("Conditions", {}))
    unknown = {r["Type"] for r in resources.values()} - {"AWS::Config::ConfigRule"}
    if unknown:
        raise ValueError(f"{path}: resource types other than AWS::Config::ConfigRule: {sorted(unknown)}")
    return {
        "source": {"repository": REPOSITORY, "path": path, "commit": commit, "sha256": hashlib.sha256(raw).hexdigest(),
                   "license": "CC0-1.0"},
        "template": {"Resources": resources},
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("git_dir", type=Path)
    parser.add_argument("--commit", default=COMMIT)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    failed = False
    for name, path in TEMPLATES.items():
        text = json.dumps(derive(args.git_dir, args.commit, path), indent=1, sort_keys=True) + "\n"
        target = OUT / f"{name}.json"
        if args.check:
            if not target.exists() or target.read_text() != text:
                print(f"{target.relative_to(ROOT)} differs from {path} at {args.commit}")
                failed = True
        else:
            target.write_text(text)
            print(f"wrote {target.relative_to(ROOT)} ({len(json.loads(text)['template']['Resources'])} rules)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
