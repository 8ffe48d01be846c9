"""The synth-time policy. Every rule refuses a small stack with one offending resource (naming the
construct path) and lets its compliant counterpart through; suppressions need reasons and are reported."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cdktf import App, TerraformStack
from constructs import Construct

from constructs_lib.common import protected
from constructs_lib.config import load_config
from constructs_lib.policy import (
    PolicyViolation,
    apply_policy,
    policy_report,
    suppress,
    synth,
)
from constructs_lib.providers import aws, kubernetes
from regions import REGION_SPECS

COST_TAGS = {"Environment": "Test", "Project": "GlobalPay", "CostCenter": "Engineering"}
Build = Callable[[TerraformStack], Any]


def make_app(outdir: Path, *builds: Build, tags: dict[str, str] | None = None) -> App:
    """A fresh App with one stack per build function (``demo``, ``demo-2``...), each with a tagged provider."""
    app = App(outdir=str(outdir), stack_traces=False)
    for i, build in enumerate(builds):
        stack = TerraformStack(app, "demo" if i == 0 else f"demo-{i + 1}")
        aws.provider.AwsProvider(stack, "aws", region="us-east-1", default_tags=[{"tags": COST_TAGS if tags is None else tags}])
        build(stack)
    apply_policy(app)
    return app


def refused(tmp_path: Path, build: Build, **kwargs: Any) -> PolicyViolation:
    app = make_app(tmp_path, build, **kwargs)
    with pytest.raises(PolicyViolation) as caught:
        synth(app)
    assert not (tmp_path / "stacks" / "demo" / "cdk.tf.json").exists(), "a refused stack is never written"
    return caught.value


def accepted(tmp_path: Path, build: Build, **kwargs: Any) -> dict:
    synth(make_app(tmp_path, build, **kwargs))
    return json.loads((tmp_path / "stacks" / "demo" / "cdk.tf.json").read_text())


def key(stack: Construct, id: str = "key") -> Any:
    return aws.kms_key.KmsKey(stack, id, enable_key_rotation=True, lifecycle=protected())


def assert_refused_for(violation: PolicyViolation, rule: str, path: str, text: str = "") -> None:
    lines = violation.lines()
    hits = [line for line in lines if line.startswith(f"policy error: {rule} {path}:") and text in line]
    assert hits, f"no {rule} at {path} ({text!r}) in:\n" + "\n".join(lines)


# ---------------------------------------------------------------------------------------------------
# The resources, compliant and not
# ---------------------------------------------------------------------------------------------------


def db(stack: TerraformStack, **overrides: Any) -> None:
    args: dict[str, Any] = {
        "identifier": "demo-db", "engine": "postgres", "instance_class": "db.t4g.micro", "allocated_storage": 20,
        "username": "demo", "manage_master_user_password": True, "storage_encrypted": True, "kms_key_id": key(stack).arn,
        "publicly_accessible": False, "deletion_protection": True, "lifecycle": protected(),
    }
    args.update(overrides)
    aws.db_instance.DbInstance(stack, "db", **{k: v for k, v in args.items() if v is not None})


def cache(stack: TerraformStack, **overrides: Any) -> None:
    args: dict[str, Any] = {
        "replication_group_id": "demo-cache", "description": "demo", "node_type": "cache.t4g.micro", "num_cache_clusters": 2,
        "at_rest_encryption_enabled": "true", "kms_key_id": key(stack).arn, "transit_encryption_enabled": True,
        "lifecycle": protected(),
    }
    args.update(overrides)
    aws.elasticache_replication_group.ElasticacheReplicationGroup(stack, "cache", **{k: v for k, v in args.items() if v is not None})


def kafka(stack: TerraformStack, client_broker: str = "TLS", public: str = "DISABLED", key_arn: bool = True) -> None:
    encryption: dict[str, Any] = {"encryption_in_transit": {"client_broker": client_broker, "in_cluster": True}}
    if key_arn:
        encryption["encryption_at_rest_kms_key_arn"] = key(stack).arn
    aws.msk_cluster.MskCluster(
        stack, "kafka", cluster_name="demo", kafka_version="3.9.x.kraft", number_of_broker_nodes=3,
        broker_node_group_info={
            "client_subnets": ["subnet-1", "subnet-2", "subnet-3"], "instance_type": "kafka.m7g.large", "security_groups": ["sg-1"],
            "connectivity_info": {"public_access": {"type": public}},
        },
        encryption_info=encryption, lifecycle=protected(),
    )


def bucket(stack: TerraformStack, *, sse: bool = True, block: bool = True, force_destroy: bool = False) -> None:
    b = aws.s3_bucket.S3Bucket(stack, "bucket", bucket="demo-bucket", force_destroy=force_destroy, lifecycle=protected())
    if sse:
        aws.s3_bucket_server_side_encryption_configuration.S3BucketServerSideEncryptionConfigurationA(
            stack, "bucket-sse", bucket=b.id,
            rule=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms", "kms_master_key_id": key(stack).arn}}],
        )
    if block:
        aws.s3_bucket_public_access_block.S3BucketPublicAccessBlock(
            stack, "bucket-pab", bucket=b.id, block_public_acls=True, block_public_policy=True,
            ignore_public_acls=True, restrict_public_buckets=True,
        )


def log_group(stack: TerraformStack, kms: Any = "key", keep: bool = True, days: int = 365) -> None:
    aws.cloudwatch_log_group.CloudwatchLogGroup(
        stack, "logs", name="demo", retention_in_days=days, kms_key_id=key(stack).arn if kms == "key" else kms,
        lifecycle=protected() if keep else None,
    )


def topic(stack: TerraformStack, kms: Any = "key", keep: bool = True) -> None:
    aws.sns_topic.SnsTopic(stack, "topic", name="demo", kms_master_key_id=key(stack).arn if kms == "key" else kms,
                           lifecycle=protected() if keep else None)


def queue(stack: TerraformStack, kms: Any = "key", keep: bool = True) -> None:
    aws.sqs_queue.SqsQueue(stack, "queue", name="demo", kms_master_key_id=key(stack).arn if kms == "key" else kms,
                           lifecycle=protected() if keep else None)


def secret(stack: TerraformStack, kms: Any = "key") -> None:
    aws.secretsmanager_secret.SecretsmanagerSecret(
        stack, "secret", name="demo/secret", kms_key_id=key(stack).arn if kms == "key" else kms, lifecycle=protected(),
    )


def repository(stack: TerraformStack, encrypted: bool = True) -> None:
    enc = {"encryption_type": "KMS", "kms_key": key(stack).arn} if encrypted else {"encryption_type": "AES256"}
    aws.ecr_repository.EcrRepository(stack, "repo", name="demo", encryption_configuration=[enc], lifecycle=protected())


def launch_template(stack: TerraformStack, encrypted: bool = True) -> None:
    ebs: dict[str, Any] = {"volume_size": 50, "encrypted": "true" if encrypted else "false"}
    if encrypted:
        ebs["kms_key_id"] = key(stack).arn
    aws.launch_template.LaunchTemplate(stack, "nodes", name="demo", block_device_mappings=[{"device_name": "/dev/xvda", "ebs": ebs}])


def ingress(stack: TerraformStack, scope_id: str = "app", port: int = 22, cidr: str = "0.0.0.0/0") -> Construct:
    scope = Construct(stack, scope_id)
    group = aws.security_group.SecurityGroup(scope, "sg", name=f"{scope_id}-sg", vpc_id="vpc-1")
    cidr_args = {"cidr_ipv6": cidr} if ":" in cidr else {"cidr_ipv4": cidr}
    aws.vpc_security_group_ingress_rule.VpcSecurityGroupIngressRule(
        scope, f"ingress-{port}", security_group_id=group.id, ip_protocol="tcp", from_port=port, to_port=port, **cidr_args,
    )
    return scope


# ---------------------------------------------------------------------------------------------------
# One offending resource per rule (and per resource type of GP001), refused with its construct path
# ---------------------------------------------------------------------------------------------------

OFFENDING: dict[str, tuple[Build, str, str, str]] = {
    # case: (build, rule, construct path, message fragment)
    "rds unencrypted": (lambda s: db(s, storage_encrypted=False), "GP001", "demo/db", "storage_encrypted"),
    "rds without our key": (lambda s: db(s, kms_key_id=None), "GP001", "demo/db", "kms_key_id missing"),
    "rds aws-managed key": (lambda s: db(s, kms_key_id="alias/aws/rds"), "GP001", "demo/db", "AWS-managed"),
    "cache at rest": (lambda s: cache(s, at_rest_encryption_enabled="false"), "GP001", "demo/cache", "at_rest"),
    "cache in transit": (lambda s: cache(s, transit_encryption_enabled=False), "GP002", "demo/cache", "transit"),
    "kafka at rest": (lambda s: kafka(s, key_arn=False), "GP001", "demo/kafka", "broker storage"),
    "kafka plaintext": (lambda s: kafka(s, client_broker="TLS_PLAINTEXT"), "GP002", "demo/kafka", "client_broker"),
    "bucket without sse": (lambda s: bucket(s, sse=False), "GP001", "demo/bucket", "server-side encryption"),
    "log group": (lambda s: log_group(s, kms=None), "GP001", "demo/logs", "kms_key_id"),
    "sns topic": (lambda s: topic(s, kms="alias/aws/sns"), "GP001", "demo/topic", "AWS-managed"),
    "sqs queue": (lambda s: queue(s, kms=None), "GP001", "demo/queue", "kms_master_key_id"),
    "secret": (lambda s: secret(s, kms=None), "GP001", "demo/secret", "kms_key_id"),
    "ecr": (lambda s: repository(s, encrypted=False), "GP001", "demo/repo", "KMS"),
    "launch template ebs": (lambda s: launch_template(s, encrypted=False), "GP001", "demo/nodes", "not encrypted"),
    "public database": (lambda s: db(s, publicly_accessible=True), "GP003", "demo/db", "publicly_accessible"),
    "public kafka": (lambda s: kafka(s, public="SERVICE_PROVIDED_EIPS"), "GP003", "demo/kafka", "public access"),
    "bucket without public access block": (lambda s: bucket(s, block=False), "GP003", "demo/bucket", "public access block"),
    "ssh from the internet": (lambda s: ingress(s), "GP004", "demo/app/ingress-22", "0.0.0.0/0"),
    "ipv6 ingress": (lambda s: ingress(s, port=443, cidr="::/0"), "GP004", "demo/app/ingress-443", "::/0"),
    "load balancer on a non-web port": (lambda s: ingress(s, "alb", port=8080), "GP004", "demo/alb/ingress-8080", "80/443"),
    "literal secret string": (
        lambda s: aws.secretsmanager_secret_version.SecretsmanagerSecretVersion(s, "creds", secret_id="x", secret_string='{"password": "hunter2"}'),
        "GP006", "demo/creds", "secret_string holds a literal"),
    "guide placeholder in a write-only password": (
        lambda s: db(s, manage_master_user_password=None, password_wo="<SECURE_PASSWORD>", password_wo_version=1),
        "GP006", "demo/db", "placeholder"),
    "access key in a tag": (
        lambda s: topic(s) or aws.sns_topic.SnsTopic(s, "leaky", name="leaky", kms_master_key_id="arn:aws:kms:us-east-1:123456789012:key/x", tags={"note": "AKIAIOSFODNN7EXAMPLE"}),
        "GP006", "demo/leaky", "access key"),
    "unprotected key": (lambda s: aws.kms_key.KmsKey(s, "bare-key", enable_key_rotation=True), "GP007", "demo/bare-key", "prevent_destroy"),
    "database without deletion protection": (lambda s: db(s, deletion_protection=False), "GP007", "demo/db", "deletion_protection"),
    "force-destroy bucket": (lambda s: bucket(s, force_destroy=True), "GP007", "demo/bucket", "force_destroy"),
    # Audit trails and messages in flight: a plan must never destroy them.
    "unprotected log group": (lambda s: log_group(s, keep=False), "GP007", "demo/logs", "prevent_destroy"),
    "unprotected sns topic": (lambda s: topic(s, keep=False), "GP007", "demo/topic", "prevent_destroy"),
    "unprotected sqs queue": (lambda s: queue(s, keep=False), "GP007", "demo/queue", "prevent_destroy"),
}


def workload_role(stack: TerraformStack, *statements: dict[str, Any], tagged: bool = True,
                  managed: str = "") -> None:
    """A service's role (tagged ``Workload`` like constructs_lib/identity.py's) with one inline policy."""
    role = aws.iam_role.IamRole(stack, "role", name="demo", assume_role_policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "ec2.amazonaws.com"}}]}),
        tags={"Workload": "demo"} if tagged else None)
    aws.iam_role_policy.IamRolePolicy(stack, "policy", role=role.id, policy=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", **st} for st in statements]}))
    if managed:
        aws.iam_role_policy_attachment.IamRolePolicyAttachment(stack, "managed", role=role.name, policy_arn=managed)


OWN_OBJECTS = {"Sid": "Own", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::demo/demo/*"}
OFFENDING.update({
    # PCI DSS 7.2: a workload's role grants what the service uses, by name.
    "workload role with every action": (lambda s: workload_role(s, {"Sid": "All", "Action": "*", "Resource": "*"}),
                                        "GP008", "demo/policy", "All: action *"),
    "workload role with a service wildcard": (
        lambda s: workload_role(s, {"Sid": "S3", "Action": "s3:*", "Resource": "arn:aws:s3:::demo/*"}),
        "GP008", "demo/policy", "S3: action s3:*"),
    "workload role on every secret": (
        lambda s: workload_role(s, {"Sid": "Secrets", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}),
        "GP008", "demo/policy", 'Secrets: Resource "*" for secretsmanager:GetSecretValue'),
    "workload role with NotAction": (
        lambda s: workload_role(s, {"Sid": "Not", "NotAction": "iam:*", "Resource": "arn:aws:s3:::demo"}),
        "GP008", "demo/policy", "Not: NotAction"),
    "workload role with an AWS-managed policy": (
        lambda s: workload_role(s, OWN_OBJECTS, managed="arn:aws:iam::aws:policy/AmazonS3FullAccess"),
        "GP008", "demo/managed", "AmazonS3FullAccess"),
    "workload policy on every database login": (
        lambda s: aws.iam_policy.IamPolicy(s, "login", name="demo", tags={"Workload": "demo"}, policy=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Sid": "Db", "Effect": "Allow", "Action": "rds-db:connect",
                                                    "Resource": "*"}]})),
        "GP008", "demo/login", 'Db: Resource "*" for rds-db:connect'),
})


#: An endpoint policy as constructs_lib/network.py writes them (this account's principals), and AWS's default.
NARROW_ENDPOINT_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Sid": "ThisAccount", "Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRoleWithWebIdentity", "Resource": "*",
    "Condition": {"StringEquals": {"aws:PrincipalAccount": "123456789012"}}}]})
FULL_ACCESS_ENDPOINT_POLICY = json.dumps({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]})


def endpoint(stack: TerraformStack, policy: str | None = NARROW_ENDPOINT_POLICY, *, separate: bool = False,
             kind: str = "Interface") -> None:
    ep = aws.vpc_endpoint.VpcEndpoint(stack, "endpoint", vpc_id="vpc-1", service_name="com.amazonaws.us-east-1.sts",
                                      vpc_endpoint_type=kind, policy=None if separate else policy)
    if separate:
        aws.vpc_endpoint_policy.VpcEndpointPolicy(stack, "endpoint-policy", vpc_endpoint_id=ep.id, policy=policy)


def k8s_provider(stack: TerraformStack) -> None:
    kubernetes.provider.KubernetesProvider(stack, "kubernetes", config_path="~/.kube/config")


def service(stack: TerraformStack, kind: str = "ClusterIP", annotations: dict[str, str] | None = None) -> None:
    k8s_provider(stack)
    kubernetes.service_v1.ServiceV1(stack, "service", metadata={"name": "demo", "annotations": annotations or {}},
                                    spec={"type": kind, "selector": {"app": "demo"}, "port": [{"port": 443}]})


#: The API's Ingress, as constructs_lib/workloads.py annotates it.
API_INGRESS = {
    "alb.ingress.kubernetes.io/scheme": "internet-facing",
    "alb.ingress.kubernetes.io/wafv2-acl-arn": "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/demo/1",
    "alb.ingress.kubernetes.io/certificate-arn": "arn:aws:acm:us-east-1:123456789012:certificate/1",
    "alb.ingress.kubernetes.io/listen-ports": '[{"HTTP": 80}, {"HTTPS": 443}]',
    "alb.ingress.kubernetes.io/ssl-redirect": "443",
}


def ingress_object(stack: TerraformStack, kind: str = "alb", annotations: dict[str, str] = API_INGRESS) -> None:
    k8s_provider(stack)
    kubernetes.ingress_v1.IngressV1(stack, "ingress", metadata={"name": "demo", "annotations": annotations},
                                    spec={"ingress_class_name": kind,
                                          "default_backend": {"service": {"name": "demo", "port": {"number": 80}}}})


def without(annotation: str) -> dict[str, str]:
    return {k: v for k, v in API_INGRESS.items() if k != annotation}


OFFENDING.update({
    # PCI DSS 10.5.1: a year of audit history.
    "log group kept 90 days": (lambda s: log_group(s, days=90), "GP013", "demo/logs", "kept 90 days"),
    # PCI DSS 1.3.2: an endpoint reaches only this account's principals and resources.
    "interface endpoint without a policy": (lambda s: endpoint(s, None), "GP014", "demo/endpoint", "no endpoint policy"),
    "gateway endpoint without a policy": (lambda s: endpoint(s, None, kind="Gateway"), "GP014", "demo/endpoint", "no endpoint policy"),
    "endpoint with the full-access default": (lambda s: endpoint(s, FULL_ACCESS_ENDPOINT_POLICY), "GP014", "demo/endpoint",
                                              "every action on every resource"),
    "endpoint policy resource with the full-access default": (
        lambda s: endpoint(s, FULL_ACCESS_ENDPOINT_POLICY, separate=True), "GP014", "demo/endpoint-policy", "every action"),
    # PCI DSS 1.3.1, 1.4.2: the internet reaches the API's ALB and the CDN, nothing else.
    "service of type LoadBalancer": (lambda s: service(s, "LoadBalancer"), "GP015", "demo/service", "type LoadBalancer"),
    "ingress of another class": (lambda s: ingress_object(s, "nginx"), "GP015", "demo/ingress", "class 'nginx'"),
    "internet-facing ingress without the waf": (
        lambda s: ingress_object(s, annotations=without("alb.ingress.kubernetes.io/wafv2-acl-arn")), "GP015", "demo/ingress", "WAF web ACL"),
    "internet-facing ingress serving plain http": (
        lambda s: ingress_object(s, annotations=without("alb.ingress.kubernetes.io/ssl-redirect")), "GP015", "demo/ingress", "ssl-redirect"),
    "internet-facing load balancer": (
        lambda s: aws.lb.Lb(s, "lb", name="demo", internal=False, load_balancer_type="network", subnets=["subnet-1"]),
        "GP015", "demo/lb", "internet-facing load balancer"),
    "subnet handing out public addresses": (
        lambda s: aws.subnet.Subnet(s, "subnet", vpc_id="vpc-1", cidr_block="10.0.0.0/24", map_public_ip_on_launch=True),
        "GP015", "demo/subnet", "public IPv4 address"),
    "function url without authentication": (
        lambda s: aws.lambda_function_url.LambdaFunctionUrl(s, "url", function_name="demo", authorization_type="NONE"),
        "GP015", "demo/url", "without authentication"),
})


@pytest.mark.parametrize("case", sorted(OFFENDING))
def test_offending_resource_refuses_the_synth(case: str, tmp_path: Path) -> None:
    build, rule, path, text = OFFENDING[case]
    assert_refused_for(refused(tmp_path, build), rule, path, text)


COMPLIANT: dict[str, Build] = {
    "database": db,
    "cache": cache,
    "kafka": kafka,
    "bucket": bucket,
    "log group": log_group,
    "sns topic": topic,
    "sqs queue": queue,
    "secret": secret,
    "ecr": repository,
    "launch template": launch_template,
    "load balancer https from the internet": lambda s: ingress(s, "alb", port=443),
    "ingress from the vpc": lambda s: ingress(s, port=5432, cidr="10.0.0.0/16"),
    "secret value from an ephemeral password": lambda s: aws.secretsmanager_secret_version.SecretsmanagerSecretVersion(
        s, "creds", secret_id="x",
        secret_string_wo="${ephemeral.aws_secretsmanager_random_password.db.random_password}", secret_string_wo_version=1),
    "protected key": key,
    "workload role naming its resources": lambda s: workload_role(s, OWN_OBJECTS, {
        "Sid": "Identity", "Action": "sts:GetCallerIdentity", "Resource": "*"}),
    # A controller's role (not a workload) may describe everything it manages, as upstream policies do.
    "controller role describing by wildcard": lambda s: workload_role(s, {
        "Sid": "Describe", "Action": "ec2:DescribeSecurityGroups", "Resource": "*"}, tagged=False),
    "log group kept a year and a month": lambda s: log_group(s, days=400),
    "interface endpoint with this account's policy": endpoint,
    "endpoint whose policy is its own resource": lambda s: endpoint(s, separate=True),
    "gateway load balancer endpoint (takes no policy)": lambda s: endpoint(s, None, kind="GatewayLoadBalancer"),
    "cluster-internal service": service,
    "internal load balancer service": lambda s: service(s, "LoadBalancer", {"service.beta.kubernetes.io/aws-load-balancer-scheme": "internal"}),
    "the api ingress: alb, waf, certificate, https": ingress_object,
    "internal alb ingress": lambda s: ingress_object(s, annotations={"alb.ingress.kubernetes.io/scheme": "internal"}),
    "internal load balancer": lambda s: aws.lb.Lb(s, "lb", name="demo", internal=True, load_balancer_type="network", subnets=["subnet-1"]),
}


@pytest.mark.parametrize("case", sorted(COMPLIANT))
def test_compliant_counterpart_is_synthesized(case: str, tmp_path: Path) -> None:
    stack = accepted(tmp_path, COMPLIANT[case])
    assert stack["resource"], "the stack was written with its resources"


def test_missing_cost_tags_on_a_provider_refuse_the_synth(tmp_path: Path) -> None:
    violation = refused(tmp_path, key, tags={"Environment": "Test", "Project": "GlobalPay"})
    assert_refused_for(violation, "GP005", "demo/aws", "CostCenter")


def test_a_second_provider_without_tags_is_refused_too(tmp_path: Path) -> None:
    def build(stack: TerraformStack) -> None:
        key(stack)
        aws.provider.AwsProvider(stack, "aws-eu", region="eu-west-1", alias="eu")

    assert_refused_for(refused(tmp_path, build), "GP005", "demo/aws-eu", "Environment, Project, CostCenter")


def test_literal_provider_credentials_are_refused(tmp_path: Path) -> None:
    def build(stack: TerraformStack) -> None:
        key(stack)
        aws.provider.AwsProvider(stack, "aws-eu", region="eu-west-1", alias="eu", secret_key="wJalrXUtnFEMI/K7MDENG",
                                 default_tags=[{"tags": COST_TAGS}])

    assert_refused_for(refused(tmp_path, build), "GP006", "demo/aws-eu", "secret_key holds a literal")


# ---------------------------------------------------------------------------------------------------
# Reporting and suppressions
# ---------------------------------------------------------------------------------------------------


def test_every_violation_of_every_stack_is_listed(tmp_path: Path) -> None:
    """cdktf stops at the first refused stack; the error still lists the later stacks' violations."""
    app = make_app(tmp_path, lambda s: db(s, publicly_accessible=True, kms_key_id=None), lambda s: ingress(s))
    with pytest.raises(PolicyViolation) as caught:
        synth(app)
    lines = caught.value.lines()
    assert_refused_for(caught.value, "GP001", "demo/db")
    assert_refused_for(caught.value, "GP003", "demo/db")
    assert_refused_for(caught.value, "GP004", "demo-2/app/ingress-22")
    assert all(line.startswith("policy error: GP00") and "\n" not in line for line in lines)


