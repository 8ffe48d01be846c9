"""The synthesized JSON as a reviewer reads the plan, region by region.

Fixtures: ``prod`` and ``staging`` (shared session syntheses); two extra syntheses of our own: the failover
configuration (primary_region and secondary_region swapped) and the Aurora variant. Validator refusals run
``main.py`` in a subprocess with an overrides file, as an operator would.

The KMS keys live in each region's ``-keys`` stack; the data tier (core stack) reaches them only through
cdktf cross-stack references (``key_ref``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from constructs_lib.config import load_config
from regions import REGION_SPECS
from tests.synth import FAILOVER, Synth, by_path, resources, synth

ROOT = Path(__file__).resolve().parent.parent
US, EU, AP = "globalpay-prod-us-east-1", "globalpay-prod-eu-west-1", "globalpay-prod-ap-southeast-2"
CORES = (US, EU, AP)
AURORA = {"database": {"engine": "aurora-postgresql", "engine_version": "15.13"}}
#: The secrets every region's pods read, by name suffix after ``globalpay/<env>/``, with their construct paths.
SHARED_SECRETS = {
    "database/credentials": "/data/database-credentials/secret",
    "jwt/keys": "/data/operator-secrets/jwt-keys/secret",
    "api/keys": "/data/operator-secrets/api-keys/secret",
}


def ref(stack: dict, rtype: str, path_suffix: str, attr: str) -> str:
    """The interpolation another resource uses to point at ``path_suffix``'s ``attr``."""
    for name, cfg in resources(stack, rtype).items():
        if cfg["//"]["metadata"]["path"].endswith(path_suffix):
            return f"${{{rtype}.{name}.{attr}}}"
    raise AssertionError(f"no {rtype} at {path_suffix}")


def key_ref(synthesized: Synth, consumer: str, kind: str, owner: str | None = None) -> str:
    """The expression ``consumer``'s resources use for the ARN of the ``kind`` key ("data" or "secrets") of
    ``owner``'s region (default: the consumer's own region).

    The keys are resources of ``<owner>-keys``; a core stack reads them through a cdktf cross-stack
    reference: a ``terraform_remote_state`` of that stack's state and the output that exports exactly that
    key's ARN. Checked here, so that an equality with this string proves which region's which key it is.
    """
    keys = f"{owner or consumer}-keys"
    producer = synthesized[keys]
    key = ref(producer, "aws_kms_key", f"encryption/{kind}/key", "arn")
    (output,) = [name for name, out in producer["output"].items() if out["value"] == key]
    state = f"cross-stack-reference-input-{keys}"
    remote = synthesized[consumer]["data"]["terraform_remote_state"][state]
    backend = producer["terraform"]["backend"]["s3"]
    assert (remote["backend"], remote["config"]["bucket"], remote["config"]["key"]) == ("s3", backend["bucket"], backend["key"])
    return f"${{data.terraform_remote_state.{state}.outputs.{output}}}"


def data_resources(stack: dict) -> dict[str, dict[str, dict]]:
    """``{type: {name: cfg}}`` of every resource under the ``data`` construct."""
    out: dict[str, dict[str, dict]] = {}
    for rtype, items in stack.get("resource", {}).items():
        for name, cfg in items.items():
            if "/data/" in cfg["//"]["metadata"]["path"]:
                out.setdefault(rtype, {})[name] = cfg
    return out


# ------------------------------------------------------------------------------------------------------
# RDS PostgreSQL
# ------------------------------------------------------------------------------------------------------


def test_primary_instance_has_the_guides_settings_with_corrections(prod):
    s = prod[US]
    db = by_path(s, "aws_db_instance", "/data/database/primary")
    expected = {
        "identifier": "globalpay-prod-primary",
        "engine": "postgres",
        "engine_version": "15.17",  # guide: 15.4, no longer creatable
        "instance_class": "db.r6g.2xlarge",
        "allocated_storage": 500,
        "storage_type": "gp3",
        "iops": 12000,
        "storage_throughput": 500,
        "storage_encrypted": True,
        "multi_az": True,
        "backup_retention_period": 35,
        "backup_window": "03:00-04:00",
        "maintenance_window": "mon:04:00-mon:05:00",
        "enabled_cloudwatch_logs_exports": ["postgresql", "upgrade"],
        "deletion_protection": True,
        "copy_tags_to_snapshot": True,
        "skip_final_snapshot": False,
        "final_snapshot_identifier": "globalpay-prod-primary-final",
        "iam_database_authentication_enabled": True,
        "performance_insights_enabled": True,
        "monitoring_interval": 60,
        "publicly_accessible": False,
        "username": "globalpay_admin",  # guide: admin, reserved by RDS PostgreSQL
        "db_name": "globalpay",
        "password_wo_version": 1,
    }
    assert {k: db.get(k) for k in expected} == expected
    data_key = key_ref(prod, US, "data")
    assert db["kms_key_id"] == data_key
    assert db["performance_insights_kms_key_id"] == data_key
    assert db["monitoring_role_arn"] == ref(s, "aws_iam_role", "/data/database/monitoring-role", "arn")
    assert db["db_subnet_group_name"] == ref(s, "aws_db_subnet_group", "/data/database/subnet-group", "name")
    assert db["parameter_group_name"] == ref(s, "aws_db_parameter_group", "/data/database/parameter-group", "name")
    assert db["password_wo"] == "${ephemeral.aws_secretsmanager_random_password.database_master_password.random_password}"
    assert "password" not in db and "manage_master_user_password" not in db
    assert db["lifecycle"] == {"prevent_destroy": True}
    # RDS checks the monitoring role's permissions at creation: the attachment must exist first.
    attachment = ref(s, "aws_iam_role_policy_attachment", "/data/database/monitoring-policy", "id")[2:-4]
    for instance in resources(s, "aws_db_instance").values():
        assert attachment in instance["depends_on"], instance["identifier"]


