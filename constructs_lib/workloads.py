"""The GlobalPay services on Kubernetes: the guide's "Kubernetes Deployment Manifests", hardened.

Per service: its own ServiceAccount (annotated with its own IAM role: ``constructs_lib/identity.py``), a
Deployment (pinned image from the region's ECR, the guide's replicas, resources and probes, configuration from
``globalpay-config`` plus the service's own names in every data store, trace export to the cluster's collector,
and the service's own secrets from a Secret that external-secrets syncs from the region's replica of each
Secrets Manager secret, reading as that service account), a ClusterIP Service, a PodDisruptionBudget, a topology
spread over the AZs and an HPA (the guide's api-gateway HPA, for every service, between its ``replicas`` and
``max_replicas``). The api-gateway also gets the guide's ALB Ingress. No pod receives the database master login:
the services log in to PostgreSQL with IAM tokens of their own role (docs/compliance/access-model.md).

Beyond the guide: every container drops all capabilities and runs the RuntimeDefault seccomp profile with a
read-only root filesystem and a writable ``emptyDir`` at ``/tmp`` (the namespace enforces the ``restricted``
Pod Security Standard, so a pod that does not comply is refused); NetworkPolicies deny everything by
default and allow only what the services need (PCI DSS 1.3: segmentation inside the cluster too).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from constructs import Construct

from constructs_lib import versions
from constructs_lib.access import SECRET_PROPERTIES, ServiceIdentity, secret_env_name
from constructs_lib.capacity import ROLLOUT_SURGE_PERCENT
from constructs_lib.cluster import (
    OTLP_GRPC_PORT,
    OTLP_HTTP_PORT,
    TRACE_COLLECTOR_HOST,
    TRACE_COLLECTOR_NAMESPACE,
    XRAY_DAEMON_PORT,
)
from constructs_lib.config import ServiceConfig
from constructs_lib.providers import kubernetes

#: Containers run as this UID/GID (the guide's runAsUser).
RUN_AS_USER = 1000

#: Data tier ports the services reach inside the VPC: PostgreSQL, Redis and MSK SASL/IAM.
DATA_TIER_PORTS = (5432, 6379, 9098)

#: Service-to-service calls the NetworkPolicies allow (caller, callee); pairs whose services are not
#: configured are skipped.
SERVICE_CALLS = (("api-gateway", "payment-processor"),)

#: Instance metadata: never reachable from application pods (they use IRSA).
IMDS_CIDR = "169.254.169.254/32"

#: TLS policy of the ALB listener: TLS 1.2+ only (PCI DSS 4.2.1), TLS 1.3 preferred.
ALB_SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"

#: Pod template annotation holding the ConfigMap's checksum (the Helm ``checksum/config`` pattern).
CONFIG_CHECKSUM_ANNOTATION = "globalpay.com/config-sha256"



def secrets_name(service: str) -> str:
    """The Kubernetes Secret (and SecretStore, ExternalSecret) of one service's own secrets."""
    return f"{service}-secrets"


def trace_settings(environment_label: str, namespace: str) -> dict[str, str]:
    """Environment that sends every service's traces to the cluster's collector, and from there to X-Ray.

    OpenTelemetry SDKs (the AWS Distro for OpenTelemetry ones know the ``xray`` sampler and propagator):
    OTLP over HTTP to the CloudWatch agent of the observability add-on, sampling decided by the region's X-Ray
    sampling rule through the agent's proxy, X-Ray trace headers propagated next to W3C ones. X-Ray SDKs:
    ``AWS_XRAY_DAEMON_ADDRESS``. ``OTEL_SERVICE_NAME`` is set per container (the service's name: the node in
    the X-Ray service map). docs/compute.md, "Tracing", says what an application must do.
    """
    collector = f"http://{TRACE_COLLECTOR_HOST}"
    return {
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"{collector}:{OTLP_HTTP_PORT}/v1/traces",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
        "OTEL_PROPAGATORS": "tracecontext,baggage,xray",
        "OTEL_TRACES_SAMPLER": "xray",
        "OTEL_TRACES_SAMPLER_ARG": f"endpoint={collector}:{XRAY_DAEMON_PORT}",
        "OTEL_RESOURCE_ATTRIBUTES": f"deployment.environment={environment_label},service.namespace={namespace}",
        "AWS_XRAY_DAEMON_ADDRESS": f"{TRACE_COLLECTOR_HOST}:{XRAY_DAEMON_PORT}",
    }