def test_suppression_with_a_reason_lets_the_synth_through_and_is_reported(tmp_path: Path) -> None:
    scopes: list[Construct] = []

    def build(stack: TerraformStack) -> None:
        scopes.append(ingress(stack, "bastion"))
        suppress(scopes[0], "GP004", reason="break-glass bastion, closed by the SCP outside change windows")

    app = make_app(tmp_path, build)
    synth(app)
    report = policy_report(app)
    assert report is not None and not report.findings
    [(finding, suppression)] = report.suppressed
    assert finding.rule == "GP004" and finding.path == "demo/bastion/ingress-22"
    assert suppression.path == "demo/bastion" and "break-glass" in suppression.reason


def test_suppression_covers_only_its_rule(tmp_path: Path) -> None:
    def build(stack: TerraformStack) -> None:
        db(stack, publicly_accessible=True)
        suppress(stack.node.find_child("db"), "GP004", reason="not the rule that fires")

    assert_refused_for(refused(tmp_path, build), "GP003", "demo/db")


def test_unused_suppressions_are_reported(tmp_path: Path) -> None:
    def build(stack: TerraformStack) -> None:
        suppress(key(stack), "GP003", reason="kept after the public endpoint was removed")

    app = make_app(tmp_path, build)
    synth(app)
    report = policy_report(app)
    assert report is not None and [s.path for s in report.unused_suppressions] == ["demo/key"]


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_suppression_needs_a_reason(reason: str, tmp_path: Path) -> None:
    app = App(outdir=str(tmp_path), stack_traces=False)  # App() makes <outdir>/stacks at once
    stack = TerraformStack(app, "demo")
    with pytest.raises(ValueError, match="needs a reason"):
        suppress(stack, "GP004", reason=reason)