def test_master_password_is_generated_ephemerally_without_the_characters_rds_refuses(prod):
    block = prod[US]["ephemeral"]["aws_secretsmanager_random_password"]["database_master_password"]
    assert block["password_length"] >= 16
    assert set('/"@ ') <= set(block["exclude_characters"])


def test_parameter_groups_hold_what_the_instance_classes_can(prod):
    s = prod[US]
    for suffix, family, pages in (("/data/database/parameter-group", "postgres15", "2097152"),
                                  ("/data/database/replica-parameter-group", "postgres15", "1048576")):
        group = by_path(s, "aws_db_parameter_group", suffix)
        assert group["family"] == family
        params = {p["name"]: (p["value"], p["apply_method"]) for p in group["parameter"]}
        assert params["max_connections"] == ("1000", "pending-reboot")  # static parameter
        assert params["work_mem"] == ("65536", "immediate")
        # 8 kB pages: 2097152 = 16 GiB of the writer's 64 GiB; 1048576 = 8 GiB of the replica's 32 GiB.
        assert params["shared_buffers"] == (pages, "pending-reboot")
        assert params["rds.force_ssl"][0] == "1"
        # Audit (constructs_lib/database_audit.py; proven on a real server by tests/test_postgres_roles.py).
        assert params["shared_preload_libraries"] == ("pg_stat_statements,pgaudit", "pending-reboot")
        assert params["pgaudit.log"] == ("ddl,role", "immediate") and params["pgaudit.role"][0] == "rds_pgaudit"
        assert params["log_parameter_max_length"][0] == params["log_parameter_max_length_on_error"][0] == "0"
        assert params["log_statement"][0] == "none"
        # Configuration, not data: a major upgrade replaces it, the new group (named with its family) first.
        assert group["lifecycle"] == {"create_before_destroy": True}
        assert group["name"].endswith(family) or group["name"].endswith(f"{family}-replica")


def test_same_region_replica_in_the_second_az(prod):
    s = prod[US]
    replica = by_path(s, "aws_db_instance", "/data/database/replica-1")
    assert replica["identifier"] == "globalpay-prod-replica-1"
    assert replica["instance_class"] == "db.r6g.xlarge"
    assert replica["availability_zone"] == "us-east-1b"
    # An ARN, not the identifier: with db_subnet_group_name set the provider refuses a bare identifier at plan.
    caller = next(iter(s["data"]["aws_caller_identity"]))
    partition = next(iter(s["data"]["aws_partition"]))
    assert replica["replicate_source_db"] == (
        f"arn:${{data.aws_partition.{partition}.partition}}:rds:us-east-1:"
        f"${{data.aws_caller_identity.{caller}.account_id}}:db:globalpay-prod-primary"
    )
    assert "db_subnet_group_name" in replica
    assert replica["parameter_group_name"] == ref(s, "aws_db_parameter_group", "/data/database/replica-parameter-group", "name")
    for absent in ("username", "password_wo", "db_name"):
        assert absent not in replica
    assert replica["deletion_protection"] is True
    assert replica["lifecycle"] == {"prevent_destroy": True}


def test_cross_region_replica_reads_the_primary_arn_with_eu_west_1s_own_key(prod):
    s = prod[EU]
    replica = by_path(s, "aws_db_instance", "/data/database/replica-eu")
    caller = next(iter(s["data"]["aws_caller_identity"]))
    partition = next(iter(s["data"]["aws_partition"]))
    assert replica["replicate_source_db"] == (
        f"arn:${{data.aws_partition.{partition}.partition}}:rds:us-east-1:"
        f"${{data.aws_caller_identity.{caller}.account_id}}:db:globalpay-prod-primary"
    )
    assert replica["identifier"] == "globalpay-prod-replica-eu"
    assert replica["instance_class"] == "db.r6g.xlarge"
    assert replica["kms_key_id"] == key_ref(prod, EU, "data")
    assert replica["db_subnet_group_name"] == ref(s, "aws_db_subnet_group", "/data/database/subnet-group", "name")
    subnet_group = by_path(s, "aws_db_subnet_group", "/data/database/subnet-group")
    assert subnet_group["subnet_ids"] == [ref(s, "aws_subnet", f"network/db-subnet-{i}", "id") for i in range(3)]
    assert replica["vpc_security_group_ids"] == [ref(s, "aws_security_group", "/data/database/security-group/group", "id")]
    assert replica["parameter_group_name"].startswith("${aws_db_parameter_group.")
    assert "username" not in replica and "password_wo" not in replica
    assert replica["lifecycle"] == {"prevent_destroy": True}


