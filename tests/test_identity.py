"""One identity per service, end to end, read from the synthesized JSON (PCI DSS 7.2.1, 7.2.2, 7.2.5, 8.2.2).

What the tests on real servers prove for PostgreSQL and Redis (tests/test_postgres_roles.py,
tests/test_redis_acl.py), these prove for IAM and Kubernetes: each service has its own service account and its
own role, the role is trusted by that account only, every statement names exactly the service's resources, no
workload and no Kubernetes object can reach the master credentials, and docs/compliance/access-model.md is what the JSON
says.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from constructs_lib.policy import workload_statement_issues
from tests.synth import FAILOVER, by_path, resources, synth

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("api-gateway", "payment-processor", "reconciliation-engine")
CORES = ("globalpay-prod-us-east-1", "globalpay-prod-eu-west-1", "globalpay-prod-ap-southeast-2")
MASTER_SECRET = "globalpay/prod/database/credentials"
#: The reviewed Kafka permissions: service -> (topics written, topics read).
REVIEWED_TOPICS = {
    "api-gateway": ({"gateway.audit"}, set()),
    "payment-processor": ({"payments.events"}, {"reconciliation.results"}),
    "reconciliation-engine": ({"reconciliation.results"}, {"payments.events"}),
}


def _load(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"globalpay_{name}", ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def service_roles(stack: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {cfg["tags"]["Workload"]: cfg for cfg in resources(stack, "aws_iam_role").values()
            if "Workload" in (cfg.get("tags") or {})}


def statements(stack: dict[str, Any], service: str) -> dict[str, dict[str, Any]]:
    policy = by_path(stack, "aws_iam_role_policy", f"/identity/{service}/policy")
    return {st["Sid"]: st for st in json.loads(policy["policy"])["Statement"]}


@pytest.mark.parametrize("stack", CORES)
def test_each_service_has_its_own_role_trusted_by_its_own_service_account_only(prod, stack):
    roles = service_roles(prod[stack])
    assert sorted(roles) == sorted(SERVICES)
    region = stack.removeprefix("globalpay-prod-")
    for service, role in roles.items():
        assert role["name"] == f"globalpay-prod-{service}-{region}"
        [trust] = json.loads(role["assume_role_policy"])["Statement"]
        assert trust["Action"] == "sts:AssumeRoleWithWebIdentity" and set(trust["Condition"]) == {"StringEquals"}
        subjects = [v for k, v in trust["Condition"]["StringEquals"].items() if k.endswith(":sub")]
        assert subjects == [f"system:serviceaccount:globalpay:{service}"]
        # Each role's statements pass GP008 (and there are some: the check is not vacuous).
        found = statements(prod[stack], service)
        assert len(found) >= 5 and not list(workload_statement_issues({"Statement": list(found.values())}))
        managed = [a for a in resources(prod[stack], "aws_iam_role_policy_attachment").values()
                   if f"identity_{service}_role" in a["role"]]
        assert not managed, "no AWS-managed policy on a service's role"


@pytest.mark.parametrize("stack", CORES)
def test_each_service_reaches_exactly_its_own_secrets_prefix_redis_user_and_kafka_topics(prod, stack):
    region = stack.removeprefix("globalpay-prod-")
    for service in SERVICES:
        found = statements(prod[stack], service)
        secrets = {"api-gateway": ["jwt/keys"], "payment-processor": ["api/keys"]}.get(service, [])
        if secrets:
            assert [r.split("secret:")[1] for r in found["ReadOwnSecrets"]["Resource"]] == [
                f"globalpay/prod/{s}-??????" for s in secrets]
        else:
            assert "ReadOwnSecrets" not in found and "DecryptSecretsThroughSecretsManager" not in found
        assert found["ReadWriteOwnPrefix"]["Resource"].endswith(f"/{service}/*")
        assert found["ListOwnPrefix"]["Condition"] == {"StringLike": {"s3:prefix": [f"{service}/*"]}}
        redis = found["ConnectToRedisAsOwnUser"]["Resource"]
        assert [r.rsplit(":", 2)[-2:] for r in redis] == [["replicationgroup", "globalpay-prod-redis"],
                                                           ["user", f"globalpay-prod-{service}"]]
        writes, reads = REVIEWED_TOPICS[service]

        def topics(sid: str, found: dict[str, dict[str, Any]] = found) -> set[str]:
            if sid not in found:
                return set()
            names = set()
            for arn in found[sid]["Resource"]:
                match = re.fullmatch(rf"arn:\$\{{[^}}]+\}}:kafka:{region}:\$\{{[^}}]+\}}:topic/globalpay-prod-kafka/"
                                     r"\$\{aws_msk_cluster\.data_kafka_cluster_\w+\.cluster_uuid\}/([\w.-]+)", arn)
                assert match, arn
                names.add(match.group(1))
            return names

        assert (topics("KafkaProduceOwnTopics"), topics("KafkaConsumeOwnTopics")) == (writes, reads), service
        if reads:  # it consumes as its own group, and only that group
            assert re.search(r":group/globalpay-prod-kafka/\$\{aws_msk_cluster\.data_kafka_cluster_\w+\.cluster_uuid\}/"
                             + re.escape(service) + "$", found["KafkaOwnConsumerGroup"]["Resource"])
        else:
            assert "KafkaOwnConsumerGroup" not in found
        assert ("PublishPaymentEvents" in found) is (service == "payment-processor")
        assert ("ConsumePaymentEvents" in found) is (service == "reconciliation-engine")


def test_no_workload_and_no_kubernetes_object_can_reach_the_master_credentials(prod):
    """The master login (break-glass) is readable by the role manager's role only; no service role, no add-on role,
    no ExternalSecret, ConfigMap or pod spec names it or a wildcard that covers it."""
    readers = []
    for name in prod:
        for rtype in ("aws_iam_role_policy", "aws_iam_policy"):
            for cfg in resources(prod[name], rtype).values():
                text = cfg["policy"]
                if "database/credentials" in text or re.search(r"secret:globalpay/prod/\*", text):
                    readers.append(cfg["//"]["metadata"]["path"])
        for rtype, cfgs in prod[name].get("resource", {}).items():
            if rtype.startswith("kubernetes_"):
                assert "database/credentials" not in json.dumps(cfgs), (name, rtype)
    assert sorted(readers) == ["globalpay-prod-eu-west-1/data/role-manager/policy",
                               "globalpay-prod-us-east-1/data/role-manager/policy"]
    role_manager = json.loads(by_path(prod[CORES[0]], "aws_iam_role_policy", "/data/role-manager/policy")["policy"])
    [read] = [st for st in role_manager["Statement"] if st["Sid"] == "ReadTheMasterCredentials"]
    assert read["Action"] == "secretsmanager:GetSecretValue" and read["Resource"].endswith(f":secret:{MASTER_SECRET}-??????")


@pytest.mark.parametrize("scenario", ["prod", "failover"])
def test_each_services_database_login_names_its_own_role_on_the_current_writer(prod, scenario):
    """rds-db:connect sits in each -apps stack next to DATABASE_HOST and follows the writer: us-east-1's primary,
    or after a failover eu-west-1's promoted replica. One PostgreSQL role per service, nothing wider."""
    synthesized = prod if scenario == "prod" else synth("prod", FAILOVER)
    writer_stack, writer_region, writer_id = (
        ("globalpay-prod-us-east-1", "us-east-1", "data_database_primary") if scenario == "prod"
        else ("globalpay-prod-eu-west-1", "eu-west-1", "data_database_replica-eu"))
    for region in ("us-east-1", "eu-west-1", "ap-southeast-2"):
        apps = synthesized[f"globalpay-prod-{region}-apps"]
        policies = {p["tags"]["Workload"]: json.loads(p["policy"]) for p in resources(apps, "aws_iam_policy").values()}
        assert sorted(policies) == sorted(SERVICES)
        for service, document in policies.items():
            [statement] = document["Statement"]
            assert statement["Action"] == "rds-db:connect"
            resource = statement["Resource"]
            assert f":rds-db:{writer_region}:" in resource and resource.endswith(f"/{service.replace('-', '_')}")
            assert f"cross-stack-reference-input-{writer_stack}.outputs." in resource and f"{writer_id}_" in resource
        attachments = {a["policy_arn"]: a["role"] for a in resources(apps, "aws_iam_role_policy_attachment").values()}
        assert len(attachments) == 3
        for role in attachments.values():  # the service's role, read from its region's core stack
            assert f"cross-stack-reference-input-globalpay-prod-{region}.outputs." in role


def test_the_access_model_document_is_what_the_json_says(prod):
    access_model = _load("access_model")
    rendered = access_model.render(prod)
    assert (ROOT / "docs" / "compliance" / "access-model.md").read_text() == rendered, \
        "docs/compliance/access-model.md is stale: run `python3 tasks.py synth` and `python3 tasks.py access-model`"
    for service in SERVICES:
        assert f"### {service}" in rendered