def test_unknown_rule_cannot_be_suppressed(tmp_path: Path) -> None:
    app = App(outdir=str(tmp_path), stack_traces=False)
    with pytest.raises(ValueError, match="unknown policy rule"):
        suppress(TerraformStack(app, "demo"), "GP999", reason="typo")


def test_plain_app_synth_is_refused_too(tmp_path: Path) -> None:
    """Code that calls ``app.synth()`` directly (not ``policy.synth``) still never writes the stack."""
    app = make_app(tmp_path, lambda s: db(s, publicly_accessible=True))
    with pytest.raises(RuntimeError, match=r"GP003 demo/db: publicly_accessible"):
        app.synth()
    assert not (tmp_path / "stacks" / "demo" / "cdk.tf.json").exists()


def test_a_private_synth_checks_the_written_json_with_the_same_findings(tmp_path: Path) -> None:
    """``main.py``'s own synth (``synth(app, private_outdir=...)``) checks each written ``cdk.tf.json`` instead of a
    second ``to_terraform()``: the same findings, resource and provider rules alike, and only then may the caller
    swap the folder in (it removes it on the error)."""
    def build(stack: TerraformStack) -> None:
        db(stack, publicly_accessible=True)
        bucket(stack, sse=False)
        aws.provider.AwsProvider(stack, "aws-eu", region="eu-west-1", alias="eu")

    with pytest.raises(PolicyViolation) as validated:
        synth(make_app(tmp_path / "validated", build))
    with pytest.raises(PolicyViolation) as written:
        synth(make_app(tmp_path / "private", build), private_outdir=tmp_path / "private")
    lines = written.value.lines()
    assert lines == validated.value.lines()
    assert any("GP003 demo/db" in line for line in lines) and any("GP001" in line for line in lines)
    assert any("GP005 demo/aws-eu" in line for line in lines)
    good = make_app(tmp_path / "good", key)
    report = synth(good, private_outdir=tmp_path / "good")
    assert report is not None and report.deferred and report.resources_checked == 1 and "demo" in report.checked_stacks


