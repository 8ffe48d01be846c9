"""The typed configuration of a GlobalPay environment.

Everything a stack builds is decided here, as plain frozen dataclasses: the deployment guide's values for
``prod``, a smaller copy for ``staging``, and per-region network data (``regions/``). Operators change a
value either in this file (reviewed like code) or with a JSON overrides file (``--config FILE``) whose keys
mirror the field names below; unknown keys are refused. ``validation.validate`` runs on the merged result
before any construct exists, so a bad value never reaches Terraform JSON.

Each field's comment gives its default and, where the guide's literal value was changed, why
(``docs/deviations.md`` lists them all).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from constructs_lib import versions
from constructs_lib.errors import ConfigError, ConfigErrors

PROJECT = "globalpay"

# --------------------------------------------------------------------------------------------------
# Regions and network
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegionSpec:
    """One AWS region's network data. Subnets follow the guide's plan inside ``vpc_cidr``.

    The plan (third octet of a /16): public ``1, 2, 3``; private ``11, 12, 13``; database ``21, 22, 23``,
    each a /24 in the AZ of the same position. In us-east-1 this is exactly the guide's layout plus the
    third database subnet the guide leaves out (RDS Multi-AZ and MSK want three AZs).
    """

    name: str
    vpc_cidr: str
    azs: tuple[str, ...]
    public_subnet_octets: tuple[int, ...] = (1, 2, 3)
    private_subnet_octets: tuple[int, ...] = (11, 12, 13)
    database_subnet_octets: tuple[int, ...] = (21, 22, 23)
    subnet_prefix: int = 24
    # With egress.network_firewall only: the firewall endpoints' subnets (one per AZ, between the private subnets
    # and the NAT gateways) and the NAT gateways' own subnets (apart from the load balancers' public subnets, so
    # traffic between the ALB and the pods never crosses the firewall).
    firewall_subnet_octets: tuple[int, ...] = (31, 32, 33)
    nat_subnet_octets: tuple[int, ...] = (41, 42, 43)  # the NAT gateways' subnets with egress.network_firewall
    # ID of the AWS managed DNS Firewall domain list AWSManagedDomainsAggregateThreatList in this region: IDs are
    # regional and no Terraform data source finds one by name (each region module gives its own, with sources).
    dns_firewall_threat_list_id: str = ""


# --------------------------------------------------------------------------------------------------
# Data tier
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DatabaseConfig:
    """RDS PostgreSQL (guide section 3)."""

    engine: str = "postgres"  # "postgres" (RDS instance, the guide's CLI) or "aurora-postgresql" (its CDK example)
    # The guide's 15.4 reached end of standard support on 2025-03-31 and can no longer be created. We stay on
    # the guide's major (family postgres15, RDS standard support until 2028-02-29) at a current minor.
    engine_version: str = "15.17"
    instance_class: str = "db.r6g.2xlarge"
    replica_instance_class: str = "db.r6g.xlarge"
    allocated_storage_gb: int = 500
    max_allocated_storage_gb: int = 1000  # storage autoscaling ceiling
    storage_type: str = "gp3"
    iops: int = 12000
    storage_throughput_mbps: int = 500  # gp3 baseline at >= 400 GiB; RDS requires it together with iops
    # The guide's "admin" is a reserved word for RDS PostgreSQL master users.
    master_username: str = "globalpay_admin"
    database_name: str = "globalpay"
    port: int = 5432
    multi_az: bool = True
    backup_retention_days: int = 35
    backup_window: str = "03:00-04:00"
    maintenance_window: str = "mon:04:00-mon:05:00"
    log_exports: tuple[str, ...] = ("postgresql", "upgrade")
    max_connections: int = 1000
    work_mem_kb: int = 65536
    # shared_buffers is counted in 8 kB pages. The guide's 16777216 pages are 128 GiB, twice the memory of a
    # db.r6g.2xlarge (64 GiB); 2097152 pages = 16 GiB = 25% of memory, RDS's own default ratio.
    shared_buffers_8kb_pages: int = 2097152
    performance_insights_retention_days: int = 7
    monitoring_interval_seconds: int = 60
    same_region_replica: bool = True  # guide: globalpay-prod-replica-1 in the primary region's second AZ
    cross_region_replica: bool = True  # guide: globalpay-prod-replica-eu in the secondary region
    aurora_instances: int = 2  # only for engine "aurora-postgresql" (the guide's CDK example)
    # The region where the writer was first created (identifier globalpay-<env>-primary). It anchors the
    # database topology: failing over (primary_region = the replica's region) promotes that region's replica in
    # place and never turns this region's instance into a replica. Default: the guide's us-east-1.
    origin_region: str = "us-east-1"
    # Bump to rotate the master password: a new ephemeral password goes to the writer (password_wo) and to
    # the credentials secret (secret_string_wo) in the same apply. Default 1.
    password_version: int = 1
    # Automated backups of read replicas (RDS PostgreSQL supports them); the DR replica keeps a week of
    # point-in-time recovery of its own. Default 7.
    replica_backup_retention_days: int = 7
    # CloudWatch Database Insights ("standard" free; "advanced" needs performance_insights_retention_days
    # >= 465). The Performance Insights console reached end of life on 2026-07-31; its API lives on.
    database_insights_mode: str = "standard"
    # Minor upgrades are change-controlled: engine_version is pinned and bumped in review (an automatic
    # upgrade would drift from the pinned version in state). Default False.
    auto_minor_version_upgrade: bool = False
    # Engine version of the read replicas (same region and cross-region). RDS requires replicas to take a minor
    # upgrade before their source, and one apply would update the writer first (the replicas depend on it): bump
    # this field and apply, then bump engine_version and apply (docs/runbooks/upgrade.md). Never behind
    # engine_version; equal to it outside an upgrade, and always for a major upgrade (RDS upgrades in-region
    # replicas with their source). Unused with Aurora (members run their cluster's version). Default: the
    # writer's 15.17.
    replica_engine_version: str = "15.17"
    # Lets an apply move the engine to a new major version (ModifyDBInstance AllowMajorVersionUpgrade). Set it in
    # the change that bumps the major, back to false afterwards. Default False.
    allow_major_version_upgrade: bool = False
    # RDS applies a modification at once instead of in the next maintenance window. Default False: planned
    # changes wait for maintenance_window. Every failover, failback and emergency-scaling step turns it on (the
    # validator requires it while a switch is in progress: a promoted writer must not stay single-AZ and
    # half-size for a week). Static parameters still need a reboot (docs/runbooks/failover.md).
    apply_immediately: bool = False
    # Where a failback stands (docs/runbooks/failback.md). "" in normal operation and right after a failover
    # (primary_region = the replica's region); then, one reviewed plan each: "release-origin", "retire-origin",
    # "reseed-origin", "fence-dr" (primary_region still the DR region), "switchback", "release-dr", "retire-dr"
    # (primary_region back to origin_region); "" again is the original topology. Default "".
    failback_step: str = ""
    # Names the switch (incident or drill, e.g. "inc-4711", "drill-2027q1") in the tags of a fenced or released
    # instance and in the final snapshot of an instance a failback step retires. Lower-case letters, digits and
    # single '-'; required while a switch is in progress. Default "".
    switch_id: str = ""
    # Schemas whose tables hold cardholder data: pgaudit object auditing logs every SELECT, INSERT, UPDATE and
    # DELETE on their tables (PCI DSS 10.2.1.1), through grants to the audit role the role manager keeps.
    # Default: the payments schema.
    cardholder_schemas: tuple[str, ...] = ("payments",)


@dataclass(frozen=True)
class CacheConfig:
    """ElastiCache Redis (guide section 4). Access: RBAC with IAM authentication (no AUTH token)."""

    engine: str = "redis"
    engine_version: str = "7.1"
    node_type: str = "cache.r6g.xlarge"
    num_cache_clusters: int = 3
    port: int = 6379
    snapshot_retention_days: int = 7
    snapshot_window: str = "03:00-05:00"
    maintenance_window: str = "mon:05:00-mon:07:00"
    # Unlike RDS, engine_version pins the minor only (7.1): since Redis OSS 6.0 ElastiCache ships one build per
    # minor and patches it itself. With true the patch updates of the pinned minor apply in maintenance_window
    # (AWS Security Hub ElastiCache.2; PCI DSS 6.3.3); a new minor or major is still a reviewed engine_version
    # change. Default True.
    auto_minor_version_upgrade: bool = True
    # ElastiCache applies a modification (node type, replica count, engine version) at once instead of in the
    # next maintenance window. Default False; on for failover, failback and emergency-scaling steps (required
    # while a switch is in progress, like database.apply_immediately).
    apply_immediately: bool = False


@dataclass(frozen=True)
class KafkaConfig:
    """Amazon MSK (guide section 5). Clients authenticate with IAM; each service's role names its topics and its
    consumer group (``workloads.services[].access``)."""

    # The guide's 3.5.1 reached MSK end of support on 2025-10-23. 3.9.x is the last 3.x line (no client
    # protocol removals, unlike 4.x) and runs in KRaft mode: no ZooKeeper to patch or expose.
    kafka_version: str = "3.9.x.kraft"
    broker_instance_type: str = "kafka.m5.2xlarge"
    broker_count: int = 6
    ebs_volume_gb: int = 1000
    # Storage autoscaling ceiling per broker (Application Auto Scaling grows the volumes, never shrinks them, at
    # most once every six hours); 0 turns it off, and the disk alarm (observability.msk_disk_alarm_percent) and
    # docs/runbooks/upgrade.md ("Kafka storage") are the runbook. Default 4000 GiB (4 x the guide's 1000).
    ebs_volume_max_gb: int = 4000
    # Broker storage utilization the autoscaling keeps (target tracking on KafkaBrokerStorageUtilization); below
    # the disk alarm's threshold. Default 60.
    storage_autoscaling_target_percent: int = 60
    # MSK only offers provisioned storage throughput on kafka.m5.4xlarge and larger; the guide's 250 MiB/s on
    # kafka.m5.2xlarge is rejected. We keep the broker size and use its baseline EBS throughput.
    provisioned_throughput_enabled: bool = False
    provisioned_throughput_mibps: int = 250
    enhanced_monitoring: str = "PER_TOPIC_PER_PARTITION"
    # Prometheus JMX and node exporters on the brokers (ports 11001/11002, not opened by any rule). Default off.
    open_monitoring: bool = False


@dataclass(frozen=True)
class SecretsConfig:
    """Secrets Manager (guide section 6)."""

    recovery_window_days: int = 30


@dataclass(frozen=True)
class RegistryConfig:
    """ECR (guide: "Create ECR Repositories")."""

    repositories: tuple[str, ...] = ("api-gateway", "payment-processor", "reconciliation-engine")
    keep_tagged_images: int = 50
    untagged_expiry_days: int = 14
    # Region holding the repositories (the guide pushes to us-east-1); ECR replication copies every image to
    # the other regions. Not tied to primary_region: a failover must not move or re-create repositories.
    home_region: str = "us-east-1"
    # Registry scanning: "ENHANCED" (Amazon Inspector, OS and language packages, continuous) or "BASIC".
    scan_type: str = "ENHANCED"


# --------------------------------------------------------------------------------------------------
# Compute
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClusterConfig:
    """EKS (guide section 2). Pinned add-ons, charts and node AMIs per Kubernetes minor: ``constructs_lib/versions.py``."""

    endpoint_public_access: bool = False
    public_access_cidrs: tuple[str, ...] = ()
    # Private networks that reach the private API endpoint on 443, where Terraform applies the -addons and
    # -apps stacks from (CI runners, operators over VPN). The platform's own VPCs (runners inside them or in a
    # peered region) are always admitted; list only networks beyond them. Default: none.
    api_access_cidrs: tuple[str, ...] = ()
    # IAM role granted cluster-admin through an EKS access entry (API authentication mode): a role name in this
    # account, a role name with its IAM path (an IAM Identity Center permission set's role:
    # "aws-reserved/sso.amazonaws.com/eu-west-2/AWSReservedSSO_Admin_0123456789abcdef"), or a full role ARN. EKS
    # needs the role's real ARN, path included. Default: the role platform engineers assume.
    admin_role_name: str = "GlobalPayPlatformAdmin"
    log_retention_days: int = 365
    # Kubernetes minor of every region's cluster that kubernetes_versions does not name. Default: the pinned
    # versions.KUBERNETES_VERSION (1.35; the guide's 1.27 can no longer be created).
    kubernetes_version: str = versions.KUBERNETES_VERSION
    # Region -> Kubernetes minor while an upgrade rolls through the regions: the canary (first in upgrade_order)
    # runs the next minor and soaks before the next region follows, one region per change. Default: none.
    kubernetes_versions: Mapping[str, str] = field(default_factory=dict)
    # The order the regions take an upgrade, the canary first; a region may never run a newer minor than one before
    # it. Empty: the regions that hold no database first (ap-southeast-2), then secondary_region, primary_region last
    # (EnvironmentConfig.upgrade_order). Default: empty.
    upgrade_order: tuple[str, ...] = ()
    # EKS upgrade policy when a minor leaves standard support: "EXTENDED" keeps it (USD 0.60 instead of 0.10 per
    # cluster hour, priced by tasks.py cost from that date), "STANDARD" lets EKS upgrade the control plane itself.
    # Default "EXTENDED": a payments cluster is never upgraded by surprise; the validator keeps every minor in
    # standard support, so extended support is a safety net, not a plan (staging: "STANDARD").
    support_type: str = "EXTENDED"
    node_group_name: str = "payment-processing-nodes"
    node_instance_types: tuple[str, ...] = ("t3.xlarge",)
    node_min_size: int = 3
    # The guide's 10 t3.xlarge offer about 34 vCPU to pods, less than the services at their HPA maxima plus a
    # rollout surge ask for (about 51 vCPU: validation._capacity); 15 nodes hold it. Default 15.
    node_max_size: int = 15
    node_desired_size: int = 5
    node_disk_gb: int = 50
    # CPU credit mode of burstable (T) instance types: "unlimited" never throttles a node to its baseline (40% per
    # vCPU on t3.xlarge) and bills the surplus (tasks.py cost prices it at the HPA's CPU target); "standard"
    # throttles once the earned credits are spent. Ignored for other types. Default "unlimited" (EC2's own default
    # for T3, made explicit).
    node_cpu_credits: str = "unlimited"


@dataclass(frozen=True)
class ServiceAccess:
    """What one service may reach, and nothing else: its own Kubernetes service account and IAM role, its own
    PostgreSQL role, Redis user and Kafka permissions (docs/compliance/access-model.md, generated from the synthesized
    policies). Every service also reads and writes its own prefix ``<service>/`` of the region's data bucket."""

    # Shared secrets the service reads, named below globalpay/<env>/ ("jwt/keys", "api/keys"). Never
    # "database/credentials": that is the master login, kept for break-glass and the role manager. Default none.
    secrets: tuple[str, ...] = ()
    # PostgreSQL: schema -> comma-separated table privileges (SELECT, INSERT, UPDATE, DELETE) of the service's
    # login role (its name with '_' for '-', IAM database authentication). Default {}: no database role at all.
    database_grants: Mapping[str, str] = field(default_factory=dict)
    # Kafka topics the service writes to and reads from; it consumes as the consumer group named after it.
    # Default none.
    kafka_produce: tuple[str, ...] = ()
    kafka_consume: tuple[str, ...] = ()
    # Payment events: publish to the SNS topic / consume the SQS queue of the region. Default neither.
    publish_payment_events: bool = False
    consume_payment_events: bool = False
    # Redis: the command rules of the service's ElastiCache user, on its own keys and channels (<service>:*)
    # only. Dangerous commands, FUNCTION, SCAN and RANDOMKEY are always removed after these, and the few
    # commands every client needs (PING, INFO for readiness, HELLO, CLIENT SETNAME/GETNAME/ID/INFO) are always
    # added (constructs_lib/access.py). Default: reads, writes and MULTI/EXEC.
    redis_commands: tuple[str, ...] = ("+@read", "+@write", "+@transaction")


