"""AWS API rules the plan rehearsal's emulator does not enforce, checked on every stack at synth time.

moto (and ``terraform plan`` against it) accepts configurations that AWS refuses at apply time, or that the
provider turns into a perpetual diff. Each rule here is one such behaviour, learnt from the AWS API
reference, the provider's source at its pinned tag or a reported failure, and cited next to it. The synth-time
policy (``constructs_lib/policy.py``) runs them on every stack's configuration, exactly as ``cdk.tf.json`` will
hold it, and refuses the synth (exit 3) on a violation: the first apply never has to find out.

``docs/safe-change.md`` ("AWS rules the emulator does not enforce") lists every rule with the check that covers
it; rules that are about configuration values (names, ARNs) live in the config validator instead.

=======  =====================================================================================================
AWS001   a read replica names a KMS key exactly when it is in another region than its source: CreateDBInstance-
         ReadReplica, ``KmsKeyId``: "If you create an encrypted read replica in a different AWS Region, then you
         must specify a KMS key identifier for the destination AWS Region"; "If you create an encrypted read
         replica in the same AWS Region as the source DB
         instance [...], don't specify a value for this parameter. A read replica in the same AWS Region is
         always encrypted with the same KMS key as the source" (RDS API Reference). With ``kms_key_id`` set the
         provider also sets ``SourceRegion`` from the source's ARN, so the SDK presigns a cross-region request
         (hashicorp/terraform-provider-aws, internal/service/rds/instance.go, ``resourceInstanceCreate``, the
         ``replicate_source_db`` branch), and RDS answers ``InvalidParameterCombination: Your request does not
         require the KMS key parameter``.
AWS002   a resource that hands AWS an IAM role to act with depends on that role's policies: IAM is eventually
         consistent, so EKS (and RDS enhanced monitoring, EKS add-ons) can be created before the role's
         permissions are visible, and on destroy the permissions can go before EKS has removed what it made
         (its security groups and ENIs). The provider's own ``aws_eks_cluster`` and ``aws_eks_node_group``
         examples say so ("Ensure that IAM Role permissions are created before and deleted after EKS Cluster
         handling. Otherwise, EKS will not be able to properly delete EKS managed EC2 infrastructure such as
         Security Groups.", website/docs/r/eks_cluster.html.markdown at v6.25.0).
AWS003   what a running resource uses is replaced create-before-destroy: MSK refuses to delete a configuration a
         cluster uses ("BadRequestException: Configuration is in use by one or more clusters. Dissociate the
         configuration from the clusters", hashicorp/terraform-provider-aws#15831 and #16691: a Kafka version bump
         forces a new ``aws_msk_configuration``), RDS one a DB instance or cluster uses (DeleteDBParameterGroup:
         "The DB parameter group to be deleted can't be associated with any DB instances", RDS API Reference), so
         Terraform's default destroy-then-create fails half-way. A node group is what the pods run on: destroyed
         first, every node goes before a new one exists (EKS drains each node on DeleteNodegroup, EKS User Guide,
         "Delete a managed node group", with nowhere to go).
AWS004   a create-before-destroy resource gets a new name with each generation: the replacement exists next to the
         old one, and EKS (CreateNodegroup: ResourceInUseException), MSK (CreateConfiguration: ConflictException)
         and RDS (CreateDBParameterGroup: DBParameterGroupAlreadyExists) refuse a second one of the same name. A node
         group uses ``node_group_name_prefix``; an MSK configuration's name carries its Kafka version, a parameter
         group's its family (the attributes that force their replacement).
AWS005   a read replica never runs an older engine version than its source: RDS requires replicas to take a minor
         upgrade before their source ("you must first upgrade all of the read replicas before you upgrade the
         source instance", RDS User Guide, "Upgrades of the RDS for PostgreSQL DB engine"). Judged where the source
         is in the same stack (the configuration validator holds the rule for every replica:
         ``database.replica_engine_version``).
=======  =====================================================================================================
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

RULES: dict[str, str] = {
    "AWS001": "a read replica names a KMS key exactly when it is in another region than its source",
    "AWS002": "a resource acting with an IAM role depends on the role's policies",
    "AWS003": "what a running resource uses is replaced create-before-destroy",
    "AWS004": "a create-before-destroy resource gets a new name with each generation",
    "AWS005": "a read replica never runs an older engine version than its source",
}

#: Resource types that hand AWS a role to act with, and the attribute naming it.
ROLE_CONSUMERS: dict[str, tuple[str, ...]] = {
    "aws_eks_cluster": ("role_arn",),
    "aws_eks_node_group": ("node_role_arn",),
    "aws_eks_addon": ("service_account_role_arn",),
    "aws_db_instance": ("monitoring_role_arn",),
    "aws_rds_cluster_instance": ("monitoring_role_arn",),
    "aws_lambda_function": ("role",),
    "aws_flow_log": ("iam_role_arn",),
    "aws_s3_bucket_replication_configuration": ("role",),
    "aws_dlm_lifecycle_policy": ("execution_role_arn",),
    "aws_config_configuration_recorder": ("role_arn",),
    "aws_cloudtrail": ("cloud_watch_logs_role_arn",),
    "aws_guardduty_malware_protection_plan": ("role",),
}
#: Resources that give a role its permissions, and the attribute naming the role.
ROLE_POLICY_TYPES: dict[str, str] = {
    "aws_iam_role_policy_attachment": "role",
    "aws_iam_role_policy": "role",
    "aws_iam_role_policies_exclusive": "role_name",
    "aws_iam_role_policy_attachments_exclusive": "role_name",
}

ROLE_REFERENCE = re.compile(r"^\$\{aws_iam_role\.([^.}]+)\.(arn|name|id|unique_id)\}$")
RESOURCE_REFERENCE = re.compile(r"^\$\{(aws_[a-z0-9_]+)\.([^.}]+)\.[a-z_]+\}$")
RDS_ARN_REGION = re.compile(r"^arn:[^:]+:rds:([a-z0-9-]+):")

#: (resource type, logical id, construct path or address, rule, message)
Violation = tuple[str, str, str, str, str]


def _path(rtype: str, fid: str, cfg: Mapping[str, Any]) -> str:
    meta = cfg.get("//") if isinstance(cfg.get("//"), Mapping) else {}
    return (meta.get("metadata") or {}).get("path") or f"{rtype}.{fid}"


def provider_regions(config: Mapping[str, Any]) -> dict[str, str]:
    """Region of each AWS provider of a stack: ``""`` for the default one, ``aws.<alias>`` for the others."""
    providers = (config.get("provider") or {}).get("aws") or []
    if isinstance(providers, Mapping):
        providers = [providers]
    out: dict[str, str] = {}
    for p in providers:
        key = f"aws.{p['alias']}" if p.get("alias") else ""
        out[key] = p.get("region", "")
    return out


def replica_key(config: Mapping[str, Any]) -> Iterator[Violation]:
    """AWS001: the source's region from its ARN (or a reference to an instance of this stack) against the
    region of the replica's provider. A source whose region only Terraform knows is not judged."""
    regions = provider_regions(config)
    for fid, cfg in ((config.get("resource") or {}).get("aws_db_instance") or {}).items():
        source = cfg.get("replicate_source_db")
        if not isinstance(source, str) or not source:
            continue
        region = regions.get(str(cfg.get("provider", "")).removeprefix("${").removesuffix("}"), "")
        match = RDS_ARN_REGION.match(source)
        if match is not None:
            same = match.group(1) == region
        elif source.startswith("${aws_db_instance.") and RESOURCE_REFERENCE.match(source):
            same = True
        else:
            continue
        path = _path("aws_db_instance", fid, cfg)
        if same and "kms_key_id" in cfg:
            yield ("aws_db_instance", fid, path, "AWS001",
                   f"read replica of {source} in its own region ({region}) sets kms_key_id: RDS refuses it "
                   "(InvalidParameterCombination); a same-region replica inherits its source's key")
        elif not same and not cfg.get("kms_key_id"):
            yield ("aws_db_instance", fid, path, "AWS001",
                   f"cross-region read replica of {source} in {region} names no kms_key_id: RDS needs a key of "
                   "the replica's region to encrypt it")