def test_tertiary_region_has_no_database(prod):
    assert not resources(prod[AP], "aws_db_instance")
    assert not resources(prod[AP], "aws_rds_cluster")


def test_rds_log_groups_are_encrypted_and_precreated(prod):
    s = prod[US]
    for name in ("/aws/rds/instance/globalpay-prod-primary/postgresql", "/aws/rds/instance/globalpay-prod-primary/upgrade", "RDSOSMetrics"):
        group = next(g for g in resources(s, "aws_cloudwatch_log_group").values() if g["name"] == name)
        assert group["kms_key_id"] == key_ref(prod, US, "data")
        assert group["retention_in_days"] >= 365


# ------------------------------------------------------------------------------------------------------
# Failover and Aurora (one extra synthesis each)
# ------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def failover():
    return synth("prod", FAILOVER)


#: The one data-tier resource that follows the writer: the role manager's run (not stateful; the function itself
#: exists in both database regions, same address).
INVOCATION = "aws_lambda_invocation"


def test_failover_promotes_the_eu_replica_in_place_and_keeps_every_address(prod, failover):
    rules = "aws_vpc_security_group_ingress_rule"
    for stack in CORES:
        before, after = data_resources(prod[stack]), data_resources(failover[stack])
        before.pop(INVOCATION, None), after.pop(INVOCATION, None)
        # The fenced old writer's security group loses its rules (tests/test_failover.py); nothing else goes.
        assert {(t, n) for t in before for n in before[t] if t != rules} == {(t, n) for t in after for n in after[t] if t != rules}, stack
    # The role manager runs where the writer is: us-east-1 before, eu-west-1 (the promoted replica) after.
    assert [s for s in CORES if resources(prod[s], INVOCATION)] == [US]
    assert [s for s in CORES if resources(failover[s], INVOCATION)] == [EU]
    eu = by_path(failover[EU], "aws_db_instance", "/data/database/replica-eu")
    assert "replicate_source_db" not in eu
    assert eu["identifier"] == "globalpay-prod-replica-eu"
    assert (eu["multi_az"], eu["backup_retention_period"], eu["skip_final_snapshot"]) == (True, 35, False)
    assert eu["final_snapshot_identifier"] == "globalpay-prod-replica-eu-final"
    assert eu["instance_class"] == "db.r6g.2xlarge"
    assert "password_wo" not in eu and "username" not in eu  # a promoted replica keeps its master user
    # us-east-1's writer never becomes a replica: it is fenced in place (same settings, tags saying why), its
    # database security group admits nobody and its parameter group refuses writes.
    us_before, us_after = data_resources(prod[US]), data_resources(failover[US])
    us_before.pop(INVOCATION, None)
    old_writer = by_path(failover[US], "aws_db_instance", "/data/database/primary")
    assert "replicate_source_db" not in old_writer and old_writer["tags"]["Role"] == "fenced"
    assert old_writer["deletion_protection"] is True and old_writer["lifecycle"]["prevent_destroy"] is True
    assert not [n for n in us_after.get(rules, {}) if "database" in n]
    assert {n for n in us_before[rules] if "database" not in n} == set(us_after[rules])


def test_aurora_variant_switches_the_same_construct_to_a_global_cluster():
    aurora = synth("prod", AURORA)
    us, eu = aurora[US], aurora[EU]
    assert not resources(us, "aws_db_instance") and not resources(eu, "aws_db_instance")
    glob = by_path(us, "aws_rds_global_cluster", "/data/database/global-cluster")
    assert (glob["global_cluster_identifier"], glob["storage_encrypted"], glob["deletion_protection"]) == ("globalpay-prod-global", True, True)
    writer = by_path(us, "aws_rds_cluster", "/data/database/cluster")
    assert writer["engine"] == "aurora-postgresql"
    assert writer["master_username"] == "globalpay_admin"
    assert writer["master_password_wo"].startswith("${ephemeral.aws_secretsmanager_random_password.")
    assert writer["kms_key_id"] == key_ref(aurora, US, "data")
    assert writer["lifecycle"] == {"prevent_destroy": True}
    secondary = by_path(eu, "aws_rds_cluster", "/data/database/cluster")
    assert secondary["global_cluster_identifier"] == "globalpay-prod-global"
    assert secondary["kms_key_id"] == key_ref(aurora, EU, "data")
    assert "master_username" not in secondary
    instances = resources(us, "aws_rds_cluster_instance").values()
    assert len(instances) == 2 and all(i["instance_class"] == "db.r6g.2xlarge" and i["performance_insights_enabled"] for i in instances)