@dataclass(frozen=True)
class ServiceConfig:
    """One GlobalPay service (guide: "Kubernetes Deployment Manifests")."""

    name: str
    # Replicas at rest: the Deployment's count and its HPA's minimum. Default 5 (the guide's).
    replicas: int = 5
    # The HPA's maximum. Default 10; api-gateway 50 (the guide's HPA).
    max_replicas: int = 10
    cpu_request: str = "500m"
    memory_request: str = "1Gi"
    cpu_limit: str = "1000m"
    memory_limit: str = "2Gi"
    port: int = 3000
    image_tag: str = "1.0.0"
    # Least privilege: the data stores, secrets and events this service uses. Default: nothing but its own
    # bucket prefix and Redis keys.
    access: ServiceAccess = field(default_factory=ServiceAccess)


@dataclass(frozen=True)
class WorkloadsConfig:
    namespace: str = "globalpay"
    log_level: str = "info"
    # The guide's three services, each with what it uses and its own HPA (the guide only gives api-gateway one:
    # min 5, max 50). api-gateway (internet-facing) signs tokens, keeps API clients and idempotency keys,
    # rate-limits with Lua scripts and writes the API audit trail; it calls payment-processor over HTTP.
    # payment-processor writes payments (cardholder data), calls the processors (api/keys) and publishes payment
    # events, and serves api-gateway's calls (max 20); reconciliation-engine reads payments, keeps its own ledger
    # and consumes the events, in batches (max 10). docs/compliance/access-model.md lists what each may do.
    services: tuple[ServiceConfig, ...] = (
        ServiceConfig(name="api-gateway", max_replicas=50, access=ServiceAccess(
            secrets=("jwt/keys",),
            database_grants={"gateway": "SELECT,INSERT,UPDATE,DELETE"},
            kafka_produce=("gateway.audit",),
            redis_commands=("+@read", "+@write", "+@transaction", "+eval", "+evalsha", "+script|load", "+script|exists"),
        )),
        ServiceConfig(name="payment-processor", max_replicas=20, access=ServiceAccess(
            secrets=("api/keys",),
            database_grants={"payments": "SELECT,INSERT,UPDATE"},
            kafka_produce=("payments.events",),
            kafka_consume=("reconciliation.results",),
            publish_payment_events=True,
        )),
        ServiceConfig(name="reconciliation-engine", max_replicas=10, access=ServiceAccess(
            database_grants={"payments": "SELECT", "reconciliation": "SELECT,INSERT,UPDATE,DELETE"},
            kafka_produce=("reconciliation.results",),
            kafka_consume=("payments.events",),
            consume_payment_events=True,
        )),
    )
    hpa_cpu_utilization: int = 70
    hpa_memory_utilization: int = 80