# ---------------------------------------------------------------------------------------------------
# The real environments pass the policy
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ["prod", "staging"])
def test_every_environment_passes_the_policy(env: str, tmp_path: Path) -> None:
    from regions.app import build_app

    spaces = build_app(load_config(env, REGION_SPECS), str(tmp_path))
    report = apply_policy(spaces.app)
    synth(spaces.app)
    assert report.resources_checked > 100
    assert {s.node.id for s in spaces.stacks} <= report.checked_stacks
    assert report.whole_app_checked, "the rules that span stacks ran (constructs_lib/app_rules.py)"
    for finding, suppression in report.suppressed:
        assert suppression.reason, finding


def test_synth_summary_lists_suppressions_with_reasons(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from types import SimpleNamespace

    from regions.summary import REVIEW_COMMANDS, print_summary

    def build(stack: TerraformStack) -> None:
        suppress(ingress(stack, "bastion"), "GP004", reason="break-glass bastion")
        suppress(key(stack), "GP003", reason="left over")

    app = make_app(tmp_path, build)
    synth(app)
    stacks = [c for c in app.node.children if TerraformStack.is_stack(c)]
    print_summary(tmp_path, SimpleNamespace(app=app, stacks=stacks), 0.5)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"synthesized 1 workspaces in 0.5 s -> {tmp_path / 'stacks'}"
    assert any(line.startswith("  demo ") and "resources" in line for line in out)
    assert any(re.match(r"policy: GP001-GP\d{3}, AWS001-AWS\d{3} passed on ", line) and "1 finding(s) suppressed" in line
               for line in out)
    assert "  suppressed GP004 x1 at demo/bastion: break-glass bastion" in out
    assert any("unused suppression GP003 at demo/key" in line for line in out)
    assert len(out) <= 24 and all(len(line) <= 130 for line in out), "one screen"
    # What to run next, as tasks.py entries (tests/test_tool.py runs them as printed).
    assert out[-1] == "before terraform plan: " + "; ".join(REVIEW_COMMANDS)