def service_env(ident: ServiceIdentity) -> list[dict[str, str]]:
    """The service's own names: its PostgreSQL role (IAM authentication), its Redis user and key prefix, its
    Kafka consumer group. Values, not secrets: each only works with the service's own IAM role."""
    env = [{"name": "DATABASE_USER", "value": ident.postgres_role}] if ident.postgres_role else []
    env += [{"name": "REDIS_USER", "value": ident.redis_user}, {"name": "REDIS_KEY_PREFIX", "value": f"{ident.service}:"}]
    if ident.kafka_group:
        env.append({"name": "KAFKA_GROUP_ID", "value": ident.kafka_group})
    return env


@dataclass(frozen=True)
class HpaSettings:
    """The guide's HPA targets: CPU 70 %, memory 80 %. Each service scales between its ``replicas`` (the guide's
    ``minReplicas``) and its ``max_replicas``."""

    cpu_utilization: int = 70
    memory_utilization: int = 80


@dataclass(frozen=True)
class WorkloadsProps:
    """Everything the workloads need; tokens of the -apps stack (account) or the core stacks (role ARN, endpoints, writer)."""

    #: ``prod`` / ``staging`` (secret paths ``globalpay/<env>/...``).
    env: str
    #: The guide's ``environment`` label value (``production``).
    environment_label: str
    region: str
    #: Account id from the -apps stack's caller identity (never a literal).
    account_id: str
    #: Each service's names in every system (``constructs_lib.access.identities``).
    identities: Sequence[ServiceIdentity]
    #: IRSA role ARN of each service's account, by service (the core stack's ``identity/``).
    service_role_arns: Mapping[str, str]
    #: The region's VPC CIDR: ALB targets (ip mode) and the data tier live there.
    vpc_cidr: str
    #: ACM certificate of ``api_hostname`` in this region.
    certificate_arn: str
    #: The region's regional WAF web ACL.
    waf_acl_arn: str
    api_hostname: str
    #: Fixed ALB name (the -edge stack finds the ALB by it to protect it with Shield Advanced).
    load_balancer_name: str
    services: Sequence[ServiceConfig]
    #: The other regions' VPCs, where the PostgreSQL writer may live (5432 over the transit gateway).
    database_peer_cidrs: Sequence[str] = ()
    namespace: str = "globalpay"
    log_level: str = "info"
    hpa: HpaSettings = field(default_factory=HpaSettings)
    #: Path Route 53 health-checks on each region's ALB (``edge.health_check_path``). The check sends the ALB's
    #: DNS name as Host, so the Ingress also routes exactly this path without a host rule.
    health_check_path: str = "/health"
    #: The service behind the Ingress and the HPA (guide: api-gateway).
    public_service: str = "api-gateway"
    #: Extra ConfigMap entries (merged over the guide's keys); default none.
    extra_config: Mapping[str, str] = field(default_factory=dict)
    #: The guide's ``KAFKA_CLIENT_ID``.
    kafka_client_id: str = "globalpay-api"
    #: S3 bucket (SSE-S3, same region, ELB delivery policy) and prefix of the ALB's access logs; empty: none.
    alb_access_log_bucket: str = ""
    alb_access_log_prefix: str = "alb"
    #: Send traces to the cluster's collector (``trace_settings``); default on.
    tracing: bool = True


def image_uri(account_id: str, region: str, service: ServiceConfig) -> str:
    """``<account>.dkr.ecr.<region>.amazonaws.com/globalpay/<name>:<tag>`` (the guide's repositories)."""
    return f"{account_id}.dkr.ecr.{region}.amazonaws.com/globalpay/{service.name}:{service.image_tag}"