# ------------------------------------------------------------------------------------------------------
# Redis
# ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", CORES)
def test_redis_replication_group(prod, stack):
    s = prod[stack]
    rg = by_path(s, "aws_elasticache_replication_group", "/data/cache/replication-group")
    expected = {
        "replication_group_id": "globalpay-prod-redis",
        "engine": "redis",
        "node_type": "cache.r6g.xlarge",
        "num_cache_clusters": 3,
        "automatic_failover_enabled": True,
        "multi_az_enabled": True,
        "at_rest_encryption_enabled": "true",
        "transit_encryption_enabled": True,
        "snapshot_retention_limit": 7,
        "snapshot_window": "03:00-05:00",
        "maintenance_window": "mon:05:00-mon:07:00",
        "port": 6379,
    }
    assert {k: rg.get(k) for k in expected} == expected
    assert rg["kms_key_id"] == key_ref(prod, stack, "data")
    # No AUTH token (it would sit in state): RBAC with the services' IAM-authenticated user, TLS required.
    assert "auth_token" not in rg and "auth_token_update_strategy" not in rg
    assert rg["transit_encryption_mode"] == "required"
    assert rg["user_group_ids"] == [ref(s, "aws_elasticache_user_group", "/data/cache/user-group", "user_group_id")]
    assert {c["log_type"] for c in rg["log_delivery_configuration"]} == {"slow-log", "engine-log"}
    for cfg in rg["log_delivery_configuration"]:
        assert cfg["destination_type"] == "cloudwatch-logs"
        group = by_path(s, "aws_cloudwatch_log_group", f"/data/cache/{cfg['log_type']}-log-group")
        assert group["kms_key_id"] == key_ref(prod, stack, "data")
    assert rg["lifecycle"] == {"prevent_destroy": True}


@pytest.mark.parametrize("stack", CORES)
def test_redis_users_are_the_disabled_default_and_one_iam_user_per_service(prod, stack):
    """ElastiCache RBAC: the user group every replication group needs holds the required ``default`` user,
    switched off, and one user per service, authenticated by IAM (user id = user name), limited to the service's
    own keys. Nothing has a password, so no Redis credential exists in Secrets Manager, the JSON or the state.
    (What each access string allows is tested on a real Redis: tests/test_redis_acl.py.)"""
    s = prod[stack]
    group = by_path(s, "aws_elasticache_user_group", "/data/cache/user-group")
    users = {cfg["user_name"]: cfg for cfg in resources(s, "aws_elasticache_user").values()}
    services = ("api-gateway", "payment-processor", "reconciliation-engine")
    assert sorted(users) == ["default", *(f"globalpay-prod-{svc}" for svc in services)]
    assert group["user_ids"] == [ref(s, "aws_elasticache_user", "/data/cache/default-user", "user_id"),
                                 *(ref(s, "aws_elasticache_user", f"/data/cache/user-{svc}", "user_id") for svc in services)]
    default = users["default"]
    assert default["access_string"] == "off -@all"
    # Not authentication_mode {type = "no-password-required"}: the API reads that back as "no-password" and
    # hashicorp/aws does not suppress the difference, so every plan would change the user (docs/safe-change.md).
    assert default["no_password_required"] is True and "authentication_mode" not in default
    for svc in services:
        user = users[f"globalpay-prod-{svc}"]
        assert user["authentication_mode"] == {"type": "iam"} and user["user_id"] == user["user_name"] == user["user_name"].lower()
        assert user["access_string"].startswith(f"on ~{svc}:* &{svc}:* -@all ")
        for word in ("~*", "&*", "+@all", "allkeys", "allchannels", "+@dangerous", "+@admin"):
            assert word not in user["access_string"].split(), (svc, word)
    for user in users.values():
        assert "passwords" not in user and "passwords_wo" not in user
    assert "globalpay/prod/redis/auth-token" not in {c["name"] for c in resources(s, "aws_secretsmanager_secret").values()}
    assert "aws_secretsmanager_secret_version" not in s.get("data", {})
    assert "redis_auth_token" not in s.get("ephemeral", {}).get("aws_secretsmanager_random_password", {})
    # The apps are told how to connect: each container its own user.
    apps = prod[f"{stack}-apps"]
    config = next(iter(resources(apps, "kubernetes_config_map_v1").values()))["data"]
    assert (config["REDIS_AUTH_MODE"], config["REDIS_TLS"]) == ("iam", "true") and "REDIS_USER" not in config
    assert config["REDIS_REPLICATION_GROUP_ID"] == "globalpay-prod-redis"
    for svc in services:
        [container] = by_path(apps, "kubernetes_deployment_v1", f"/workloads/{svc}-deployment")["spec"]["template"]["spec"]["container"]
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert (env["REDIS_USER"], env["REDIS_KEY_PREFIX"]) == (f"globalpay-prod-{svc}", f"{svc}:")


