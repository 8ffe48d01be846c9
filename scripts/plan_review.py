#!/usr/bin/env python
"""Offline plan review: what a pull request changes in the synthesized Terraform, and what it would destroy.

    python3 tasks.py plan-review OLD_OUT NEW_OUT        # two synth output folders (cdktf.out)
    python3 tasks.py plan-review --git main             # the tree at `main` (synthesized in a temporary
                                                        #   worktree) against this tree's cdktf.out
    python3 tasks.py plan-review --git HEAD~1 --new /tmp/out --allow-destructive

Per stack it prints the resources added (+), removed (-), changed in place (~) with the changed attributes,
and replaced (-/+). A removal or a replacement of a stateful resource (``DATA_LOSS_TYPES``), and a replacement of
a node group (``FLAGGED_REPLACEMENTS``: every node is drained), is flagged in red (ANSI colour on a terminal) and
makes the command exit 1, unless its address is on the environment's reviewed allow-list,
``environments/<env>.allow-destructive.json`` (scripts/ci/allowlist.py; the pipeline's live plan check honours the
same file), or ``--allow-destructive`` is given by hand, or ``--switch-step STEP`` names a failover or failback step
whose destruction ``tests/stateful_addresses.json`` documents exactly. A resource whose address changed is not a
removal when the new synth declares the move (a ``moved`` block, cdktf ``move_from_id`` / ``move_to``): it is
compared with its old self.

Refused whatever the allow-list or the flags say (exit 1): a database instance that has no replication source and
would get one again (a promoted writer made a replica: RDS cannot, the provider fails or replaces it;
docs/runbooks/failover.md), and changes that plan cleanly but that AWS refuses at apply: a configuration a running
resource uses replaced destroy-first (MSK "Configuration is in use", RDS parameter group "still in use"), an RDS
writer upgraded before its read replicas, a major engine upgrade without ``allow_major_version_upgrade``, an EKS
control plane moved by more than one minor or down, more than one cluster upgraded in one change (one region at a
time, the canary first: docs/runbooks/upgrade.md), a modification that requests nothing (``NOTHING_BUT``) and a
password rotation out of step with its secret (``master_password_refusals``).

This runs without AWS credentials or a ``terraform`` binary, so it cannot know what the provider's plan
will say about computed values; it knows which arguments force a new resource (``FORCE_NEW`` below, from the
AWS provider 6.x documentation and changelog, each table cited) and treats a change to one of them as a
replacement. It is what a reviewer runs before ``terraform plan``, not instead of it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
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

from constructs_lib.aws_rules import IN_USE_BY  # noqa: E402  (after the sys.path entry above)
from constructs_lib.policy import STATEFUL_TYPES  # noqa: E402
from scripts.ci.allowlist import AllowList, AllowListError  # noqa: E402
from scripts.ci.allowlist import load as load_allow_list  # noqa: E402

#: What ``python3 tasks.py synth`` writes, wherever the review is started from.
DEFAULT_NEW = ROOT / "cdktf.out"

#: Types whose removal or replacement loses data, evidence or identity.
DATA_LOSS_TYPES = frozenset(STATEFUL_TYPES) | {"aws_cloudwatch_log_group", "aws_rds_cluster_instance"}

#: Types whose replacement loses no data but is a capacity event: flagged like a stateful replacement (exit 1
#: unless --allow-destructive), with what the operator must check.
FLAGGED_REPLACEMENTS: dict[str, str] = {
    "aws_eks_node_group": "every node of the group is drained and replaced; set cluster.node_desired_size to the "
                          "group's current size first (the new group starts at it) and watch Pending pods",
}

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
    "aws_rds_cluster_parameter_group": frozenset({"name", "name_prefix", "family"}),
    "aws_cloudwatch_log_group": frozenset({"name", "name_prefix"}),
    # eks_node_group: hashicorp/terraform-provider-aws internal/service/eks/node_group.go (ForceNew: ami_type,
    # capacity_type, cluster_name, disk_size, instance_types, launch_template id/name, node_group_name(_prefix),
    # node_role_arn, remote_access, subnet_ids; release_version, version and the template version update in place).
    "aws_eks_node_group": frozenset({
        "ami_type", "capacity_type", "cluster_name", "disk_size", "instance_types", "launch_template.id",
        "launch_template.name", "node_group_name", "node_group_name_prefix", "node_role_arn", "remote_access",
        "subnet_ids",
    }),
    # msk_configuration: internal/service/kafka/configuration.go (ForceNew: name, kafka_versions; server_properties
    # makes a new revision in place).
    "aws_msk_configuration": frozenset({"name", "kafka_versions"}),
    "aws_launch_template": frozenset({"name", "name_prefix"}),
    # Route 53 ARC (internal/service/route53recoverycontrolconfig): a cluster's name, and the cluster of a control
    # panel or routing control, force a new one; a new routing control starts OFF.
    "aws_route53recoverycontrolconfig_cluster": frozenset({"name"}),
    "aws_route53recoverycontrolconfig_control_panel": frozenset({"cluster_arn"}),
    "aws_route53recoverycontrolconfig_routing_control": frozenset({"cluster_arn"}),
}

#: Optional+Computed ForceNew arguments that a read replica inherits from its source and the provider reads
#: back (``d.Set("username", v.MasterUsername)``, ``d.Set("db_name", v.DBName)`` in resourceInstanceRead): an
#: instance created as a replica has them in state, so a configuration that starts naming them (the failback's
#: return to the original topology) changes nothing when the values are the source's. The review cannot read
#: state: it says so instead of announcing a replacement, and ``terraform plan`` decides.
INHERITED_FROM_SOURCE: dict[str, frozenset[str]] = {"aws_db_instance": frozenset({"username", "db_name"})}

#: Changes that plan cleanly and fail at apply: (type, attribute) -> why. ``aws_db_instance`` sends a
#: ModifyDBInstance for any change but tags and snapshot settings (resourceInstanceUpdate, HasChangesExcept);
#: RDS refuses one that requests nothing when ApplyImmediately is false ("InvalidParameterCombination: No
#: modifications were requested"; accepted when it is true: crossplane-contrib/provider-aws#2146).
NOTHING_BUT: dict[str, frozenset[str]] = {
    "aws_db_instance": frozenset({"apply_immediately", "final_snapshot_identifier", "skip_final_snapshot",
                                  "delete_automated_backups", "lifecycle.prevent_destroy"}),
}

#: In-place changes that AWS may refuse or that interrupt service: printed as warnings, not failures.
RISKY_IN_PLACE: dict[str, dict[str, str]] = {
    "aws_db_instance": {"db_subnet_group_name": "RDS refuses a move to another subnet group in the same VPC"},
    "aws_msk_cluster": {"kafka_version": "a rolling broker upgrade; downgrades are impossible"},
    "aws_eks_cluster": {"version": "control plane upgrade; one minor version at a time, never down"},
    "aws_eks_node_group": {"release_version": "nodes roll to the new AMI release, max_unavailable at a time"},
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
    allowed: str = ""  # the allow-list's reason, when a destructive change is on it
    refused: str = ""  # a change no allow-list can allow
    #: Why AWS would refuse this change at apply although it plans cleanly (the review exits 1).
    fails_at_apply: list[str] = field(default_factory=list)

    @property
    def rtype(self) -> str:
        return self.address.split(".", 1)[0]


@dataclass
class StackReview:
    name: str
    changes: list[Change] = field(default_factory=list)
    note: str = ""
    #: What AWS would refuse at apply (cross-resource and cross-stack rules): exit 1 whatever the flags.
    refusals: list[str] = field(default_factory=list)

    @property
    def destructive(self) -> list[Change]:
        return [c for c in self.changes if c.destructive]

    @property
    def blocking(self) -> list[Change]:
        """Destructive changes the allow-list does not cover, and refused ones."""
        return [c for c in self.changes if (c.destructive and not c.allowed) or c.refused]

    @property
    def failing(self) -> list[str]:
        return [*self.refusals, *(f"{c.address}: {why}" for c in self.changes for why in c.fails_at_apply)]


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
    inherited = [k for k in forcing if k in INHERITED_FROM_SOURCE.get(rtype, ()) and before.get(k) is None]
    forcing = [k for k in forcing if k not in inherited]
    change = Change("replace" if forcing else "update", address, path, attributes=changed)
    for key in inherited:
        change.warnings.append(f"{key}: now {_short(after.get(key))}; the state holds the value read from AWS "
                               "(inherited from the replica's source): terraform plan must show no change here")
    if moved_from:
        change.details.append(f"moved from {moved_from}")
    for key in forcing:
        change.details.append(f"{key}: {_short(before.get(key))} -> {_short(after.get(key))} forces replacement")
    change.destructive = bool(forcing) and (rtype in DATA_LOSS_TYPES or rtype in FLAGGED_REPLACEMENTS)
    if forcing:
        first = "created before the old one is destroyed" if after.get("lifecycle.create_before_destroy") else "destroyed before its replacement exists"
        change.details.append(f"replacement order: {first}")
        if rtype in FLAGGED_REPLACEMENTS:
            change.details.append(FLAGGED_REPLACEMENTS[rtype])
    for key, why in RISKY_IN_PLACE.get(rtype, {}).items():
        if key in changed:
            change.warnings.append(f"{key}: {_short(before.get(key))} -> {_short(after.get(key))}: {why}")
    if rtype == "aws_db_instance" and not before.get("replicate_source_db") and after.get("replicate_source_db"):
        change.refused = (f"a standalone writer would become a replica of {after['replicate_source_db']} again: RDS "
                          "cannot demote an instance (the provider fails or replaces it); commit the topology in force "
                          "to environments/<env>.json (docs/runbooks/failover.md)")
    if rtype in STATEFUL_TYPES and before.get("lifecycle.prevent_destroy") and not after.get("lifecycle.prevent_destroy"):
        change.warnings.append("lifecycle.prevent_destroy removed: Terraform will no longer refuse to destroy it")
    quiet = NOTHING_BUT.get(rtype)
    if (quiet is not None and before.get("apply_immediately") and not after.get("apply_immediately")
            and all(k in quiet or k.startswith("tags.") for k in changed)):
        change.fails_at_apply.append(
            "apply_immediately turns off and nothing else changes: RDS refuses a ModifyDBInstance that requests "
            "no modification with ApplyImmediately=false; turn it off together with a change of this instance")
    return change


def _password_versions(stack: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``({db address: password_wo_version}, {secret version address: secret_string_wo_version})``."""
    res = resources(stack)
    return ({a: c.get("password_wo_version") for a, c in res.items() if a.startswith("aws_db_instance.")},
            {a: c.get("secret_string_wo_version") for a, c in res.items() if a.startswith("aws_secretsmanager_secret_version.")})