# --------------------------------------------------------------------------------------------------
# Edge, observability, resilience, cost
# --------------------------------------------------------------------------------------------------


#: The Reporting API group name of CSP violation reports (``report-to`` and the ``Reporting-Endpoints`` header).
CSP_REPORT_GROUP = "csp-endpoint"


@dataclass(frozen=True)
class EdgeConfig:
    """WAF, Shield Advanced, Route 53 failover and the CloudFront edge (docs/edge.md)."""

    api_hostname: str = "api.globalpay.com"
    hosted_zone_name: str = "globalpay.com"
    # ACM certificate for the ALB, per region: "arn:aws:acm:<region>:<account>:certificate/<id>". Empty:
    # the stack looks up the ISSUED certificate for api_hostname in that region (data source).
    certificate_arns: Mapping[str, str] = field(default_factory=dict)
    waf_rate_limit_per_ip: int = 2000
    # Shield Advanced costs USD 3,000 a month per organization plus data transfer, with a one-year
    # commitment that cannot be cancelled early: prod only (staging sets False).
    shield_advanced: bool = True
    # Route 53 health checks probe this path on each region's ALB (the api-gateway's liveness endpoint).
    health_check_path: str = "/health"
    # CloudFront in front of the static-assets bucket. Empty certificate: the global stack looks up the
    # ISSUED ACM certificate for static_hostname in us-east-1 (CloudFront only uses us-east-1 certificates);
    # the default *.cloudfront.net certificate is never used because it cannot enforce TLS 1.2.
    static_hostname: str = "static.globalpay.com"
    cdn_certificate_arn: str = ""
    cdn_price_class: str = "PriceClass_All"  # customers in all three regions' continents
    # Content-Security-Policy of every static asset response (merchant dashboard, checkout widget: PCI DSS 6.4.3,
    # 11.6.1), without reporting directives: report-uri and report-to are added for csp_report_uri. Empty: only
    # this origin's scripts, styles, fonts and images, API calls to https://<api_hostname>, no framing, no plugins.
    content_security_policy: str = ""
    # Where browsers send CSP violation reports (an endpoint of the api-gateway). Empty: https://<api_hostname>/csp-report.
    csp_report_uri: str = ""

    def csp_report_endpoint(self) -> str:
        """The URL CSP violation reports go to."""
        return self.csp_report_uri or f"https://{self.api_hostname}/csp-report"

    def csp_policy(self) -> str:
        """``content_security_policy``, or the default policy for ``api_hostname``."""
        return self.content_security_policy or (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
            f"connect-src 'self' https://{self.api_hostname}; object-src 'none'; base-uri 'self'; form-action 'self'; "
            "frame-ancestors 'none'; upgrade-insecure-requests"
        )

    def csp_header(self) -> str:
        """The Content-Security-Policy header value served by CloudFront: the policy plus its reporting directives
        (``report-uri`` for every browser, ``report-to`` with the Reporting-Endpoints header for current ones)."""
        return f"{self.csp_policy().strip().rstrip(';')}; report-uri {self.csp_report_endpoint()}; report-to {CSP_REPORT_GROUP}"
    # The Route 53 Application Recovery Controller cluster holding the API's traffic gate (one routing control
    # per failover region, docs/runbooks/failover.md). Empty: the global stack creates one
    # (globalpay-<env>-recovery, billed by the hour; AWS allows two per account). Or the ARN of an existing
    # cluster, to share one between environments: "arn:aws:route53-recovery-control::<account>:cluster/<id>".
    recovery_cluster_arn: str = ""
    # IAM principals (role ARNs, or role names in this account) allowed to assume the traffic-gate role that
    # flips the routing controls. Default: the platform engineers' role (cluster.admin_role_name).
    traffic_gate_operators: tuple[str, ...] = ()