# ------------------------------------------------------------------------------------------------------
# MSK
# ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", CORES)
def test_msk_cluster(prod, stack):
    s = prod[stack]
    cluster = by_path(s, "aws_msk_cluster", "/data/kafka/cluster")
    assert cluster["cluster_name"] == "globalpay-prod-kafka"
    assert cluster["kafka_version"] == "3.9.x.kraft"  # guide: 3.5.1, past MSK end of support
    assert cluster["number_of_broker_nodes"] == 6
    info = cluster["broker_node_group_info"]
    assert info["instance_type"] == "kafka.m5.2xlarge"
    assert info["client_subnets"] == [ref(s, "aws_subnet", f"network/private-subnet-{i}", "id") for i in range(3)]
    ebs = info["storage_info"]["ebs_storage_info"]
    assert ebs["volume_size"] == 1000 and "provisioned_throughput" not in ebs  # MSK refuses it on m5.2xlarge
    enc = cluster["encryption_info"]
    assert enc["encryption_at_rest_kms_key_arn"] == key_ref(prod, stack, "data")
    assert enc["encryption_in_transit"] == {"client_broker": "TLS", "in_cluster": True}
    # MSK IAM access control and nothing else: no SCRAM user, no unauthenticated TLS client.
    assert cluster["client_authentication"] == {"sasl": {"iam": True, "scram": False}, "unauthenticated": False}
    assert cluster["enhanced_monitoring"] == "PER_TOPIC_PER_PARTITION"
    assert cluster["logging_info"]["broker_logs"]["cloudwatch_logs"]["enabled"] is True
    assert cluster["configuration_info"]["arn"] == ref(s, "aws_msk_configuration", "/data/kafka/configuration", "arn")
    # The volume size is the storage autoscaler's once it runs (kafka.ebs_volume_max_gb).
    assert cluster["lifecycle"] == {"prevent_destroy": True,
                                    "ignore_changes": ["broker_node_group_info[0].storage_info[0].ebs_storage_info[0].volume_size"]}
    configuration = by_path(s, "aws_msk_configuration", "/data/kafka/configuration")
    assert configuration["name"] == "globalpay-prod-kafka-config-3-9-x-kraft"
    assert configuration["lifecycle"] == {"create_before_destroy": True}
    target = by_path(s, "aws_appautoscaling_target", "/data/kafka/storage-autoscaling-target")
    assert (target["service_namespace"], target["scalable_dimension"]) == ("kafka", "kafka:broker-storage:VolumeSize")
    assert target["resource_id"] == ref(s, "aws_msk_cluster", "/data/kafka/cluster", "arn")
    assert (target["min_capacity"], target["max_capacity"]) == (1, 4000)
    scaling = by_path(s, "aws_appautoscaling_policy", "/data/kafka/storage-autoscaling")["target_tracking_scaling_policy_configuration"]
    assert scaling == {"target_value": 60, "disable_scale_in": True,
                       "predefined_metric_specification": {"predefined_metric_type": "KafkaBrokerStorageUtilization"}}
    props = dict(line.split("=", 1) for line in by_path(s, "aws_msk_configuration", "/data/kafka/configuration")["server_properties"].splitlines())
    assert props["auto.create.topics.enable"] == "false"
    assert props["min.insync.replicas"] == "2"
    assert props["default.replication.factor"] == "3"
    assert props["unclean.leader.election.enable"] == "false"
    assert props["allow.everyone.if.no.acl.found"] == "false"
    assert not resources(s, "aws_msk_scram_secret_association")
    # The apps reach the IAM listener.
    config = next(iter(resources(prod[f"{stack}-apps"], "kubernetes_config_map_v1").values()))["data"]
    assert config["KAFKA_SASL_MECHANISM"] == "AWS_MSK_IAM"
    assert "bootstrap_brokers_sasl_iam" in config["KAFKA_BROKERS"]


def test_the_scram_secrets_of_an_earlier_deploy_are_forgotten_not_deleted(prod):
    """A workspace applied with SASL/SCRAM holds three AmazonMSK_ secrets: each core stack's removed blocks make
    Terraform forget them (destroy = false) instead of planning a destruction that prevent_destroy would refuse."""
    from constructs_lib.streaming import RETIRED_SCRAM_SECRETS

    for stack in CORES:
        assert prod[stack]["removed"] == [{"from": a, "lifecycle": {"destroy": False}} for a in RETIRED_SCRAM_SECRETS]
        assert not [c for c in resources(prod[stack], "aws_secretsmanager_secret").values() if c["name"].startswith("AmazonMSK_")]
    recorded = json.loads((ROOT / "tests" / "stateful_addresses.json").read_text())["stacks"]
    for address in RETIRED_SCRAM_SECRETS:
        assert not any(address in addresses for addresses in recorded.values()), "retired: no longer in the inventory"