def role_used_before_its_policies(config: Mapping[str, Any]) -> Iterator[Violation]:
    """AWS002: every policy (attachment) of the role a consumer names is in that consumer's ``depends_on``."""
    resources = config.get("resource") or {}
    policies: dict[str, list[str]] = {}
    for ptype, attr in ROLE_POLICY_TYPES.items():
        for fid, cfg in (resources.get(ptype) or {}).items():
            match = ROLE_REFERENCE.match(str(cfg.get(attr, "")))
            if match:
                policies.setdefault(match.group(1), []).append(f"{ptype}.{fid}")
    for rtype, attrs in ROLE_CONSUMERS.items():
        for fid, cfg in (resources.get(rtype) or {}).items():
            depends = set(cfg.get("depends_on") or [])
            for attr in attrs:
                match = ROLE_REFERENCE.match(str(cfg.get(attr, "")))
                if not match:
                    continue
                missing = sorted(set(policies.get(match.group(1), ())) - depends)
                if missing:
                    yield (rtype, fid, _path(rtype, fid, cfg), "AWS002",
                           f"{attr} names a role whose policies it does not depend on ({', '.join(missing)}): "
                           "AWS may act with the role before IAM shows its permissions, and a destroy removes "
                           "them before AWS cleaned up")


#: Types a running resource uses and that AWS refuses to delete while it does: the consumers naming them.
IN_USE_BY: dict[str, tuple[str, ...]] = {
    "aws_msk_configuration": ("aws_msk_cluster",),
    "aws_db_parameter_group": ("aws_db_instance", "aws_rds_cluster_instance"),
    "aws_rds_cluster_parameter_group": ("aws_rds_cluster",),
}
#: Types that are in use by what runs on them whether or not another resource names them.
ALWAYS_IN_USE = ("aws_eks_node_group",)