@dataclass(frozen=True)
class ObservabilityConfig:
    """Alarms, dashboard, Container Insights and X-Ray (docs/edge.md, "Observability")."""

    # Where every alarm and security finding goes: each endpoint is subscribed to every alarm topic (each
    # region's and the global one) and every region's security topic. An e-mail address, or an https:// URL of
    # an on-call tool that needs no key in its URL (a URL that carries an integration key is subscribed outside
    # Terraform: docs/runbooks/security-findings.md). Prod refuses an empty list (an unsubscribed alarm pages
    # nobody). Default: the platform on-call address on the guide's domain.
    alert_endpoints: tuple[str, ...] = ("platform-oncall@globalpay.com",)
    log_retention_days: int = 365
    cpu_alarm_threshold_percent: int = 80  # guide: > 80 % for 2 x 300 s
    alb_5xx_alarm_threshold: int = 50  # guide: > 50 target 5xx in 300 s
    # The guide's "connection errors" alarm fires at 10 connections, which a pool of 5+ pods crosses at
    # start-up. We alarm when connections pass this share of max_connections (pool exhaustion ahead).
    db_connections_alarm_percent: int = 80
    replica_lag_alarm_seconds: int = 60  # the guide's RPO of 1 minute, made observable
    db_free_storage_alarm_percent: int = 10  # of allocated storage
    redis_memory_alarm_percent: int = 80
    msk_disk_alarm_percent: int = 85
    tracing_sample_percent: int = 5  # X-Ray fixed rate after the 1-per-second reservoir