# ------------------------------------------------------------------------------------------------------
# Secrets
# ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", CORES)
def test_no_data_store_credential_lives_in_a_region_of_its_own(prod, stack):
    """Redis and Kafka authenticate with IAM and the services log in to PostgreSQL with IAM: the only secrets are
    the shared ones of the origin region (next tests), none per region."""
    names = {cfg["name"] for cfg in resources(prod[stack], "aws_secretsmanager_secret").values()}
    assert names <= {f"globalpay/prod/{suffix}" for suffix in SHARED_SECRETS}


def shared_secrets_check(synthesized: Synth, env: str, overrides: dict | None = None) -> dict[str, tuple[str, str, dict]]:
    """The shared secrets of one synthesis, checked: ``{name: (stack, address, config)}``.

    Pods of every region read the same database credentials, JWT and API keys: Secrets Manager keeps them in
    ``database.origin_region`` and replicates them (value and rotation) into every other region, each replica
    encrypted with *that* region's secrets key, so no region holds a copy of its own that could drift.
    """
    config = load_config(env, REGION_SPECS, overrides)
    origin = config.database.origin_region
    origin_stack = f"globalpay-{env}-{origin}"
    others = sorted(set(config.region_names) - {origin})
    found: dict[str, tuple[str, str, dict]] = {}
    for suffix, path in SHARED_SECRETS.items():
        name = f"globalpay/{env}/{suffix}"
        holders = [(stack, address, cfg) for stack in synthesized
                   for address, cfg in resources(synthesized[stack], "aws_secretsmanager_secret").items() if cfg["name"] == name]
        assert [h[0] for h in holders] == [origin_stack], (name, [h[0] for h in holders])
        (found[name],) = holders
        cfg = found[name][2]
        assert cfg["//"]["metadata"]["path"].endswith(path)
        assert cfg["kms_key_id"] == key_ref(synthesized, origin_stack, "secrets")
        assert cfg["recovery_window_in_days"] == config.secrets.recovery_window_days
        assert cfg["lifecycle"] == {"prevent_destroy": True}
        assert [r["region"] for r in cfg["replica"]] == others, name
        assert cfg["replica"] == [
            {"region": region, "kms_key_id": key_ref(synthesized, origin_stack, "secrets", owner=f"globalpay-{env}-{region}")}
            for region in others
        ], name
    return found


@pytest.mark.parametrize("env", ["prod", "staging"])
def test_shared_secrets_live_only_in_the_origin_region_replicated_with_each_regions_secrets_key(request, env):
    synthesized = request.getfixturevalue(env)
    config = load_config(env, REGION_SPECS)
    origin_stack = f"globalpay-{env}-{config.database.origin_region}"
    found = shared_secrets_check(synthesized, env)
    if env == "prod":
        assert {stack for stack, _, _ in found.values()} == {US}
    # Every replica's key is another region's -keys output: the origin's core stack deploys after all of them.
    manifest = json.loads((synthesized.outdir / "manifest.json").read_text())
    assert {f"globalpay-{env}-{r}-keys" for r in config.region_names} <= set(manifest["stacks"][origin_stack]["dependencies"])


@pytest.mark.parametrize("stack", (EU, AP))
def test_other_regions_read_the_replicas_and_create_no_copy(prod, stack):
    """eu-west-1 and ap-southeast-2 hold neither the shared secrets nor their values: no secret of those
    names, no credentials version, no master password generated there."""
    s = prod[stack]
    names = {cfg["name"] for cfg in resources(s, "aws_secretsmanager_secret").values()}
    assert not names & {f"globalpay/prod/{suffix}" for suffix in SHARED_SECRETS}
    paths = [cfg["//"]["metadata"]["path"] for cfg in resources(s, "aws_secretsmanager_secret_version").values()]
    assert not [p for p in paths if "database-credentials" in p or "operator-secrets" in p]
    assert "database_master_password" not in s.get("ephemeral", {}).get("aws_secretsmanager_random_password", {})


def test_failover_keeps_the_shared_secrets_in_the_origin_region_with_the_same_replicas(prod, failover):
    """A failover swaps primary and secondary, not database.origin_region: the shared secrets keep their
    region, Terraform addresses and replicas (re-creating them would lose the operators' JWT and API keys)."""
    before, after = shared_secrets_check(prod, "prod"), shared_secrets_check(failover, "prod", FAILOVER)
    assert {n: (stack, address) for n, (stack, address, _) in after.items()} == {n: (stack, address) for n, (stack, address, _) in before.items()}
    assert {stack for stack, _, _ in after.values()} == {US}
    for name in before:
        assert after[name][2]["replica"] == before[name][2]["replica"], name
        assert after[name][2]["kms_key_id"] == before[name][2]["kms_key_id"], name
    written = by_path(failover[US], "aws_secretsmanager_secret_version", "/data/database-credentials/value")
    assert written == by_path(prod[US], "aws_secretsmanager_secret_version", "/data/database-credentials/value")


