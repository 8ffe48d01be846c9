"""AWS API rules the emulator does not enforce (constructs_lib/aws_rules.py): each rule refuses a planted
violation through the synth-time policy (exit 3 before any JSON is written), accepts the correct form, and the
synthesized environments break none of them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cdktf import TerraformResourceLifecycle, TerraformStack

from constructs_lib import aws_rules
from constructs_lib.common import assume_role_policy, protected
from constructs_lib.providers import aws
from tests.synth import FAILOVER, Synth, synth
from tests.test_policy import accepted, assert_refused_for, key, refused

SOURCE_ARN = "arn:aws:rds:us-east-1:123456789012:db:demo-primary"


def replica(stack: TerraformStack, *, source: str = SOURCE_ARN, with_key: bool) -> None:
    args: dict[str, Any] = {
        "identifier": "demo-replica", "instance_class": "db.t4g.micro", "replicate_source_db": source,
        "storage_encrypted": True, "publicly_accessible": False, "deletion_protection": True,
        "skip_final_snapshot": True, "lifecycle": protected(),
    }
    if with_key:
        args["kms_key_id"] = key(stack).arn
    aws.db_instance.DbInstance(stack, "replica", **args)


def eu_replica(stack: TerraformStack, *, with_key: bool) -> None:
    """A replica of the us-east-1 writer made by a eu-west-1 provider (the DR region's stack)."""
    eu = aws.provider.AwsProvider(stack, "aws-eu", region="eu-west-1", alias="eu",
                                  default_tags=[{"tags": {"Environment": "Test", "Project": "GlobalPay", "CostCenter": "Engineering"}}])
    args: dict[str, Any] = {
        "provider": eu, "identifier": "demo-replica-eu", "instance_class": "db.t4g.micro", "replicate_source_db": SOURCE_ARN,
        "storage_encrypted": True, "publicly_accessible": False, "deletion_protection": True,
        "skip_final_snapshot": True, "lifecycle": protected(),
    }
    if with_key:
        args["kms_key_id"] = aws.kms_key.KmsKey(stack, "eu-key", provider=eu, enable_key_rotation=True, lifecycle=protected()).arn
    aws.db_instance.DbInstance(stack, "replica", **args)


def test_a_same_region_replica_naming_a_key_is_refused(tmp_path: Path) -> None:
    violation = refused(tmp_path, lambda s: replica(s, with_key=True))
    assert_refused_for(violation, "AWS001", "demo/replica", "InvalidParameterCombination")


def test_a_same_region_replica_of_an_instance_of_the_stack_naming_a_key_is_refused(tmp_path: Path) -> None:
    def build(stack: TerraformStack) -> None:
        source = aws.db_instance.DbInstance(
            stack, "primary", identifier="demo-primary", engine="postgres", instance_class="db.t4g.micro",
            allocated_storage=20, username="demo", manage_master_user_password=True, storage_encrypted=True,
            kms_key_id=key(stack, "primary-key").arn, publicly_accessible=False, deletion_protection=True,
            lifecycle=protected())
        replica(stack, source=source.arn, with_key=True)

    assert_refused_for(refused(tmp_path, build), "AWS001", "demo/replica", "inherits its source's key")


def test_a_same_region_replica_without_a_key_passes(tmp_path: Path) -> None:
    stack = accepted(tmp_path, lambda s: replica(s, with_key=False))
    (instance,) = stack["resource"]["aws_db_instance"].values()
    assert "kms_key_id" not in instance


def test_a_cross_region_replica_needs_its_regions_key(tmp_path: Path) -> None:
    assert_refused_for(refused(tmp_path, lambda s: eu_replica(s, with_key=False)), "AWS001", "demo/replica", "names no kms_key_id")
    assert accepted(tmp_path / "ok", lambda s: eu_replica(s, with_key=True))["resource"]["aws_db_instance"]


def eks(stack: TerraformStack, *, wait_for_policies: bool) -> None:
    role = aws.iam_role.IamRole(stack, "role", name="demo-eks", assume_role_policy=assume_role_policy("eks.amazonaws.com"))
    attachment = aws.iam_role_policy_attachment.IamRolePolicyAttachment(
        stack, "role-policy", role=role.name, policy_arn="arn:aws:iam::aws:policy/AmazonEKSClusterPolicy")
    aws.eks_cluster.EksCluster(
        stack, "cluster", name="demo", role_arn=role.arn, vpc_config={"subnet_ids": ["subnet-1", "subnet-2"],
                                                                      "endpoint_public_access": False},
        encryption_config={"resources": ["secrets"], "provider": {"key_arn": key(stack).arn}},
        deletion_protection=True, lifecycle=protected(),
        depends_on=[attachment] if wait_for_policies else None)


def test_a_cluster_created_before_its_roles_policies_is_refused(tmp_path: Path) -> None:
    violation = refused(tmp_path, lambda s: eks(s, wait_for_policies=False))
    assert_refused_for(violation, "AWS002", "demo/cluster", "aws_iam_role_policy_attachment.role-policy")
    assert accepted(tmp_path / "ok", lambda s: eks(s, wait_for_policies=True))["resource"]["aws_eks_cluster"]


def kafka(stack: TerraformStack, *, name: str = "demo-config-3-9-x-kraft", create_first: bool = True) -> None:
    """An MSK cluster and the broker configuration it uses (encrypted, private: the GP rules pass)."""
    config = aws.msk_configuration.MskConfiguration(
        stack, "config", name=name, kafka_versions=["3.9.x.kraft"], server_properties="auto.create.topics.enable=false\n",
        lifecycle=TerraformResourceLifecycle(create_before_destroy=True) if create_first else None)
    aws.msk_cluster.MskCluster(
        stack, "cluster", cluster_name="demo", kafka_version="3.9.x.kraft", number_of_broker_nodes=3,
        broker_node_group_info={"instance_type": "kafka.m7g.large", "client_subnets": ["a", "b", "c"], "security_groups": ["sg"],
                                "connectivity_info": {"public_access": {"type": "DISABLED"}}},
        encryption_info={"encryption_at_rest_kms_key_arn": key(stack).arn,
                         "encryption_in_transit": {"client_broker": "TLS", "in_cluster": True}},
        configuration_info={"arn": config.arn, "revision": config.latest_revision}, lifecycle=protected())


def test_a_configuration_in_use_replaced_destroy_first_is_refused(tmp_path: Path) -> None:
    """The code before: ``globalpay-<env>-kafka-config`` without create_before_destroy, so a Kafka version bump made
    Terraform delete the configuration its cluster uses ("Configuration is in use by one or more clusters")."""
    violation = refused(tmp_path, lambda s: kafka(s, create_first=False))
    assert_refused_for(violation, "AWS003", "demo/config", "aws_msk_cluster.cluster uses it")
    assert accepted(tmp_path / "ok", kafka)["resource"]["aws_msk_configuration"]


def test_a_parameter_group_in_use_replaced_destroy_first_is_refused(tmp_path: Path) -> None:
    def build(stack: TerraformStack, *, create_first: bool) -> None:
        group = aws.db_parameter_group.DbParameterGroup(
            stack, "params", name="demo-postgres15", family="postgres15",
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True) if create_first else None)
        aws.db_instance.DbInstance(
            stack, "db", identifier="demo-db", engine="postgres", instance_class="db.t4g.medium", allocated_storage=20,
            username="demo", manage_master_user_password=True, storage_encrypted=True, kms_key_id=key(stack).arn,
            publicly_accessible=False, deletion_protection=True, parameter_group_name=group.name, lifecycle=protected())

    assert_refused_for(refused(tmp_path, lambda s: build(s, create_first=False)), "AWS003", "demo/params", "aws_db_instance.db uses it")
    assert accepted(tmp_path / "ok", lambda s: build(s, create_first=True))["resource"]["aws_db_parameter_group"]