def _lifecycle(cfg: Mapping[str, Any]) -> Mapping[str, Any]:
    lifecycle = cfg.get("lifecycle") or {}
    return lifecycle if isinstance(lifecycle, Mapping) else {}


def _references(value: Any, rtype: str) -> set[str]:
    """Names of the ``rtype`` resources that ``value`` (any nesting) refers to with ``${rtype.name.attr}``."""
    return set(re.findall(rf"\$\{{{re.escape(rtype)}\.([^.}}]+)\.", json.dumps(value)))


def in_use_replaced_destroy_first(config: Mapping[str, Any]) -> Iterator[Violation]:
    """AWS003: every configuration a consumer of this stack names, and every node group, is create-before-destroy."""
    resources = config.get("resource") or {}
    for rtype, consumers in IN_USE_BY.items():
        used: dict[str, str] = {}
        for ctype in consumers:
            for cname, ccfg in (resources.get(ctype) or {}).items():
                for name in _references({k: v for k, v in ccfg.items() if k not in ("//", "depends_on")}, rtype):
                    used.setdefault(name, f"{ctype}.{cname}")
        for name, consumer in sorted(used.items()):
            cfg = (resources.get(rtype) or {}).get(name)
            if cfg is not None and not _lifecycle(cfg).get("create_before_destroy"):
                yield (rtype, name, _path(rtype, name, cfg), "AWS003",
                       f"{consumer} uses it and a forcing change would destroy it first, which AWS refuses while it is in "
                       "use: set lifecycle.create_before_destroy")
    for rtype in ALWAYS_IN_USE:
        for name, cfg in (resources.get(rtype) or {}).items():
            if not _lifecycle(cfg).get("create_before_destroy"):
                yield (rtype, name, _path(rtype, name, cfg), "AWS003",
                       "a forcing change (instance types, disk, subnets) would remove every node before a new one exists: "
                       "set lifecycle.create_before_destroy")


def _slug(version: str) -> str:
    return version.replace(".", "-")


def fixed_name_created_first(config: Mapping[str, Any]) -> Iterator[Violation]:
    """AWS004: a create-before-destroy node group has a name prefix; a create-before-destroy MSK configuration or
    parameter group names the attribute that forces its replacement (Kafka version, family)."""
    resources = config.get("resource") or {}
    for rtype, items in resources.items():
        for name, cfg in (items or {}).items():
            if not _lifecycle(cfg).get("create_before_destroy"):
                continue
            problem = ""
            if rtype == "aws_eks_node_group" and "node_group_name_prefix" not in cfg:
                problem = "has a fixed node_group_name: its replacement cannot be created next to it; use node_group_name_prefix"
            elif rtype == "aws_msk_configuration":
                missing = [v for v in cfg.get("kafka_versions") or [] if _slug(str(v)) not in str(cfg.get("name", ""))]
                if missing:
                    problem = f"name {cfg.get('name')!r} does not carry its Kafka version {missing[0]}: the configuration for the next version would collide with it"
            elif rtype in ("aws_db_parameter_group", "aws_rds_cluster_parameter_group") and "name_prefix" not in cfg:
                family = str(cfg.get("family", ""))
                if family and family not in str(cfg.get("name", "")):
                    problem = f"name {cfg.get('name')!r} does not carry its family {family}: the group of the next major would collide with it"
            if problem:
                yield (rtype, name, _path(rtype, name, cfg), "AWS004", problem)


def _version(value: Any) -> tuple[int, ...] | None:
    if not isinstance(value, str) or not re.fullmatch(r"\d+(\.\d+)*", value):
        return None
    return tuple(int(x) for x in value.split("."))


def replica_older_than_source(config: Mapping[str, Any]) -> Iterator[Violation]:
    """AWS005: a replica whose source is an instance of this stack (a reference, or an ARN naming its identifier)
    runs at least the source's engine version."""
    instances = (config.get("resource") or {}).get("aws_db_instance") or {}
    by_identifier = {cfg.get("identifier"): name for name, cfg in instances.items()}
    for name, cfg in instances.items():
        source = cfg.get("replicate_source_db")
        if not isinstance(source, str) or not source:
            continue
        refs = _references(source, "aws_db_instance")
        source_name = next(iter(refs)) if refs else by_identifier.get(source.rsplit(":", 1)[-1])
        if source_name not in instances:
            continue
        mine, theirs = _version(cfg.get("engine_version")), _version(instances[source_name].get("engine_version"))
        if mine is not None and theirs is not None and mine < theirs:
            yield ("aws_db_instance", name, _path("aws_db_instance", name, cfg), "AWS005",
                   f"engine_version {cfg['engine_version']} is older than its source's {instances[source_name]['engine_version']}: "
                   "RDS upgrades read replicas first (database.replica_engine_version, then engine_version)")


CHECKS = (replica_key, role_used_before_its_policies, in_use_replaced_destroy_first, fixed_name_created_first,
          replica_older_than_source)


def check(config: Mapping[str, Any]) -> Iterator[Violation]:
    """Every violation of every rule in one stack's Terraform configuration (``cdk.tf.json``)."""
    for rule in CHECKS:
        yield from rule(config)