def test_operator_secrets_are_created_empty(prod):
    for stack in CORES:
        versions = {cfg["//"]["metadata"]["path"] for cfg in resources(prod[stack], "aws_secretsmanager_secret_version").values()}
        assert not any("operator-secrets" in p for p in versions)


def test_database_credentials_are_written_write_only_where_the_writer_is_created(prod):
    s = prod[US]
    version = by_path(s, "aws_secretsmanager_secret_version", "/data/database-credentials/value")
    assert version["secret_id"] == ref(s, "aws_secretsmanager_secret", "/data/database-credentials/secret", "id")
    assert "secret_string" not in version  # Secrets Manager replicates the value; Terraform never holds it
    value = version["secret_string_wo"]
    assert "ephemeral.aws_secretsmanager_random_password.database_master_password.random_password" in value
    assert ref(s, "aws_db_instance", "/data/database/primary", "address")[2:-1] in value
    for key in ("username", "password", "host", "port", "dbname"):
        assert f'"{key}" =' in value
    assert version["secret_string_wo_version"] == 1


def test_no_secret_literal_in_any_stack(prod):
    """Every password/token/key attribute is a reference or write-only expression, never a value."""
    sensitive = re.compile(r'"(password|master_password|auth_token|secret_string|secret_string_wo|password_wo|master_password_wo)"\s*:\s*"([^"]*)"')
    for name in prod:
        text = json.dumps(prod[name])
        for attr, value in sensitive.findall(text):
            assert value.startswith("${"), f"{name}: {attr} holds a literal"
        assert "secret_string\":" not in text.replace(" ", ""), name
        assert not re.search(r"AKIA[0-9A-Z]{16}|-----BEGIN [A-Z ]*PRIVATE KEY-----|sk_live_", text), name
        # Inside the jsonencode() of a write-only value, the secret fields are ephemeral references too.
        for version in resources(prod[name], "aws_secretsmanager_secret_version").values():
            for field, expr in re.findall(r'"(password|auth_token)" = ([^,}]+)', version["secret_string_wo"]):
                assert expr.startswith("ephemeral.aws_secretsmanager_random_password."), (name, field, expr)


# ------------------------------------------------------------------------------------------------------
# ECR
# ------------------------------------------------------------------------------------------------------


def test_repositories_in_the_home_region_replicated_to_the_others(prod):
    s = prod[US]
    for service in ("api-gateway", "payment-processor", "reconciliation-engine"):
        repo = by_path(s, "aws_ecr_repository", f"/data/registry/{service}")
        assert repo["name"] == f"globalpay/{service}"
        assert repo["image_tag_mutability"] == "IMMUTABLE"
        assert repo["image_scanning_configuration"] == {"scan_on_push": True}
        assert repo["encryption_configuration"] == [{"encryption_type": "KMS", "kms_key": key_ref(prod, US, "data")}]
        assert repo["lifecycle"] == {"prevent_destroy": True}
        rules = json.loads(by_path(s, "aws_ecr_lifecycle_policy", f"/data/registry/{service}-lifecycle")["policy"])["rules"]
        assert {r["selection"]["tagStatus"] for r in rules} == {"untagged", "tagged"}
    replication = by_path(s, "aws_ecr_replication_configuration", "/data/registry/replication")
    destinations = replication["replication_configuration"]["rule"][0]["destination"]
    assert sorted(d["region"] for d in destinations) == ["ap-southeast-2", "eu-west-1"]
    for stack in (EU, AP):
        assert not resources(prod[stack], "aws_ecr_repository")
        template = by_path(prod[stack], "aws_ecr_repository_creation_template", "/data/registry-replica-settings/template")
        assert template["applied_for"] == ["REPLICATION"] and template["image_tag_mutability"] == "IMMUTABLE"
        assert template["encryption_configuration"][0]["kms_key"] == key_ref(prod, stack, "data")


# ------------------------------------------------------------------------------------------------------
# Security groups
# ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", CORES)
def test_data_stores_admit_only_the_node_security_group(prod, stack):
    s = prod[stack]
    node_sg = ref(s, "aws_security_group", "/node-security-group", "id")
    expected = {"database": {5432}, "cache": {6379}, "kafka": {9098}}
    if stack == AP:
        expected.pop("database")
    # Other regions' pods reach the one writer over the transit gateway: exactly their private subnets.
    peers = {"globalpay-prod-us-east-1": "10.0", "globalpay-prod-eu-west-1": "10.1", "globalpay-prod-ap-southeast-2": "10.2"}
    peer_private = {f"{peers[other]}.{octet}.0/24" for other in CORES if other != stack for octet in (11, 12, 13)}
    for component, ports in expected.items():
        group = ref(s, "aws_security_group", f"/data/{component}/security-group/group", "id")
        rules = [r for r in resources(s, "aws_vpc_security_group_ingress_rule").values() if r["security_group_id"] == group]
        assert {r["from_port"] for r in rules} == ports
        local = [r for r in rules if "cidr_ipv4" not in r]
        # The database also admits its region's role manager (which runs the role SQL), on 5432 only.
        role_manager = [ref(s, "aws_security_group", "/data/role-manager/security-group", "id")] if component == "database" else []
        assert len(local) == len(ports) + len(role_manager)
        for rule in rules:
            assert rule["description"] and rule["to_port"] == rule["from_port"] and rule["ip_protocol"] == "tcp"
            assert "cidr_ipv6" not in rule and "prefix_list_id" not in rule
        assert sorted(r["referenced_security_group_id"] for r in local) == sorted([node_sg, *role_manager])
        cidrs = {r["cidr_ipv4"] for r in rules if "cidr_ipv4" in r}
        assert cidrs == (peer_private if component == "database" else set()), (component, cidrs)
        assert all("referenced_security_group_id" not in r for r in rules if "cidr_ipv4" in r)
        assert not [r for r in resources(s, "aws_vpc_security_group_egress_rule").values() if r["security_group_id"] == group]
        sg = by_path(s, "aws_security_group", f"/data/{component}/security-group/group")
        assert "ingress" not in sg and "egress" not in sg