def node_group(stack: TerraformStack, *, prefix: bool, create_first: bool) -> None:
    role = aws.iam_role.IamRole(stack, "role", name="demo-nodes", assume_role_policy=assume_role_policy("ec2.amazonaws.com"))
    names = {"node_group_name_prefix": "demo-nodes-"} if prefix else {"node_group_name": "demo-nodes"}
    aws.eks_node_group.EksNodeGroup(
        stack, "nodes", cluster_name="demo", node_role_arn=role.arn, subnet_ids=["a", "b"],
        scaling_config={"min_size": 1, "max_size": 2, "desired_size": 1},
        lifecycle=TerraformResourceLifecycle(create_before_destroy=True) if create_first else None, **names)


def test_a_node_group_replaced_destroy_first_or_created_first_under_its_own_name_is_refused(tmp_path: Path) -> None:
    """The code before: a fixed name and no create_before_destroy, so an instance-type change removed every node first."""
    assert_refused_for(refused(tmp_path / "a", lambda s: node_group(s, prefix=False, create_first=False)),
                       "AWS003", "demo/nodes", "would remove every node before a new one exists")
    assert_refused_for(refused(tmp_path / "b", lambda s: node_group(s, prefix=False, create_first=True)),
                       "AWS004", "demo/nodes", "use node_group_name_prefix")
    assert accepted(tmp_path / "ok", lambda s: node_group(s, prefix=True, create_first=True))["resource"]["aws_eks_node_group"]