def master_password_refusals(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """The writer's master password (``password_wo``) and the credentials secret (``secret_string_wo``) get the
    same ephemeral value only in an apply where *both* version numbers change. A writer whose version changes
    alone gets a password no secret holds (the services lock out); a secret that changes alone holds a password
    no database has."""
    dbs_before, secrets_before = _password_versions(old)
    dbs_after, secrets_after = _password_versions(new)
    changed_dbs = [a for a in dbs_after if a in dbs_before and dbs_after[a] is not None and dbs_after[a] != dbs_before[a]]
    changed_secrets = [a for a in secrets_after if a in secrets_before and secrets_after[a] != secrets_before[a]]
    fenced = [a for a in changed_dbs if (resources(new)[a].get("tags") or {}).get("Role") == "fenced"]
    if fenced:
        return [f"{', '.join(fenced)}: the master password changes on a fenced former writer: the services use another "
                "writer, which keeps the old password (no rotation during a failover or failback: docs/runbooks/rotate-secrets.md)"]
    if changed_dbs and not changed_secrets:
        return [f"{', '.join(changed_dbs)}: password_wo_version changes but no secret version does: the writer "
                "would get a password that no secret holds (bump database.password_version)"]
    if changed_secrets and not changed_dbs and any(v is not None for v in dbs_after.values()):
        return [f"{', '.join(changed_secrets)}: a secret version changes but no database password does: the secret "
                "would hold a password that no database has"]
    return []


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
    if old is not None and new is not None:
        review.refusals.extend(master_password_refusals(old, new))
    return review


def review(old: Mapping[str, Mapping[str, Any]], new: Mapping[str, Mapping[str, Any]],
           allow: AllowList | None = None) -> list[StackReview]:
    reviews = [review_stack(name, old.get(name), new.get(name)) for name in sorted(set(old) | set(new))]
    if allow is not None:
        for r in reviews:
            for c in r.destructive:
                entry = allow.allows(r.name, c.address)
                if entry:
                    c.allowed = entry.reason
    by_name = {r.name: r for r in reviews}
    for stack, message in [*in_use_refusals(reviews, new), *version_refusals(old, new)]:
        by_name[stack].refusals.append(message)
    return reviews


# --------------------------------------------------------------------------------------------------
# What AWS would refuse: cross-resource and cross-stack rules on the change as a whole
# --------------------------------------------------------------------------------------------------


def _refers(cfg: Mapping[str, Any], rtype: str, name: str) -> bool:
    return f"${{{rtype}.{name}." in json.dumps({k: v for k, v in cfg.items() if k not in ("//", "depends_on")})


def in_use_refusals(reviews: list[StackReview], new: Mapping[str, Mapping[str, Any]]) -> Iterator[tuple[str, str]]:
    """A replaced configuration that a resource of the new stack still uses, replaced destroy-first: AWS refuses to
    delete it (aws_rules AWS003), and the apply stops half-way."""
    for r in reviews:
        now = resources(new.get(r.name) or {})
        for change in r.changes:
            consumers = IN_USE_BY.get(change.rtype)
            if change.kind != "replace" or not consumers:
                continue
            name = change.address.split(".", 1)[1]
            if flatten(now.get(change.address, {})).get("lifecycle.create_before_destroy"):
                continue
            users = [a for a, cfg in now.items() if a.split(".", 1)[0] in consumers and _refers(cfg, change.rtype, name)]
            if users:
                yield r.name, (f"{change.address} is replaced destroy-first while {users[0]} uses it: AWS refuses to delete it "
                               "(MSK: \"Configuration is in use by one or more clusters\"; RDS: a parameter group with members); "
                               "give it lifecycle.create_before_destroy and a name that changes with it")


def _version(value: Any) -> tuple[int, ...] | None:
    if not isinstance(value, str) or not re.fullmatch(r"\d+(\.\d+)*", value):
        return None
    return tuple(int(x) for x in value.split("."))


def _everywhere(stacks: Mapping[str, Mapping[str, Any]], rtype: str) -> dict[tuple[str, str], dict[str, Any]]:
    """``{(stack, name): config}`` of every ``rtype`` resource of every stack."""
    return {(stack, name): cfg for stack, data in stacks.items()
            for name, cfg in ((data.get("resource") or {}).get(rtype) or {}).items()}


def version_refusals(old: Mapping[str, Mapping[str, Any]], new: Mapping[str, Mapping[str, Any]]) -> Iterator[tuple[str, str]]:
    """Upgrade order across the whole change: EKS one minor, one cluster at a time; RDS replicas before their
    writer, and a major only with allow_major_version_upgrade."""
    before, after = _everywhere(old, "aws_eks_cluster"), _everywhere(new, "aws_eks_cluster")
    moved = []
    for key, cfg in sorted(after.items()):
        was, now = _version(before.get(key, {}).get("version")), _version(cfg.get("version"))
        if was is None or now is None or was == now:
            continue
        moved.append(key)
        address = f"aws_eks_cluster.{key[1]}"
        if now < was:
            yield key[0], f"{address}: Kubernetes {cfg['version']} is older than {before[key]['version']}: EKS cannot downgrade a control plane"
        elif now[0] != was[0] or now[1] - was[1] > 1:
            yield key[0], f"{address}: {before[key]['version']} -> {cfg['version']} skips a minor: EKS upgrades one minor at a time"
    if len(moved) > 1:
        stacks = ", ".join(stack for stack, _ in moved)
        for stack, _ in moved:
            yield stack, (f"{len(moved)} clusters change Kubernetes version in one change ({stacks}): one region at a time, "
                          "the canary first (cluster.kubernetes_versions, docs/runbooks/upgrade.md)")

    old_dbs, new_dbs = _everywhere(old, "aws_db_instance"), _everywhere(new, "aws_db_instance")
    identifier = {cfg.get("identifier"): key for key, cfg in new_dbs.items()}
    for key, cfg in sorted(new_dbs.items()):
        was_cfg = old_dbs.get(key)
        if was_cfg is None:
            continue
        was, now = _version(was_cfg.get("engine_version")), _version(cfg.get("engine_version"))
        if was is None or now is None or was == now:
            continue
        address = f"aws_db_instance.{key[1]}"
        if now[0] != was[0] and not cfg.get("allow_major_version_upgrade"):
            yield key[0], (f"{address}: {was_cfg['engine_version']} -> {cfg['engine_version']} is a major upgrade without "
                           "allow_major_version_upgrade: RDS refuses it (database.allow_major_version_upgrade)")
        if cfg.get("replicate_source_db") or now[0] != was[0]:
            continue  # a replica, or a major (RDS moves in-region replicas with their source)
        for rkey, rcfg in sorted(new_dbs.items()):
            source = str(rcfg.get("replicate_source_db") or "")
            by_reference = rkey[0] == key[0] and f"${{aws_db_instance.{key[1]}." in source
            if not source or not (by_reference or identifier.get(source.rsplit(":", 1)[-1]) == key):
                continue
            replica_was = _version((old_dbs.get(rkey) or {}).get("engine_version"))
            if replica_was is not None and replica_was < now:
                yield key[0], (f"{address}: the writer moves to {cfg['engine_version']} while its replica {rcfg.get('identifier')} "
                               f"({rkey[0]}) still runs {old_dbs[rkey]['engine_version']}: RDS upgrades read replicas first; "
                               "bump database.replica_engine_version in one change, engine_version in the next")


# --------------------------------------------------------------------------------------------------
# Printing
# --------------------------------------------------------------------------------------------------

SYMBOL = {"add": "+", "remove": "-", "update": "~", "replace": "-/+", "move": "->"}


def render(reviews: list[StackReview], *, color: bool) -> Iterator[str]:
    def paint(text: str, code: str) -> str:
        return f"{code}{text}{RESET}" if color else text

    changed = [r for r in reviews if r.changes or r.note or r.refusals]
    if not changed:
        yield "no changes: the two synth outputs declare the same resources"
        return
    for r in changed:
        counts = {k: sum(1 for c in r.changes if c.kind == k) for k in SYMBOL}
        summary = ", ".join(f"{n} {k}" for k, n in counts.items() if n)
        yield paint(f"{r.name}: {summary or 'no resource changes'}" + (f" ({r.note})" if r.note else ""), BOLD)
        for why in r.refusals:
            yield paint(f"  REFUSED: {why}", RED)
        for c in r.changes:
            line = f"  {SYMBOL[c.kind]:>3} {c.address}"
            if c.kind in ("update", "replace") and c.attributes:
                line += f"  [{', '.join(c.attributes[:8])}{', ...' if len(c.attributes) > 8 else ''}]"
            if c.refused:
                line = paint(f"{line}  REFUSED", RED)
            elif c.destructive and c.allowed:
                line = paint(f"{line}  destructive, on the allow-list: {c.allowed}", YELLOW)
            elif c.destructive:
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
            if c.refused:
                yield paint(f"        refused: {c.refused}", RED)
            for why in c.fails_at_apply:
                yield paint(f"        FAILS AT APPLY: {why}", RED)
            if c.destructive and c.path:
                yield f"        construct: {c.path}"
        for refusal in r.refusals:
            yield paint(f"  AWS would refuse: {refusal}", RED)
    destructive = [c for r in reviews for c in r.destructive]
    allowed = [c for c in destructive if c.allowed]
    total = sum(len(r.changes) for r in reviews)
    refusals = sum(len(r.refusals) for r in reviews)
    yield (f"{total} change(s) in {len(changed)} stack(s); {len(destructive)} destroy or replace a stateful resource or a node group"
           + (f" ({len(allowed)} on the allow-list)" if allowed else "")
           + (f"; {refusals} AWS would refuse" if refusals else ""))


# --------------------------------------------------------------------------------------------------
# Failover and failback steps: their documented destruction
# --------------------------------------------------------------------------------------------------

#: Where each step's destroys and replacements are written down (``switch_steps``), next to the inventory.
INVENTORY = ROOT / "tests" / "stateful_addresses.json"


def stack_role(stack: str) -> str:
    """``globalpay-prod-us-east-1`` -> ``us-east-1``: the same key in every environment."""
    parts = stack.split("-", 2)
    return parts[2] if len(parts) == 3 else stack


def documented_destruction(step: str, inventory: Path = INVENTORY) -> dict[str, dict[str, list[str]]]:
    """``{"destroys"|"replaces": {stack role: [address]}}`` of ``step``; SystemExit for a step not written down."""
    steps = json.loads(inventory.read_text()).get("switch_steps", {})
    if step not in steps:
        known = ", ".join(k for k in steps if not k.startswith("/"))
        raise SystemExit(f"step {step!r} is not documented in {inventory.name} (switch_steps: {known})")
    return steps[step]


def undocumented_destruction(step: str, destructive: list[tuple[str, Change]], inventory: Path = INVENTORY) -> list[tuple[str, Change]]:
    """The destroys (``remove``) and replacements of ``destructive`` that ``step`` does not document."""
    documented = documented_destruction(step, inventory)
    allowed = {"remove": documented.get("destroys", {}), "replace": documented.get("replaces", {})}
    return [(stack, c) for stack, c in destructive if c.address not in allowed.get(c.kind, {}).get(stack_role(stack), [])]


# --------------------------------------------------------------------------------------------------
# Synthesizing a git ref
# --------------------------------------------------------------------------------------------------


def synth_git_ref(ref: str, workdir: Path, env: str) -> Path:
    # The base is synthesized with the base's own environments/<env>.json (main.py reads it in the worktree).
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
    parser.add_argument("--allow-list", type=Path, default=None,
                        help="reviewed allow-list of destructive changes (default: environments/<env>.allow-destructive.json)")
    parser.add_argument("--switch-step", metavar="STEP",
                        help="a failover or failback step (docs/runbooks/failover/STEP.json): exactly the destroys and "
                             "replacements tests/stateful_addresses.json documents for it are allowed")
    parser.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    parser.add_argument("--stateful-types", action="store_true", help="print DATA_LOSS_TYPES as JSON and exit (the pipeline's plan check reads it)")
    args = parser.parse_args(argv)
    if args.stateful_types:
        print(json.dumps(sorted(DATA_LOSS_TYPES)))
        return 0
    try:
        allow = load_allow_list(args.env, args.allow_list)
    except AllowListError as error:
        print(f"refused: {error}", file=sys.stderr)
        return 2

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
        new_stacks = read_stacks(new_dir)
        reviews = review(read_stacks(old_dir), new_stacks, allow)
    for line in render(reviews, color=color):
        print(line)
    for entry in allow.unused(set(new_stacks)):
        print(f"note: {allow.source}: {entry.stack} {entry.address} matches no destructive change (remove it once deployed)")
    failing = [why for r in reviews for why in r.failing]
    for why in failing:
        print(f"refused: fails at apply: {why}", file=sys.stderr)
    refused = [c for r in reviews for c in r.changes if c.refused]
    if refused:
        print(f"refused: {len(refused)} change(s) no allow-list can allow (docs/runbooks/failover.md)", file=sys.stderr)
        return 1
    destructive = [(r.name, c) for r in reviews for c in r.destructive]
    if args.switch_step:
        undocumented = undocumented_destruction(args.switch_step, destructive)
        for stack, change in undocumented:
            print(f"refused: {stack}: {change.address} is destroyed or replaced, and step {args.switch_step} does not "
                  "document it (tests/stateful_addresses.json, switch_steps)", file=sys.stderr)
        if not undocumented and destructive:
            print(f"{len(destructive)} destroy(s) or replacement(s), each documented for step {args.switch_step}")
        return 1 if undocumented or failing else 0
    if failing:
        return 1
    blocking = [c for r in reviews for c in r.blocking if not c.refused]
    if blocking and not args.allow_destructive:
        print(f"refused: destructive changes to stateful resources or node groups not on {allow.source} (add each reviewed "
              "address with its reason, docs/safe-change.md)", file=sys.stderr)
        return 1
    if failing:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