@dataclass(frozen=True)
class EgressConfig:
    """Outbound traffic of the platform's VPCs (PCI DSS 1.3.2, 1.4.2): Route 53 Resolver DNS Firewall on every VPC,
    AWS Network Firewall as the stronger option, and VPC endpoint policies (docs/edge.md, "Egress")."""

    # Domains the VPCs may resolve; every other name is refused (DNS Firewall, after the AWS managed threat list).
    # "*.example.com" matches the subdomains of example.com, not example.com itself. Default, in this order: AWS
    # APIs, VPC endpoints and the RDS/MSK/ElastiCache/EKS endpoints (ECR's layers too, in S3); the VPC's own host
    # names and DHCP search domains; the images of the pinned charts outside ECR: registry.k8s.io and where it
    # redirects (cluster-autoscaler, metrics-server), ECR Public and the CloudFront it serves layers from (load
    # balancer controller, EBS CSI), ghcr.io and its blob host (external-secrets); the payment partners the guide
    # names (Stripe, Plaid).
    allowed_domains: tuple[str, ...] = (
        "*.amazonaws.com",
        "*.compute.internal", "ec2.internal", "*.ec2.internal",
        "registry.k8s.io", "*.pkg.dev",
        "public.ecr.aws", "*.cloudfront.net",
        "ghcr.io", "oci.external-secrets.io", "pkg-containers.githubusercontent.com",
        "api.stripe.com", "*.plaid.com",
    )
    # AWS Network Firewall in every VPC between the private subnets and the NAT gateways, with the allow-list above
    # enforced on TLS SNI and HTTP Host (everything else dropped). Costs about USD 290 per AZ and month plus
    # USD 0.065/GB (scripts/cost.py); the DNS Firewall alone is the default. Default False.
    network_firewall: bool = False
    # Whose principals and resources the VPC endpoints serve: "account" (this account only) or "organization"
    # (organization_id's accounts, for an organization that shares resources between accounts).
    endpoint_policy_scope: str = "account"
    organization_id: str = ""  # "o-..." when endpoint_policy_scope is "organization"


@dataclass(frozen=True)
class AuditLogConfig:
    """Write-once audit evidence (PCI DSS 10.3.3, 10.5.1): the S3 Object Lock default retention of every bucket
    that holds logs (access logs, CDN logs, trail and configuration history), directly or through replication.

    ``COMPLIANCE``: no principal, the account root included, can delete a locked object version or shorten its
    retention before the date (prod; the validator refuses anything weaker there). ``GOVERNANCE``: principals
    granted ``s3:BypassGovernanceRetention`` can, so a test environment can still be taken down (staging).
    """

    object_lock_mode: str = "COMPLIANCE"
    # Days each log object version is locked; at least 365 in prod (PCI DSS 10.5.1: a year of audit history).
    object_lock_days: int = 365


#: Detection services the landing zone's delegated administrator may own in ``organization`` mode.
SECURITY_SERVICES = ("guardduty", "securityhub", "config", "cloudtrail", "inspector", "access_analyzer")


@dataclass(frozen=True)
class SecurityConfig:
    """Detection and response (docs/detection.md): GuardDuty, Security Hub, AWS Config, CloudTrail, Inspector,
    IAM Access Analyzer and the account baseline, in every region of the environment.

    ``account`` (default): this project creates every service in every region it deploys to. ``organization``:
    the landing zone's delegated administrator owns the services listed in ``organization_services``; each
    becomes a documented prerequisite (docs/runbooks/deploy.md) that the stacks assert (a data source, or an
    AWS Config managed rule that reports it), and the project still creates the others.
    """

    mode: str = "account"
    # Read only in organization mode: the services the organization owns. Default: the four a landing zone
    # usually centralizes (GuardDuty, Security Hub, AWS Config, the organization trail).
    organization_services: tuple[str, ...] = ("guardduty", "securityhub", "config", "cloudtrail")
    # GuardDuty findings routed to the security topic: this severity and above (GuardDuty's scale: 4.0-6.9
    # MEDIUM, 7.0-8.9 HIGH, 9.0-10.0 CRITICAL; whole numbers 1-9). Default 4: medium and above.
    guardduty_min_severity: int = 4
    # Days the AWS Config bucket keeps configuration history and snapshots (Object Lock retention comes from
    # audit_logs). Default 400: more than PCI DSS 10.5.1's year.
    config_history_days: int = 400
    # Days the trail bucket keeps CloudTrail log files. Default 400, as above.
    trail_retention_days: int = 400

    def owned_by_organization(self, service: str) -> bool:
        """True when the landing zone owns ``service`` (organization mode and listed)."""
        return self.mode == "organization" and service in self.organization_services