class GlobalPayWorkloads(Construct):
    def __init__(self, scope: Construct, id: str, props: WorkloadsProps) -> None:
        super().__init__(scope, id)
        self.props = props
        ns = props.namespace
        by_name = {s.name: s for s in props.services}

        self.namespace = kubernetes.namespace_v1.NamespaceV1(
            self,
            "namespace",
            metadata={
                "name": ns,
                "labels": {
                    "name": ns,
                    "environment": props.environment_label,
                    # Pods that break the restricted profile are refused at admission.
                    "pod-security.kubernetes.io/enforce": "restricted",
                    "pod-security.kubernetes.io/enforce-version": "latest",
                    # The load balancer controller keeps pods out of rotation until the ALB target is healthy.
                    "elbv2.k8s.aws/pod-readiness-gate-inject": "enabled",
                },
            },
        )
        # Every object below names the namespace through this token, so it is created after the namespace.
        self.ns: str = self.namespace.metadata.name

        public = by_name.get(props.public_service)
        config = {
            "NODE_ENV": "production",  # Node.js runtime mode (optimised builds), not the environment name
            "LOG_LEVEL": props.log_level,
            "API_PORT": str((public or props.services[0]).port),
            # The guide says "true", but its replication group (--num-cache-clusters 3) runs with cluster mode
            # disabled, where a cluster-mode client fails ("cluster support disabled").
            "REDIS_CLUSTER_MODE": "false",
            "KAFKA_CLIENT_ID": props.kafka_client_id,
            **(trace_settings(props.environment_label, ns) if props.tracing else {}),
            **props.extra_config,
        }
        self.config_map = kubernetes.config_map_v1.ConfigMapV1(
            self, "config", metadata={"name": "globalpay-config", "namespace": self.ns}, data=config
        )
        #: sha256 of the ConfigMap's data, computed by Terraform (the values are remote-state tokens at synth).
        self.config_checksum: str = "${sha256(jsonencode(" + self.config_map.fqn + ".data))}"
        self.identities = {i.service: i for i in props.identities}
        self.service_accounts: dict[str, Any] = {}
        self.secrets: dict[str, Any] = {}
        for service in props.services:
            ident = self.identities[service.name]
            # Its own account, trusted by its own role only (the role's trust policy names this account).
            self.service_accounts[service.name] = kubernetes.service_account_v1.ServiceAccountV1(
                self,
                f"{service.name}-service-account",
                metadata={
                    "name": ident.service_account,
                    "namespace": self.ns,
                    "labels": {"app": service.name},
                    "annotations": {"eks.amazonaws.com/role-arn": props.service_role_arns[service.name]},
                },
                automount_service_account_token=True,
            )
            if ident.secrets:
                self._external_secret(ident)

        self.deployments: dict[str, Any] = {}
        for service in props.services:
            self._service(service)
        if public is not None:
            self._ingress(public)
        self._network_policies(by_name)

    # ---------------------------------------------------------------------------------------------
    def _external_secret(self, ident: ServiceIdentity) -> None:
        """A SecretStore that authenticates as the service's own account (so it reads with the service's role:
        its own secrets, nothing else) and the ExternalSecret of exactly those secrets."""
        props, name = self.props, secrets_name(ident.service)
        account = self.service_accounts[ident.service]
        store = kubernetes.manifest.Manifest(
            self,
            f"{ident.service}-secret-store",
            manifest={
                "apiVersion": versions.EXTERNAL_SECRETS_API_VERSION,
                "kind": "SecretStore",
                "metadata": {"name": name, "namespace": self.ns},
                "spec": {
                    "provider": {
                        "aws": {
                            "service": "SecretsManager",
                            "region": props.region,
                            "auth": {"jwt": {"serviceAccountRef": {"name": ident.service_account}}},
                        }
                    }
                },
            },
            depends_on=[account],
        )
        self.secrets[ident.service] = kubernetes.manifest.Manifest(
            self,
            f"{ident.service}-external-secret",
            manifest={
                "apiVersion": versions.EXTERNAL_SECRETS_API_VERSION,
                "kind": "ExternalSecret",
                "metadata": {"name": name, "namespace": self.ns},
                "spec": {
                    "refreshInterval": "1h",
                    "secretStoreRef": {"name": name, "kind": "SecretStore"},
                    "target": {"name": name, "creationPolicy": "Owner"},
                    "data": [
                        {"secretKey": secret_env_name(secret, prop),
                         "remoteRef": {"key": f"globalpay/{props.env}/{secret}", "property": prop}}
                        for secret in sorted(ident.secrets) for prop in SECRET_PROPERTIES[secret]
                    ],
                },
            },
            depends_on=[store],
        )

    # ---------------------------------------------------------------------------------------------
    def _service(self, service: ServiceConfig) -> None:
        props = self.props
        name = service.name
        labels = {"app": name, "version": "v1"}
        selector = {"app": name}
        port = str(service.port)
        container_security = {
            "run_as_non_root": True,
            "run_as_user": str(RUN_AS_USER),
            "run_as_group": str(RUN_AS_USER),
            "allow_privilege_escalation": False,
            "read_only_root_filesystem": True,
            "privileged": False,
            "capabilities": {"drop": ["ALL"]},
            "seccomp_profile": {"type": "RuntimeDefault"},
        }
        ident = self.identities[name]
        env_from: list[dict[str, Any]] = [{"config_map_ref": {"name": self.config_map.metadata.name}}]
        if ident.secrets:
            env_from.append({"secret_ref": {"name": secrets_name(name)}})
        container = {
            "name": name,
            "image": image_uri(props.account_id, props.region, service),
            "image_pull_policy": "Always",
            "port": [{"container_port": service.port, "name": "http", "protocol": "TCP"}],
            "env_from": env_from,
            "env": [
                # Who this service is in each data store (docs/compliance/access-model.md).
                *service_env(ident),
                # The node of this service in the X-Ray service map.
                *([{"name": "OTEL_SERVICE_NAME", "value": name}] if props.tracing else []),
            ],
            "resources": {
                "requests": {"cpu": service.cpu_request, "memory": service.memory_request},
                "limits": {"cpu": service.cpu_limit, "memory": service.memory_limit},
            },
            "liveness_probe": {"http_get": {"path": "/health", "port": port}, "initial_delay_seconds": 30, "period_seconds": 10},
            "readiness_probe": {"http_get": {"path": "/ready", "port": port}, "initial_delay_seconds": 10, "period_seconds": 5},
            "security_context": container_security,
            "volume_mount": [{"name": "tmp", "mount_path": "/tmp"}],
        }
        spread = [
            {
                "max_skew": 1,
                "topology_key": key,
                # ScheduleAnyway: during an AZ outage the surviving AZs must still take every replica.
                "when_unsatisfiable": "ScheduleAnyway",
                "label_selector": [{"match_labels": selector}],
            }
            for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
        ]
        self.deployments[name] = kubernetes.deployment_v1.DeploymentV1(
            self,
            f"{name}-deployment",
            metadata={"name": name, "namespace": self.ns, "labels": labels},
            spec={
                "replicas": str(service.replicas),
                "selector": {"match_labels": selector},
                "strategy": {"type": "RollingUpdate", "rolling_update": {"max_surge": f"{ROLLOUT_SURGE_PERCENT}%", "max_unavailable": "0"}},
                "template": {
                    # A change of the ConfigMap (a new writer after a failover, new endpoints) rolls the pods:
                    # they read it only at start.
                    "metadata": {"labels": labels, "annotations": {CONFIG_CHECKSUM_ANNOTATION: self.config_checksum}},
                    "spec": {
                        "service_account_name": self.service_accounts[name].metadata.name,
                        "automount_service_account_token": True,
                        "security_context": {
                            "run_as_non_root": True,
                            "run_as_user": str(RUN_AS_USER),
                            "run_as_group": str(RUN_AS_USER),
                            "fs_group": str(RUN_AS_USER),
                            "seccomp_profile": {"type": "RuntimeDefault"},
                        },
                        "container": [container],
                        "volume": [{"name": "tmp", "empty_dir": {"size_limit": "256Mi"}}],
                        "topology_spread_constraint": spread,
                    },
                },
            },
            # The pods read their own secrets: created once external-secrets is told to sync them.
            depends_on=[self.secrets[name]] if name in self.secrets else None,
            # Terraform does not wait for the rollout: on a new environment the images are pushed by the release
            # pipeline after the registry exists (the core stack makes it), so waiting would fail the one-pass
            # deploy. Releases watch their own rollout (`kubectl rollout status`); the ALB and Route 53 health
            # checks and the alarms watch the running services.
            wait_for_rollout=False,
            # The replica count is the HPA's after the first apply.
            lifecycle={"ignore_changes": ["spec[0].replicas"]},
        )
        kubernetes.service_v1.ServiceV1(
            self,
            f"{name}-service",
            metadata={"name": name, "namespace": self.ns, "labels": {"app": name}},
            spec={
                "type": "ClusterIP",
                "selector": selector,
                "port": [{"name": "http", "port": 80, "target_port": port, "protocol": "TCP"}],
            },
        )
        kubernetes.pod_disruption_budget_v1.PodDisruptionBudgetV1(
            self,
            f"{name}-pdb",
            metadata={"name": name, "namespace": self.ns, "labels": {"app": name}},
            spec={"max_unavailable": "1", "selector": {"match_labels": selector}},
        )
        self._hpa(service)

    def _hpa(self, service: ServiceConfig) -> None:
        hpa, name = self.props.hpa, service.name
        kubernetes.horizontal_pod_autoscaler_v2.HorizontalPodAutoscalerV2(
            self,
            f"{name}-hpa",
            metadata={"name": f"{name}-hpa", "namespace": self.ns},
            spec={
                "scale_target_ref": {"api_version": "apps/v1", "kind": "Deployment", "name": self.deployments[name].metadata.name},
                "min_replicas": service.replicas,
                "max_replicas": service.max_replicas,
                "metric": [
                    {"type": "Resource", "resource": {"name": resource, "target": {"type": "Utilization", "average_utilization": target}}}
                    for resource, target in (("cpu", hpa.cpu_utilization), ("memory", hpa.memory_utilization))
                ],
                "behavior": {
                    "scale_down": [{
                        "stabilization_window_seconds": 300,
                        "policy": [{"type": "Percent", "value": 50, "period_seconds": 60}],
                    }],
                    "scale_up": [{
                        "stabilization_window_seconds": 0,
                        "select_policy": "Max",
                        "policy": [
                            {"type": "Percent", "value": 100, "period_seconds": 15},
                            {"type": "Pods", "value": 4, "period_seconds": 15},
                        ],
                    }],
                },
            },
        )

    def _ingress(self, service: ServiceConfig) -> None:
        props = self.props
        annotations = {
            "alb.ingress.kubernetes.io/load-balancer-name": props.load_balancer_name,
            "alb.ingress.kubernetes.io/scheme": "internet-facing",
            "alb.ingress.kubernetes.io/target-type": "ip",
            "alb.ingress.kubernetes.io/certificate-arn": props.certificate_arn,
            "alb.ingress.kubernetes.io/listen-ports": json.dumps([{"HTTP": 80}, {"HTTPS": 443}]),
            "alb.ingress.kubernetes.io/ssl-redirect": "443",
            "alb.ingress.kubernetes.io/ssl-policy": ALB_SSL_POLICY,
            "alb.ingress.kubernetes.io/healthcheck-path": "/health",
            "alb.ingress.kubernetes.io/wafv2-acl-arn": props.waf_acl_arn,
            "alb.ingress.kubernetes.io/load-balancer-attributes": ",".join((
                "deletion_protection.enabled=true",
                "routing.http.drop_invalid_header_fields.enabled=true",
                # Every request in the access logs (PCI DSS 10.2), in the region's access-log bucket.
                *(("access_logs.s3.enabled=true", f"access_logs.s3.bucket={props.alb_access_log_bucket}",
                   f"access_logs.s3.prefix={props.alb_access_log_prefix}") if props.alb_access_log_bucket else ()),
            )),
        }
        backend = {"service": {"name": service.name, "port": {"number": 80}}}
        kubernetes.ingress_v1.IngressV1(
            self,
            f"{service.name}-ingress",
            metadata={"name": f"{service.name}-ingress", "namespace": self.ns, "annotations": annotations},
            spec={
                # Replaces the guide's deprecated kubernetes.io/ingress.class annotation.
                "ingress_class_name": "alb",
                "rule": [
                    {"host": props.api_hostname, "http": {"path": [{"path": "/", "path_type": "Prefix", "backend": backend}]}},
                    # Route 53's HTTPS health check sends the ALB's DNS name as Host: without this
                    # host-less rule it would get the ALB's default 404 and every region would look unhealthy.
                    # Only the health endpoint, exact match: the API itself stays reachable by hostname only.
                    {"http": {"path": [{"path": props.health_check_path, "path_type": "Exact", "backend": backend}]}},
                ],
            },
            # Terraform returns once the controller has provisioned the ALB: the stacks applied after this one
            # (Shield protection and ALB alarm in -edge, Route 53 and the dashboard in global) find it by name.
            wait_for_load_balancer=True,
        )

    # ---------------------------------------------------------------------------------------------
    def _network_policies(self, by_name: Mapping[str, ServiceConfig]) -> None:
        props = self.props
        all_pods: dict[str, Any] = {}

        def policy(pid: str, pod_selector: dict, types: list[str], *, ingress=None, egress=None) -> None:
            spec: dict[str, Any] = {"pod_selector": pod_selector, "policy_types": types}
            if ingress is not None:
                spec["ingress"] = ingress
            if egress is not None:
                spec["egress"] = egress
            kubernetes.network_policy_v1.NetworkPolicyV1(
                self, f"netpol-{pid}", metadata={"name": pid, "namespace": self.ns}, spec=spec
            )

        policy("default-deny-all", all_pods, ["Ingress", "Egress"])
        policy("allow-dns", all_pods, ["Egress"], egress=[{
            "to": [{
                "namespace_selector": {"match_labels": {"kubernetes.io/metadata.name": "kube-system"}},
                "pod_selector": {"match_labels": {"k8s-app": "kube-dns"}},
            }],
            "ports": [{"port": "53", "protocol": "UDP"}, {"port": "53", "protocol": "TCP"}],
        }])
        data_tier = [{
            "to": [{"ip_block": {"cidr": props.vpc_cidr}}],
            "ports": [{"port": str(p), "protocol": "TCP"} for p in DATA_TIER_PORTS],
        }]
        if props.database_peer_cidrs:
            data_tier.append({
                "to": [{"ip_block": {"cidr": cidr}} for cidr in props.database_peer_cidrs],
                "ports": [{"port": "5432", "protocol": "TCP"}],
            })
        policy("allow-data-tier", all_pods, ["Egress"], egress=data_tier)
        if props.tracing:
            # The trace collector: the pods send to its Service (ClusterIP). The VPC CNI's policy agent resolves a
            # Service's ClusterIP only for selector peers, so the namespace selector admits the Service; the agent
            # itself runs on the host network, so after DNAT the traffic goes to node IPs inside this VPC.
            policy("allow-trace-collector", all_pods, ["Egress"], egress=[{
                "to": [{"namespace_selector": {"match_labels": {"kubernetes.io/metadata.name": TRACE_COLLECTOR_NAMESPACE}}},
                       {"ip_block": {"cidr": props.vpc_cidr}}],
                "ports": [
                    {"port": str(XRAY_DAEMON_PORT), "protocol": "UDP"},
                    {"port": str(XRAY_DAEMON_PORT), "protocol": "TCP"},
                    {"port": str(OTLP_GRPC_PORT), "protocol": "TCP"},
                    {"port": str(OTLP_HTTP_PORT), "protocol": "TCP"},
                ],
            }])
        policy("allow-aws-apis", all_pods, ["Egress"], egress=[{
            "to": [{"ip_block": {"cidr": "0.0.0.0/0", "except_": [IMDS_CIDR]}}],
            "ports": [{"port": "443", "protocol": "TCP"}],
        }])
        public = by_name.get(props.public_service)
        if public is not None:
            # ALB in ip target mode: the load balancer's ENIs (public subnets of this VPC) reach the pods.
            policy(f"allow-{public.name}-from-alb", {"match_labels": {"app": public.name}}, ["Ingress"], ingress=[{
                "from_": [{"ip_block": {"cidr": props.vpc_cidr}}],
                "ports": [{"port": str(public.port), "protocol": "TCP"}],
            }])
        for caller, callee in SERVICE_CALLS:
            if caller not in by_name or callee not in by_name:
                continue
            callee_port = str(by_name[callee].port)
            policy(f"allow-{caller}-to-{callee}", {"match_labels": {"app": caller}}, ["Egress"], egress=[{
                "to": [{"pod_selector": {"match_labels": {"app": callee}}}],
                "ports": [{"port": callee_port, "protocol": "TCP"}],
            }])
            policy(f"allow-{callee}-from-{caller}", {"match_labels": {"app": callee}}, ["Ingress"], ingress=[{
                "from_": [{"pod_selector": {"match_labels": {"app": caller}}}],
                "ports": [{"port": callee_port, "protocol": "TCP"}],
            }])