@pytest.mark.parametrize("stack", CORES)
def test_every_stateful_data_resource_is_protected(prod, stack):
    """The region's data tier (core stack) and the keys that encrypt it (its -keys stack)."""
    stateful = ("aws_db_instance", "aws_elasticache_replication_group", "aws_msk_cluster",
                "aws_secretsmanager_secret", "aws_ecr_repository", "aws_kms_key", "aws_rds_cluster")
    found: dict[str, int] = {}
    for name in (stack, f"{stack}-keys"):
        for rtype in stateful:
            for cfg in resources(prod[name], rtype).values():
                found[rtype] = found.get(rtype, 0) + 1
                assert cfg.get("lifecycle", {}).get("prevent_destroy") is True, cfg["//"]["metadata"]["path"]
    # Not vacuous: what every region has at least (its keys, Redis, MSK) ...
    minimum = {"aws_kms_key": 2, "aws_elasticache_replication_group": 1, "aws_msk_cluster": 1}
    # ... plus the database where there is one, and the shared secrets and repositories in the origin.
    if stack != AP:
        minimum.update(aws_db_instance=1)
    if stack == US:
        minimum.update(aws_db_instance=2, aws_secretsmanager_secret=3, aws_ecr_repository=3)
    short = {rtype: (found.get(rtype, 0), n) for rtype, n in minimum.items() if found.get(rtype, 0) < n}
    assert not short, f"(found, expected at least): {short}"


# ------------------------------------------------------------------------------------------------------
# Validator refusals (main.py, exit 2, one line naming the field)
# ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"database": {"master_username": "admin"}}, "database.master_username"),
        ({"database": {"shared_buffers_8kb_pages": 16777216}}, "database.shared_buffers_8kb_pages"),
        ({"kafka": {"provisioned_throughput_enabled": True}}, "kafka.provisioned_throughput_enabled"),
        ({"kafka": {"kafka_version": "3.5.1"}}, "kafka.kafka_version"),
        ({"cache": {"engine_version": "6.2"}}, "cache.engine_version"),
        ({"state": {"replica_region": "us-east-1"}}, "state.replica_region"),
        ({"database": {"origin_region": "ap-southeast-2"}}, "database.origin_region"),
        # Least privilege: no service gets the master login or a wildcard in a data store.
        ({"workloads": {"services": [{"name": "api-gateway", "access": {"secrets": ["database/credentials"]}}]}},
         "workloads.services.api-gateway.access.secrets"),
        ({"workloads": {"services": [{"name": "api-gateway", "access": {"redis_commands": ["+@all"]}}]}},
         "workloads.services.api-gateway.access.redis_commands"),
        ({"workloads": {"services": [{"name": "api-gateway", "access": {"redis_commands": ["~*"]}}]}},
         "workloads.services.api-gateway.access.redis_commands"),
        ({"workloads": {"services": [{"name": "api-gateway", "access": {"kafka_consume": ["payments.*"]}}]}},
         "workloads.services.api-gateway.access.kafka_consume"),
        ({"workloads": {"services": [{"name": "api-gateway", "access": {"database_grants": {"gateway": "ALL"}}}]}},
         "workloads.services.api-gateway.access.database_grants"),
        ({"workloads": {"services": [{"name": "api-gateway", "access": {"database_grants": {"public": "SELECT"}}}]}},
         "workloads.services.api-gateway.access.database_grants"),
        ({"database": {"master_username": "api_gateway"}}, "workloads.services.api-gateway.name"),
        ({"database": {"cardholder_schemas": []}}, "database.cardholder_schemas"),
    ],
)
def test_validator_refuses(tmp_path, overrides, field):
    config = tmp_path / "overrides.json"
    config.write_text(json.dumps(overrides))
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    proc = subprocess.run([sys.executable, str(ROOT / "main.py"), "--config", str(config), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=120, check=False)
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("config error:")]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"config error: {field}: ")
    assert not (tmp_path / "out").exists()
