#!/usr/bin/env python
"""Offline plan review: what a pull request changes in the synthesized Terraform, and what it would destroy.

    python3 tasks.py plan-review OLD_OUT NEW_OUT        # two synth output folders (cdktf.out)
    python3 tasks.py plan-review --git main             # the tree at `main` (synthesized in a temporary
                                                        #   worktree) against this tree's cdktf.out
    python3 tasks.py plan-review --git HEAD~1 --new /tmp/out --allow-destructive

Per stack it prints the resources added (+), removed (-), changed in place (~) with the changed attributes,
and replaced (-/+). A removal or a replacement of a stateful resource (``DATA_LOSS_TYPES``) is flagged in red
(ANSI colour on a terminal) and makes the command exit 1, unless ``--allow-destructive``. A resource whose
address changed is not a removal when the new synth declares the move (a ``moved`` block, cdktf
``move_from_id`` / ``move_to``): it is compared with its old self.

This runs without AWS credentials or a ``terraform`` binary, so it cannot know what the provider's plan
will say about computed values; it knows which arguments force a new resource (``FORCE_NEW`` below, from the
AWS provider 6.x documentation and changelog, each table cited) and treats a change to one of them as a
replacement. It is what a reviewer runs before ``terraform plan``, not instead of it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from constructs_lib.policy import STATEFUL_TYPES  # noqa: E402  (after the sys.path entry above)

#: What ``python3 tasks.py synth`` writes, wherever the review is started from.
DEFAULT_NEW = ROOT / "cdktf.out"

#: Types whose removal or replacement loses data, evidence or identity.
DATA_LOSS_TYPES = frozenset(STATEFUL_TYPES) | {"aws_cloudwatch_log_group", "aws_rds_cluster_instance"}

#: Arguments whose change makes Terraform destroy and re-create the resource ("forces replacement"), as dotted
#: paths through nested blocks. Sources: the AWS provider documentation of each resource
#: (https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/<type>), where the argument
#: reference says "Changing this forces a new resource", and the provider changelog for arguments that became
#: updatable in place. Checked against provider 6.x.
FORCE_NEW: dict[str, frozenset[str]] = {
    # db_instance: identifier, engine, kms_key_id, storage_encrypted, availability_zone, username, db_name,
    # character sets, timezone and the restore/import sources force a new instance.
    # db_subnet_group_name is *not* ForceNew (updatable since hashicorp/terraform#10818) but RDS refuses a move
    # to another subnet group of the same VPC (hashicorp/terraform-provider-aws#512): see RISKY_IN_PLACE.
    "aws_db_instance": frozenset({
        "identifier", "identifier_prefix", "engine", "kms_key_id", "storage_encrypted", "availability_zone",
        "username", "db_name", "character_set_name", "nchar_character_set_name", "timezone", "snapshot_identifier",
        "restore_to_point_in_time", "s3_import", "custom_iam_instance_profile",
    }),
    # rds_cluster: unlike an instance, the cluster's db_subnet_group_name and availability_zones force a new one.
    "aws_rds_cluster": frozenset({
        "cluster_identifier", "cluster_identifier_prefix", "engine", "engine_mode", "database_name",
        "master_username", "kms_key_id", "storage_encrypted", "availability_zones", "db_subnet_group_name",
        "snapshot_identifier", "source_region", "restore_to_point_in_time", "s3_import",
    }),
    "aws_rds_cluster_instance": frozenset({"identifier", "identifier_prefix", "engine", "cluster_identifier"}),
    # elasticache_replication_group: transit_encryption_enabled is ForceNew only for engine versions before
    # 7.0.5 (provider 5.x made it updatable, hashicorp/terraform-provider-aws#30700); we run 7.1.
    "aws_elasticache_replication_group": frozenset({
        "replication_group_id", "at_rest_encryption_enabled", "kms_key_id", "subnet_group_name", "engine", "port",
        "snapshot_arns", "snapshot_name", "preferred_cache_cluster_azs", "network_type",
    }),
    # msk_cluster: kafka_version, broker count, instance type and storage update in place; subnets, security
    # groups, the at-rest key and in-cluster encryption do not (hashicorp/terraform-provider-aws#20292,
    # #18479 for the instance type, fixed in 3.x; client_broker updates through UpdateSecurity).
    "aws_msk_cluster": frozenset({
        "cluster_name", "broker_node_group_info.client_subnets", "broker_node_group_info.security_groups",
        "broker_node_group_info.az_distribution", "encryption_info.encryption_at_rest_kms_key_arn",
        "encryption_info.encryption_in_transit.in_cluster",
    }),
    "aws_s3_bucket": frozenset({"bucket", "bucket_prefix", "object_lock_enabled"}),
    "aws_kms_key": frozenset({"customer_master_key_spec", "key_usage", "multi_region", "custom_key_store_id", "xks_key_id"}),
    "aws_secretsmanager_secret": frozenset({"name", "name_prefix"}),
    "aws_ecr_repository": frozenset({"name", "encryption_configuration.encryption_type", "encryption_configuration.kms_key"}),
    # eks_cluster: vpc_config.subnet_ids / security_group_ids are updatable in place since provider 5.25.0
    # (hashicorp/terraform-provider-aws#34090); the service CIDR, IP family and role are not.
    "aws_eks_cluster": frozenset({
        "name", "role_arn", "kubernetes_network_config.service_ipv4_cidr", "kubernetes_network_config.ip_family",
        "encryption_config.provider.key_arn", "bootstrap_self_managed_addons", "outpost_config",
        "access_config.bootstrap_cluster_creator_admin_permissions",
    }),
    "aws_db_parameter_group": frozenset({"name", "name_prefix", "family"}),
    "aws_cloudwatch_log_group": frozenset({"name", "name_prefix"}),
}

#: In-place changes that AWS may refuse or that interrupt service: printed as warnings, not failures.
RISKY_IN_PLACE: dict[str, dict[str, str]] = {
    "aws_db_instance": {"db_subnet_group_name": "RDS refuses a move to another subnet group in the same VPC"},
    "aws_msk_cluster": {"kafka_version": "a rolling broker upgrade; downgrades are impossible"},
    "aws_eks_cluster": {"version": "control plane upgrade; one minor version at a time, never down"},
}

RED, YELLOW, GREEN, BOLD, RESET = "\033[31m", "\033[33m", "\033[32m", "\033[1m", "\033[0m"


# --------------------------------------------------------------------------------------------------
# Reading and flattening
# --------------------------------------------------------------------------------------------------


def read_stacks(outdir: Path) -> dict[str, dict[str, Any]]:
    stacks_dir = outdir / "stacks"
    if not stacks_dir.is_dir():
        raise SystemExit(f"{outdir} is not a synth output (no stacks/ folder); run `python main.py` first")
    return {d.name: json.loads((d / "cdk.tf.json").read_text()) for d in sorted(stacks_dir.iterdir())
            if (d / "cdk.tf.json").is_file()}


def resources(stack: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``{"type.name": config}`` of a stack's managed resources."""
    return {f"{rtype}.{name}": cfg for rtype, items in (stack.get("resource") or {}).items() for name, cfg in items.items()}


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted paths to leaf values. A block (a dict, or a list holding one dict) is descended into without
    an index, so ``encryption_info[0].encryption_at_rest_kms_key_arn`` is ``encryption_info.encryption_at_rest_kms_key_arn``
    whichever way cdktf rendered it; lists of scalars or of several blocks are leaves."""
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict):
        value = value[0]
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key == "//" or (not prefix and key in ("depends_on", "provider")):
                continue
            out.update(flatten(item, f"{prefix}.{key}" if prefix else key))
        return out
    return {prefix: value}


# --------------------------------------------------------------------------------------------------
# The review
# --------------------------------------------------------------------------------------------------


@dataclass
class Change:
    kind: str  # "add", "remove", "update", "replace", "move"
    address: str
    path: str = ""
    attributes: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)
    destructive: bool = False
    warnings: list[str] = field(default_factory=list)

    @property
    def rtype(self) -> str:
        return self.address.split(".", 1)[0]


@dataclass
class StackReview:
    name: str
    changes: list[Change] = field(default_factory=list)
    note: str = ""

    @property
    def destructive(self) -> list[Change]:
        return [c for c in self.changes if c.destructive]


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def diff_resource(address: str, old: Mapping[str, Any], new: Mapping[str, Any], *, moved_from: str = "") -> Change | None:
    before, after = flatten(old), flatten(new)
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    rtype = address.split(".", 1)[0]
    path = (new.get("//") or {}).get("metadata", {}).get("path", "")
    if not changed:
        return Change("move", address, path, details=[f"moved from {moved_from}"]) if moved_from else None
    force = FORCE_NEW.get(rtype, frozenset())
    forcing = [k for k in changed if k in force or any(k.startswith(f + ".") for f in force)]
    change = Change("replace" if forcing else "update", address, path, attributes=changed)
    if moved_from:
        change.details.append(f"moved from {moved_from}")
    for key in forcing:
        change.details.append(f"{key}: {_short(before.get(key))} -> {_short(after.get(key))} forces replacement")
    change.destructive = bool(forcing) and rtype in DATA_LOSS_TYPES
    for key, why in RISKY_IN_PLACE.get(rtype, {}).items():
        if key in changed:
            change.warnings.append(f"{key}: {_short(before.get(key))} -> {_short(after.get(key))}: {why}")
    if rtype in STATEFUL_TYPES and before.get("lifecycle.prevent_destroy") and not after.get("lifecycle.prevent_destroy"):
        change.warnings.append("lifecycle.prevent_destroy removed: Terraform will no longer refuse to destroy it")
    return change


def review_stack(name: str, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> StackReview:
    review = StackReview(name)
    if old is None:
        review.note = "new stack"
    if new is None:
        review.note = "stack removed: every resource in its state would be destroyed by `terraform destroy`, or orphaned"
    before, after = resources(old or {}), resources(new or {})
    moves = {m["from"]: m["to"] for m in (new or {}).get("moved", []) or [] if "from" in m and "to" in m}
    # A removed block with destroy = false: Terraform forgets the object, AWS keeps it (not a destruction).
    forgotten = {r["from"] for r in (new or {}).get("removed", []) or []
                 if "from" in r and (r.get("lifecycle") or {}).get("destroy") is False}
    claimed: set[str] = set()
    for address in sorted(before):
        if address in after:
            claimed.add(address)
            change = diff_resource(address, before[address], after[address])
        elif moves.get(address) in after:
            target = moves[address]
            claimed.add(target)
            change = diff_resource(target, before[address], after[target], moved_from=address)
        else:
            path = (before[address].get("//") or {}).get("metadata", {}).get("path", "")
            rtype = address.split(".", 1)[0]
            change = Change("remove", address, path, destructive=rtype in DATA_LOSS_TYPES and address not in forgotten)
            if address in forgotten:
                change.details.append("forgotten, not destroyed (removed block, destroy = false): the object stays in AWS")
            elif change.destructive:
                change.details.append("stateful resource destroyed (no moved block declares a new address)")
        if change:
            review.changes.append(change)
    for address in sorted(set(after) - claimed):
        path = (after[address].get("//") or {}).get("metadata", {}).get("path", "")
        review.changes.append(Change("add", address, path))
    return review


def review(old: Mapping[str, Mapping[str, Any]], new: Mapping[str, Mapping[str, Any]]) -> list[StackReview]:
    return [review_stack(name, old.get(name), new.get(name)) for name in sorted(set(old) | set(new))]


# --------------------------------------------------------------------------------------------------
# Printing
# --------------------------------------------------------------------------------------------------

SYMBOL = {"add": "+", "remove": "-", "update": "~", "replace": "-/+", "move": "->"}


def render(reviews: list[StackReview], *, color: bool) -> Iterator[str]:
    def paint(text: str, code: str) -> str:
        return f"{code}{text}{RESET}" if color else text

    changed = [r for r in reviews if r.changes or r.note]
    if not changed:
        yield "no changes: the two synth outputs declare the same resources"
        return
    for r in changed:
        counts = {k: sum(1 for c in r.changes if c.kind == k) for k in SYMBOL}
        summary = ", ".join(f"{n} {k}" for k, n in counts.items() if n)
        yield paint(f"{r.name}: {summary or 'no resource changes'}" + (f" ({r.note})" if r.note else ""), BOLD)
        for c in r.changes:
            line = f"  {SYMBOL[c.kind]:>3} {c.address}"
            if c.kind in ("update", "replace") and c.attributes:
                line += f"  [{', '.join(c.attributes[:8])}{', ...' if len(c.attributes) > 8 else ''}]"
            if c.destructive:
                line = paint(f"{line}  DESTRUCTIVE: {'replaced' if c.kind == 'replace' else 'destroyed'}", RED)
            elif c.kind == "add":
                line = paint(line, GREEN)
            elif c.kind == "replace":
                line = paint(line, YELLOW)
            yield line
            for detail in c.details:
                yield paint(f"        {detail}", RED) if c.destructive else f"        {detail}"
            for warning in c.warnings:
                yield paint(f"        warning: {warning}", YELLOW)
            if c.destructive and c.path:
                yield f"        construct: {c.path}"
    destructive = [c for r in reviews for c in r.destructive]
    total = sum(len(r.changes) for r in reviews)
    yield f"{total} change(s) in {len(changed)} stack(s); {len(destructive)} destroy or replace a stateful resource"


# --------------------------------------------------------------------------------------------------
# Synthesizing a git ref
# --------------------------------------------------------------------------------------------------


def synth_git_ref(ref: str, workdir: Path, env: str) -> Path:
    """Check ``ref`` out in a temporary worktree and synthesize it with this interpreter; returns its output."""
    tree = workdir / "tree"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(tree), ref], check=True)
    try:
        out = workdir / "cdktf.out"
        proc = subprocess.run(
            [sys.executable, "main.py", "--env", env, "--out", str(out), "--quiet"], cwd=tree,
            capture_output=True, text=True, check=False,
            env={**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20", "CDKTF_OUTDIR": ""},
        )
        if proc.returncode != 0:
            raise SystemExit(f"synth of {ref} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
        return out
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)
        shutil.rmtree(tree, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old", nargs="?", help="the base synth output folder")
    parser.add_argument("new", nargs="?", help="the changed synth output folder (default: the project's cdktf.out)")
    parser.add_argument("--git", metavar="REF", help="synthesize REF in a temporary worktree as the base")
    parser.add_argument("--new", dest="new_opt", help="the changed synth output (with --git; default: the project's cdktf.out)")
    parser.add_argument("--env", default="prod", help="environment synthesized for --git (default prod)")
    parser.add_argument("--allow-destructive", action="store_true", help="exit 0 even when a stateful resource is destroyed or replaced")
    parser.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    args = parser.parse_args(argv)

    color = args.color == "always" or (args.color == "auto" and sys.stdout.isatty())
    with tempfile.TemporaryDirectory(prefix="plan-review-") as tmp:
        if args.git:
            if args.old:
                parser.error("--git REF replaces OLD; pass the changed output with --new")
            old_dir = synth_git_ref(args.git, Path(tmp), args.env)
            new_dir = Path(args.new_opt) if args.new_opt else DEFAULT_NEW
        else:
            if not args.old:
                parser.error("give two synth output folders, or --git REF")
            old_dir, new_dir = Path(args.old), Path(args.new or args.new_opt or DEFAULT_NEW)
        reviews = review(read_stacks(old_dir), read_stacks(new_dir))
    for line in render(reviews, color=color):
        print(line)
    destructive = [c for r in reviews for c in r.destructive]
    if destructive and not args.allow_destructive:
        print("refused: destructive changes to stateful resources (re-run with --allow-destructive once reviewed)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