@dataclass(frozen=True)
class CostConfig:
    """AWS Budgets and the cost allocation tags (guide: cost optimization)."""

    monthly_budget_usd: int = 5920  # the guide's own estimate
    budget_alert_email: str = "platform-finops@globalpay.com"
    cost_center: str = "Engineering"
    # Alerts on ACTUAL and FORECASTED spend at each share of the budget.
    budget_alert_percents: tuple[int, ...] = (80, 100)


# --------------------------------------------------------------------------------------------------
# Environment
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StateConfig:
    """Where Terraform state lives: one S3 bucket per environment, created by the bootstrap stack."""

    region: str = "us-east-1"
    # Backend selection: "s3" (every workspace but bootstrap) or "local" (try one stack without the bucket).
    backend: str = "s3"
    # The state bucket replicates (S3 CRR with RTC, its own KMS key) to a bucket in this region, so state
    # survives an outage of `region` (docs/runbooks/failover.md). Never the same region.
    replica_region: str = "eu-west-1"
    # Break glass, while `region` is down: every workspace reads and writes its state (and its remote-state
    # inputs) in the replica bucket. Copy the changed state back before turning it off again (runbook).
    use_replica: bool = False


@dataclass(frozen=True)
class EnvironmentConfig:
    name: str
    environment_label: str  # the guide's `environment` label/tag value ("production")
    regions: tuple[RegionSpec, ...]
    primary_region: str = "us-east-1"
    secondary_region: str = "eu-west-1"
    # AWS's documentation account: replace in your overrides file or with GLOBALPAY_AWS_ACCOUNT_ID.
    aws_account_id: str = "123456789012"
    single_nat_gateway: bool = False
    state: StateConfig = field(default_factory=StateConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    cache: CacheConfig = field(default_factory=CacheConfig)
    kafka: KafkaConfig = field(default_factory=KafkaConfig)
    secrets: SecretsConfig = field(default_factory=SecretsConfig)
    registry: RegistryConfig = field(default_factory=RegistryConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    workloads: WorkloadsConfig = field(default_factory=WorkloadsConfig)
    edge: EdgeConfig = field(default_factory=EdgeConfig)
    observability: ObservabilityConfig = field(default_factory=ObservabilityConfig)
    egress: EgressConfig = field(default_factory=EgressConfig)
    audit_logs: AuditLogConfig = field(default_factory=AuditLogConfig)
    security: SecurityConfig = field(default_factory=SecurityConfig)
    cost: CostConfig = field(default_factory=CostConfig)

    @property
    def region_names(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.regions)

    def region(self, name: str) -> RegionSpec:
        for spec in self.regions:
            if spec.name == name:
                return spec
        raise KeyError(name)

    @property
    def upgrade_order(self) -> tuple[str, ...]:
        """``cluster.upgrade_order``, or the canary order: the other regions, the secondary, the primary last."""
        if self.cluster.upgrade_order:
            return self.cluster.upgrade_order
        last = (self.secondary_region, self.primary_region)
        return (*(r for r in self.region_names if r not in last), *(r for r in last if r in self.region_names))

    def kubernetes_version(self, region: str) -> str:
        """The Kubernetes minor of ``region``'s cluster: its pin in ``cluster.kubernetes_versions``, else the default."""
        return self.cluster.kubernetes_versions.get(region, self.cluster.kubernetes_version)

    def role_of(self, region: str) -> str:
        """``primary`` / ``secondary`` / ``tertiary``: the guide's region roles, driven by config."""
        if region == self.primary_region:
            return "primary"
        if region == self.secondary_region:
            return "secondary"
        return "tertiary"

    @property
    def database_dr_region(self) -> str:
        """The database region that is not ``database.origin_region`` (the other of primary and secondary)."""
        return self.secondary_region if self.primary_region == self.database.origin_region else self.primary_region

    @property
    def switch_in_progress(self) -> bool:
        """The database is not in its original topology: failed over, or a failback step is under way."""
        return self.primary_region != self.database.origin_region or bool(self.database.failback_step)

    @property
    def state_bucket(self) -> str:
        """``globalpay-<env>-terraform-state-<account>``: the bucket naming rule (``naming.BUCKET_NAME_RULE``) without a
        region, the name this bucket had before the rule (a rename would replace the bucket holding all state)."""
        from constructs_lib.naming import bucket_name

        return bucket_name(self.name, self.aws_account_id, "terraform-state")

    @property
    def state_key_alias(self) -> str:
        return f"alias/{PROJECT}-{self.name}-terraform-state"

    @property
    def state_access_log_bucket(self) -> str:
        """Server access logs of the state bucket (its name before the bucket naming rule, kept: no region)."""
        from constructs_lib.naming import bucket_name

        return bucket_name(self.name, self.aws_account_id, "terraform-state", qualifier="access-logs")

    @property
    def state_replica_bucket(self) -> str:
        """The state bucket's copy in ``state.replica_region`` (same key alias name there)."""
        from constructs_lib.naming import bucket_name

        return bucket_name(self.name, self.aws_account_id, "terraform-state", self.state.replica_region)

    @property
    def state_replica_log_bucket(self) -> str:
        """Server access logs of the replica (S3 bucket names end at 63 characters: no ``-access-logs`` suffix)."""
        from constructs_lib.naming import bucket_name

        return bucket_name(self.name, self.aws_account_id, "state-logs", self.state.replica_region)


def _staging_overrides() -> dict[str, Any]:
    """Staging: the same architecture, smaller and cheaper, never a different shape."""
    return {
        "environment_label": "staging",
        "single_nat_gateway": True,
        "database": {
            "instance_class": "db.r6g.large",
            "replica_instance_class": "db.r6g.large",
            "allocated_storage_gb": 100,
            "max_allocated_storage_gb": 200,
            "iops": 0,  # below 400 GiB gp3 has a fixed 3000 IOPS / 125 MiB/s baseline and RDS refuses either
            "storage_throughput_mbps": 0,
            "multi_az": False,
            "backup_retention_days": 7,
            "shared_buffers_8kb_pages": 524288,  # 4 GiB of a db.r6g.large's 16 GiB
            "max_connections": 400,
        },
        "cache": {"node_type": "cache.t4g.medium", "num_cache_clusters": 2},
        "kafka": {"broker_instance_type": "kafka.m7g.large", "broker_count": 3, "ebs_volume_gb": 100, "ebs_volume_max_gb": 400},
        # STANDARD: a staging cluster left behind is upgraded by EKS rather than billed for extended support.
        "cluster": {"node_min_size": 2, "node_max_size": 4, "node_desired_size": 2, "support_type": "STANDARD"},
        "workloads": {
            # 15 pods x 500m would not fit two t3.xlarge nodes next to the add-ons; 3 x 6 at the HPA maxima plus
            # the rollout surge fit the 4 nodes of node_max_size
            "services": [{"name": s, "replicas": 2, "max_replicas": 6} for s in ("api-gateway", "payment-processor", "reconciliation-engine")],
        },
        "edge": {
            "api_hostname": "api.staging.globalpay.com",
            "static_hostname": "static.staging.globalpay.com",
            "shield_advanced": False,
        },
        # Governance-mode locks: staging's logs are write-once for everyone but an operator who is granted
        # s3:BypassGovernanceRetention, so the environment can be torn down.
        "audit_logs": {"object_lock_mode": "GOVERNANCE"},
        # scripts/cost.py: about USD 6,900 a month at list prices, USD 1,825 of it the traffic gate's ARC cluster
        # (staging drills the failover for real; edge.recovery_cluster_arn can share prod's instead).
        "cost": {"monthly_budget_usd": 7500},
    }


ENVIRONMENT_NAMES = ("prod", "staging")

#: The failback after a failover, in order (``database.failback_step``): each step with the region that is
#: ``primary_region`` while it is in force ("dr": the region the writer failed over to; "origin":
#: ``database.origin_region``). docs/runbooks/failback.md says what each one plans.
FAILBACK_STEPS: tuple[tuple[str, str], ...] = (
    ("release-origin", "dr"),  # the fenced old writer and its replica lose deletion protection
    ("retire-origin", "dr"),  # both are destroyed (final snapshot of the old writer)
    ("reseed-origin", "dr"),  # a new replica of the current writer under the old writer's identifier
    ("fence-dr", "dr"),  # the DR writer refuses writes: the re-seeded replica catches up to the last byte
    ("switchback", "origin"),  # the re-seeded replica is promoted; the DR writer stays fenced
    ("release-dr", "origin"),  # the fenced DR instance loses deletion protection
    ("retire-dr", "origin"),  # and is destroyed (final snapshot); then "" rebuilds the original replicas
)


def _base_environment(name: str, regions: tuple[RegionSpec, ...]) -> EnvironmentConfig:
    return EnvironmentConfig(name=name, environment_label="production", regions=regions)


def load_config(
    env: str,
    region_specs: Mapping[str, RegionSpec],
    overrides: Mapping[str, Any] | None = None,
) -> EnvironmentConfig:
    """Build an environment's configuration: defaults, then the staging delta, then user overrides.

    Raises ``ConfigError`` for an unknown environment, and for override keys that do not exist or values of
    the wrong type: every one of them in one ``ConfigErrors`` (``error.errors``), so that an operator fixes
    a whole file in one round. Value rules are checked afterwards by ``validation.validate``.
    """
    if env not in ENVIRONMENT_NAMES:
        raise ConfigError("environment", f"unknown environment {env!r}; expected one of {', '.join(ENVIRONMENT_NAMES)}")
    config = _base_environment(env, tuple(region_specs.values()))
    if env == "staging":
        config = apply_overrides(config, _staging_overrides())
    if overrides:
        config = apply_overrides(config, overrides)
    return config


def load_overrides_file(path: str | Path, base_dir: str | Path | None = None) -> dict[str, Any]:
    """The JSON object of an overrides file, or one ``ConfigError("--config", ...)`` saying why not.

    A relative ``path`` is read from ``base_dir`` when one is given (the folder the operator ran the
    command in, when that is not this process's working directory: see ``tasks.py``).
    """
    shown = str(path)
    file = Path(path).expanduser()
    if base_dir is not None and not file.is_absolute():
        file = Path(base_dir) / file
    looked = f" (looked for {file})" if str(file) != shown else ""
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise ConfigError("--config", f"file {shown!r} does not exist{looked}") from None
    except IsADirectoryError:
        raise ConfigError("--config", f"{shown!r} is a directory, not a JSON file{looked}") from None
    except PermissionError:
        raise ConfigError("--config", f"file {shown!r} cannot be read: permission denied{looked}") from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the name
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError("--config", f"file {shown!r} cannot be read: {reason}{looked}") from None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError("--config", f"{shown} is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except UnicodeDecodeError:
        raise ConfigError("--config", f"{shown} is not valid JSON (not UTF-8 text)") from None
    except RecursionError:
        raise ConfigError("--config", f"{shown} is not valid JSON (nested too deeply)") from None
    if not isinstance(data, dict):
        raise ConfigError("--config", f"{shown} must hold a JSON object, not {_json_type(data)}")
    return data


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else type(value).__name__


# --------------------------------------------------------------------------------------------------
# Overrides: a JSON object that mirrors the dataclasses. Regions are keyed by name; "regions" may also
# name a region that is not known, which validation then refuses with the region rule. Values are checked
# against the fields' declared types (list elements included); every unknown key and wrong type is
# collected, and the whole list is raised at the end, so one run reports all of a file's type errors.
# --------------------------------------------------------------------------------------------------


def apply_overrides(obj: Any, overrides: Mapping[str, Any], path: str = "") -> Any:
    """``obj`` with ``overrides`` applied; raises ``ConfigError`` (one) or ``ConfigErrors`` (several)."""
    errors: list[ConfigError] = []
    result = _apply(obj, overrides, path, errors)
    if errors:
        raise errors[0] if len(errors) == 1 else ConfigErrors(errors)
    return result


def _apply(obj: Any, overrides: Mapping[str, Any], path: str, errors: list[ConfigError]) -> Any:
    if not dataclasses.is_dataclass(obj) or not isinstance(overrides, Mapping):
        errors.append(ConfigError(path or "config", "cannot be overridden with an object"))
        return obj
    fields = {f.name: f for f in dataclasses.fields(obj)}
    hints = _field_types(type(obj))
    changes: dict[str, Any] = {}
    for key, value in overrides.items():
        where = f"{path}.{key}" if path else key
        if key == "regions" and isinstance(obj, EnvironmentConfig):
            changes[key] = _override_regions(obj.regions, value, where, errors)
            continue
        if key not in fields:
            errors.append(ConfigError(where, f"unknown field; known fields: {', '.join(sorted(fields))}"))
            continue
        coerced = _coerce(hints[key], getattr(obj, key), value, where, errors)
        if coerced is not _INVALID:
            changes[key] = coerced
    return dataclasses.replace(obj, **changes)


@functools.cache
def _field_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


#: What ``_coerce`` returns for a value it refused (the error is in the list; the field keeps its value).
_INVALID: Any = object()


def _named_item(item: Any, where: str, errors: list[ConfigError], rule: str) -> str | None:
    """The ``name`` of a list item that must be an object with a name, or None (error recorded)."""
    if not isinstance(item, dict) or "name" not in item:
        errors.append(ConfigError(where, rule))
        return None
    if not isinstance(item["name"], str):
        errors.append(ConfigError(f"{where}.name", f"must be a string, got {item['name']!r}"))
        return None
    return item["name"]


def _override_regions(regions: tuple[RegionSpec, ...], value: Any, where: str, errors: list[ConfigError]) -> tuple[RegionSpec, ...]:
    if isinstance(value, list):  # a full list replaces the set of regions (e.g. to add or drop one)
        known = {r.name: r for r in regions}
        out = []
        for i, item in enumerate(value):
            name = _named_item(item, f"{where}[{i}]", errors, "each region needs at least a name")
            if name is not None:
                base = known.get(name, RegionSpec(name=name, vpc_cidr="", azs=()))
                out.append(_apply(base, item, f"{where}[{i}]", errors))
        return tuple(out)
    if not isinstance(value, dict):
        errors.append(ConfigError(where, "must be an object keyed by region name, or a list of regions"))
        return regions
    by_name = {r.name: r for r in regions}
    for name, delta in value.items():
        if name not in by_name:
            errors.append(ConfigError(f"{where}.{name}", f"unknown region; configured regions: {', '.join(r.name for r in regions)}"))
        elif not isinstance(delta, dict):
            errors.append(ConfigError(f"{where}.{name}", "must be an object"))
        else:
            by_name[name] = _apply(by_name[name], delta, f"{where}.{name}", errors)
    return tuple(by_name[r.name] for r in regions)


def _coerce(hint: Any, current: Any, value: Any, where: str, errors: list[ConfigError]) -> Any:
    """``value`` checked against the field's declared type ``hint``; ``_INVALID`` (and errors) if it fails."""
    origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            errors.append(ConfigError(where, "must be an object"))
            return _INVALID
        return _apply(current, value, where, errors)
    if hint is bool:
        if not isinstance(value, bool):
            errors.append(ConfigError(where, f"must be true or false, got {value!r}"))
            return _INVALID
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            errors.append(ConfigError(where, f"must be an integer, got {value!r}"))
            return _INVALID
        return value
    if hint is str:
        if not isinstance(value, str):
            errors.append(ConfigError(where, f"must be a string, got {value!r}"))
            return _INVALID
        return value
    if origin is tuple:
        if not isinstance(value, list):
            errors.append(ConfigError(where, f"must be a list, got {value!r}"))
            return _INVALID
        item_type = typing.get_args(hint)[0]
        before = len(errors)
        if dataclasses.is_dataclass(item_type):
            template = {getattr(c, "name", i): c for i, c in enumerate(current)}
            items = []
            for i, item in enumerate(value):
                name = _named_item(item, f"{where}[{i}]", errors, "must be an object with a name")
                if name is not None:
                    base = template.get(name) or item_type(name=name)
                    items.append(_apply(base, item, f"{where}[{i}]", errors))
        else:
            items = [_coerce(item_type, None, item, f"{where}[{i}]", errors) for i, item in enumerate(value)]
        return _INVALID if len(errors) > before else tuple(items)
    if origin in (Mapping, dict):
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            errors.append(ConfigError(where, "must be an object of strings"))
            return _INVALID
        return dict(value)
    errors.append(ConfigError(where, "cannot be overridden"))
    return _INVALID