def test_a_configuration_created_first_must_carry_its_version_in_its_name(tmp_path: Path) -> None:
    violation = refused(tmp_path, lambda s: kafka(s, name="demo-kafka-config"))
    assert_refused_for(violation, "AWS004", "demo/config", "does not carry its Kafka version 3.9.x.kraft")


def test_a_replica_older_than_its_source_in_the_same_stack_is_refused(tmp_path: Path) -> None:
    def build(stack: TerraformStack, replica_version: str) -> None:
        source = aws.db_instance.DbInstance(
            stack, "primary", identifier="demo-primary", engine="postgres", engine_version="15.18", instance_class="db.t4g.medium",
            allocated_storage=20, username="demo", manage_master_user_password=True, storage_encrypted=True,
            kms_key_id=key(stack, "primary-key").arn, publicly_accessible=False, deletion_protection=True, lifecycle=protected())
        aws.db_instance.DbInstance(
            stack, "replica", identifier="demo-replica", instance_class="db.t4g.medium", replicate_source_db=source.arn,
            engine_version=replica_version, storage_encrypted=True, publicly_accessible=False, deletion_protection=True,
            skip_final_snapshot=True, lifecycle=protected())

    assert_refused_for(refused(tmp_path, lambda s: build(s, "15.17")), "AWS005", "demo/replica", "older than its source's 15.18")
    assert accepted(tmp_path / "ok", lambda s: build(s, "15.18"))["resource"]["aws_db_instance"]


@pytest.fixture(scope="module")
def failover() -> Synth:
    return synth("prod", FAILOVER)


@pytest.mark.parametrize("env", ["prod", "staging", "failover"])
def test_no_synthesized_stack_breaks_an_aws_rule(env: str, prod: Synth, staging: Synth, failover: Synth) -> None:
    """What the policy enforces at synth, read back from the JSON as written (and the rules are not vacuous:
    the same-region replica, the cross-region one and every EKS role consumer are there to be judged)."""
    out = {"prod": prod, "staging": staging, "failover": failover}[env]
    judged = {"same-region replica": 0, "cross-region replica": 0, "role consumer": 0}
    for name in out:
        stack = out[name]
        assert list(aws_rules.check(stack)) == [], name
        regions = aws_rules.provider_regions(stack)
        for cfg in (stack.get("resource", {}).get("aws_db_instance") or {}).values():
            source = cfg.get("replicate_source_db", "")
            if source:
                same = f":rds:{regions['']}:" in source
                judged["same-region replica" if same else "cross-region replica"] += 1
                assert ("kms_key_id" in cfg) is not same, (name, source)
        for rtype, attrs in aws_rules.ROLE_CONSUMERS.items():
            for cfg in (stack.get("resource", {}).get(rtype) or {}).values():
                judged["role consumer"] += any(aws_rules.ROLE_REFERENCE.match(str(cfg.get(a, ""))) for a in attrs)
    assert judged["same-region replica"] == 1 and judged["role consumer"] >= 3, judged
    if env != "failover":
        assert judged["cross-region replica"] == 1, judged
