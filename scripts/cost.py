#!/usr/bin/env python
"""Monthly cost of the synthesized stacks, per region, from the checked-in price table.

    python scripts/cost.py                         # synthesize prod and staging, price both
    python scripts/cost.py --env staging           # one environment
    python scripts/cost.py --synth-dir cdktf.out   # price an existing synthesis as it is
    python scripts/cost.py --json                  # machine-readable lines

Why from the JSON: the Terraform JSON is what gets deployed, so the estimate follows every change to the
constructs or the configuration without anyone updating a spreadsheet. Prices come from a dated, checked-in
table (``pricing/aws-prices-<yyyy-mm>.json``: on-demand list prices, nothing fetched at run time), so the
same synthesis always gives the same figure and a price change is a reviewed diff.

What is priced: resources with a fixed hourly or monthly fee (instances, brokers, nodes, NAT gateways,
endpoints, attachments, keys, secrets, web ACLs, alarms, health checks, Shield Advanced), and two choices whose
cost the JSON decides: burstable nodes in ``unlimited`` credit mode (the surplus over their baseline, at the HPA's
CPU target) and the EKS upgrade policy (an EXTENDED cluster pays the extended-support hour once its minor leaves
standard support: priced from that date, and listed as "contingent" before it). What is not:
usage (data transfer, S3 storage and requests, CloudWatch Logs ingestion, CloudFront, SNS/SQS, backups
beyond the free allowance, LCUs), which depends on traffic rather than on the JSON; those types are listed
by count. A resource type the script does not know is listed by count too and never guessed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from constructs_lib import versions  # noqa: E402  (after the sys.path entry above)
from constructs_lib.capacity import INSTANCE_SHAPES  # noqa: E402
from constructs_lib.synthesis import Item, Synthesis  # noqa: E402
from scripts.progress import step  # noqa: E402

DEFAULT_PRICES = ROOT / "pricing" / "aws-prices-2026-11.json"
GLOBAL = "global"

# ------------------------------------------------------------------------------------------------------
# Reading the synthesis
# ------------------------------------------------------------------------------------------------------


#: A priced resource: the shared reader's item (stack, type, logical name, configuration, region).
Resource = Item


def load_synthesis(outdir: Path) -> Synthesis:
    """The synthesis in ``outdir`` (``constructs_lib/synthesis.py``, the one reader of cdktf.out)."""
    return Synthesis.load(outdir)


# ------------------------------------------------------------------------------------------------------
# Prices
# ------------------------------------------------------------------------------------------------------


class Prices:
    """The price table, with the lookups the pricers need and a record of which prices were estimated."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.hours = float(data["hours_per_month"])
        self.estimated = set(data.get("estimated", []))

    @classmethod
    def load(cls, path: Path = DEFAULT_PRICES) -> Prices:
        return cls(json.loads(path.read_text()))

    def regional(self, region: str, key: str, *sub: str) -> tuple[float, bool] | None:
        """(price, estimated?) of ``regions.<region>.<key>[.<sub>...]``, or None when the table lacks it."""
        node: Any = self.data["regions"].get(region)
        path = ["regions", region, key]
        node = node.get(key) if isinstance(node, dict) else None
        for part in sub:
            node = node.get(part) if isinstance(node, dict) else None
            path.append(part)
        if not isinstance(node, (int, float)):
            return None
        dotted = ".".join(path)
        estimated = any(dotted == e or dotted.startswith(e + ".") for e in self.estimated)
        return float(node), estimated

    def global_(self, key: str) -> float:
        return float(self.data["global"][key])

    def global_estimated(self, key: str) -> bool:
        return f"global.{key}" in self.estimated


# ------------------------------------------------------------------------------------------------------
# Pricing
# ------------------------------------------------------------------------------------------------------


@dataclass
class Line:
    region: str
    service: str
    item: str
    quantity: float
    unit: str
    unit_price: float
    monthly: float
    estimated: bool = False


@dataclass
class Report:
    environment: str
    lines: list[Line] = field(default_factory=list)
    usage_based: Counter = field(default_factory=Counter)
    unknown: Counter = field(default_factory=Counter)
    missing_prices: list[str] = field(default_factory=list)
    #: Costs a choice in the JSON commits to from a known date (EKS extended support): not in the total yet.
    contingent: list[str] = field(default_factory=list)

    def by_region(self) -> dict[str, dict[str, float]]:
        table: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for line in self.lines:
            table[line.service][line.region] += line.monthly
        return table

    def regions(self) -> list[str]:
        order = {"us-east-1": 0, "eu-west-1": 1, "ap-southeast-2": 2, GLOBAL: 99}
        return sorted({line.region for line in self.lines}, key=lambda r: (order.get(r, 50), r))

    def total(self, region: str | None = None) -> float:
        return sum(line.monthly for line in self.lines if region is None or line.region == region)


class Pricer:
    """Turns one resource into priced lines; an unpriceable resource (price missing) is reported, not guessed."""

    def __init__(self, synthesis: Synthesis, prices: Prices, report: Report) -> None:
        self.synthesis = synthesis
        self.prices = prices
        self.report = report
        self.shield_subscribed = False

    # -- helpers ------------------------------------------------------------------------------------------
    def hourly(self, r: Resource, service: str, item: str, count: float, key: str, *sub: str) -> None:
        price = self.prices.regional(r.region, key, *sub)
        if price is None:
            self.report.missing_prices.append(f"{r.stack}: {r.rtype}.{r.name}: no price for {r.region} {key} {' '.join(sub)}".rstrip())
            return
        value, estimated = price
        self.add(r.region, service, item, count * self.prices.hours, "hour", value, estimated)

    def monthly(self, r: Resource, service: str, item: str, count: float, unit: str, key: str, *sub: str) -> None:
        price = self.prices.regional(r.region, key, *sub)
        if price is None:
            self.report.missing_prices.append(f"{r.stack}: {r.rtype}.{r.name}: no price for {r.region} {key} {' '.join(sub)}".rstrip())
            return
        value, estimated = price
        self.add(r.region, service, item, count, unit, value, estimated)

    def add(self, region: str, service: str, item: str, quantity: float, unit: str, unit_price: float, estimated: bool = False) -> None:
        if quantity <= 0:
            return
        self.report.lines.append(Line(region, service, item, quantity, unit, unit_price, round(quantity * unit_price, 4), estimated))

    def referenced(self, r: Resource, expression: Any, rtype: str) -> Resource | None:
        """The resource that ``${rtype.name.attr}`` points at, in the same stack."""
        m = re.search(rf"\$\{{{re.escape(rtype)}\.([^.}}]+)\.", str(expression))
        return self.synthesis.find(rtype, m[1], r.stack) if m else None

    # -- pricers, by resource type ------------------------------------------------------------------------
    def aws_eks_cluster(self, r: Resource) -> None:
        """Standard-support hour, or the extended-support hour once the minor has left standard support under the
        EXTENDED policy (under STANDARD, EKS upgrades the cluster instead). Before that date the difference is
        listed as contingent."""
        name, version = r.config.get("name", r.name), str(r.config.get("version", ""))
        policy = (r.config.get("upgrade_policy") or {}).get("support_type", "EXTENDED")  # EKS's default
        ends = versions.EKS_END_OF_STANDARD_SUPPORT.get(version, "")
        extended = policy == "EXTENDED" and bool(ends) and ends[:7] < str(self.prices.data["as_of"])
        if extended:
            self.hourly(r, "EKS", f"cluster {name} ({version}, extended support since {ends})", 1, "eks_cluster_extended_support_hour")
            return
        self.hourly(r, "EKS", f"cluster {name} ({version}, standard support)", 1, "eks_cluster_hour")
        standard, later = self.prices.regional(r.region, "eks_cluster_hour"), self.prices.regional(r.region, "eks_cluster_extended_support_hour")
        if policy == "EXTENDED" and standard and later:
            extra = (later[0] - standard[0]) * self.prices.hours
            self.report.contingent.append(
                f"{r.region}: cluster {name} runs {version} under the EXTENDED upgrade policy: from the day after "
                f"{ends or 'its end of standard support'} it costs USD {extra:,.0f}/month more (USD {later[0]:.2f} instead "
                f"of {standard[0]:.2f} per hour) until it is upgraded")

    def _unlimited_credits(self, r: Resource, itype: str, nodes: int, template: Resource | None) -> None:
        """T instances in unlimited mode pay for CPU above their baseline: nodes x vCPUs x (utilization - baseline)
        vCPU-hours at the surplus rate. The utilization is the region's HPA CPU target (pods are scaled to keep it,
        so a busy node runs near it): an estimate at the configured target, not a measurement."""
        shape = INSTANCE_SHAPES.get(itype)
        credits = ((template.config.get("credit_specification") or {}) if template else {}).get("cpu_credits")
        if shape is None or shape.burstable_baseline is None or credits != "unlimited":
            return
        targets = [int(m.get("resource", {}).get("target", {}).get("average_utilization") or 0)
                   for x in self.synthesis.resources if x.rtype == "kubernetes_horizontal_pod_autoscaler_v2" and x.region == r.region
                   for m in (x.config.get("spec") or {}).get("metric") or [] if (m.get("resource") or {}).get("name") == "cpu"]
        utilization = max(targets, default=0) / 100
        surplus = max(0.0, utilization - shape.burstable_baseline)
        self.hourly(r, "EC2 (EKS nodes)", f"{nodes} x {itype} unlimited CPU credits at {utilization:.0%} average CPU (HPA target; "
                    f"baseline {shape.burstable_baseline:.0%})", nodes * shape.vcpus * surplus, "ec2_unlimited_surplus_vcpu_hour")

    def aws_eks_node_group(self, r: Resource) -> None:
        scaling = r.config.get("scaling_config") or {}
        if isinstance(scaling, list):
            scaling = scaling[0] if scaling else {}
        nodes = int(scaling.get("desired_size") or scaling.get("min_size") or 0)
        itype = (r.config.get("instance_types") or ["?"])[0]
        self.hourly(r, "EC2 (EKS nodes)", f"{nodes} x {itype} (desired size)", nodes, "ec2_instance_hour", itype)
        template = self.referenced(r, (r.config.get("launch_template") or {}).get("id", ""), "aws_launch_template")
        self._unlimited_credits(r, itype, nodes, template)
        disks = (template.config.get("block_device_mappings") if template else None) or []
        gb = sum(int((d.get("ebs") or {}).get("volume_size") or 0) for d in disks)
        if not template:
            gb = int(r.config.get("disk_size") or 20)  # EKS managed node group default root volume
        self.monthly(r, "EC2 (EKS nodes)", f"{nodes} x {gb} GB gp3 root volumes", nodes * gb, "GB-month", "ebs_gp3_gb_month")

    def aws_db_instance(self, r: Resource) -> None:
        c = r.config
        source = c.get("replicate_source_db")
        multi_az = bool(c.get("multi_az"))
        deployment = "multi_az" if multi_az else "single_az"
        role = "read replica" if source else "primary"
        cls = c.get("instance_class", "?")
        self.hourly(r, "RDS", f"{c.get('identifier', r.name)} {cls} {role}{' Multi-AZ' if multi_az else ''}", 1,
                    "rds_instance_hour", deployment, cls)
        storage_type = c.get("storage_type", "gp3")
        gb = int(c.get("allocated_storage") or 0)
        if not gb and source:  # a replica inherits its source's storage
            src = self.synthesis.find("aws_db_instance", str(source), r.stack) or next(
                (x for x in self.synthesis.resources if x.rtype == "aws_db_instance" and x.config.get("identifier") == str(source).split(":")[-1]), None)
            gb = int(src.config.get("allocated_storage") or 0) if src else 0
        if storage_type != "gp3":
            self.report.missing_prices.append(f"{r.stack}: {r.rtype}.{r.name}: storage type {storage_type} is not in the price table")
            return
        copies = 2 if multi_az else 1
        self.monthly(r, "RDS", f"{c.get('identifier', r.name)} {gb} GB gp3 x{copies}", gb * copies, "GB-month", "rds_gp3_gb_month")
        base = self.prices.data["rds_gp3_baseline"]
        baseline = base["small"] if gb < base["below_gb"] else base["large"]
        extra_iops = max(0, int(c.get("iops") or 0) - baseline["iops"])
        extra_mibps = max(0, int(c.get("storage_throughput") or 0) - baseline["mibps"])
        self.monthly(r, "RDS", f"{c.get('identifier', r.name)} IOPS above {baseline['iops']} x{copies}", extra_iops * copies,
                     "IOPS-month", "rds_gp3_iops_month")
        self.monthly(r, "RDS", f"{c.get('identifier', r.name)} MiB/s above {baseline['mibps']} x{copies}", extra_mibps * copies,
                     "MiBps-month", "rds_gp3_mibps_month")

    def aws_elasticache_replication_group(self, r: Resource) -> None:
        c = r.config
        if c.get("num_node_groups"):
            nodes = int(c["num_node_groups"]) * (1 + int(c.get("replicas_per_node_group") or 0))
        else:
            nodes = int(c.get("num_cache_clusters") or 1)
        node_type = c.get("node_type", "?")
        self.hourly(r, "ElastiCache", f"{nodes} x {node_type}", nodes, "elasticache_node_hour", node_type)

    def aws_msk_cluster(self, r: Resource) -> None:
        c = r.config
        brokers = int(c.get("number_of_broker_nodes") or 0)
        info = c.get("broker_node_group_info") or {}
        itype = info.get("instance_type", "?")
        storage = ((info.get("storage_info") or {}).get("ebs_storage_info") or {})
        gb = int(storage.get("volume_size") or 0)
        self.hourly(r, "MSK", f"{brokers} x {itype} brokers", brokers, "msk_broker_hour", itype)
        self.monthly(r, "MSK", f"{brokers} x {gb} GB broker storage", brokers * gb, "GB-month", "msk_storage_gb_month")
        throughput = storage.get("provisioned_throughput") or {}
        if throughput.get("enabled"):
            self.report.missing_prices.append(f"{r.stack}: {r.rtype}.{r.name}: provisioned storage throughput is not in the price table")

    def aws_nat_gateway(self, r: Resource) -> None:
        self.hourly(r, "NAT gateways + public IPv4", "NAT gateway", 1, "nat_gateway_hour")

    def aws_eip(self, r: Resource) -> None:
        self.hourly(r, "NAT gateways + public IPv4", "Elastic IP (public IPv4)", 1, "public_ipv4_hour")

    def aws_vpc_endpoint(self, r: Resource) -> None:
        if r.config.get("vpc_endpoint_type", "Gateway") != "Interface":
            return  # gateway endpoints (S3, DynamoDB) are free
        azs = len(r.config.get("subnet_ids") or []) or 1
        service = str(r.config.get("service_name", r.name)).rsplit(".", 1)[-1]
        self.hourly(r, "VPC interface endpoints", f"{service} endpoint x {azs} AZ", azs, "vpc_interface_endpoint_az_hour")

    def aws_networkfirewall_firewall(self, r: Resource) -> None:
        """One firewall endpoint per subnet mapping (AZ); the data it processes is usage."""
        azs = len(r.config.get("subnet_mapping") or []) or 1
        self.hourly(r, "Network Firewall", f"firewall endpoint x {azs} AZ (USD 0.065/GB processed is usage)", azs,
                    "network_firewall_endpoint_hour")

    def aws_ec2_transit_gateway_vpc_attachment(self, r: Resource) -> None:
        self.hourly(r, "Transit gateway", "VPC attachment", 1, "transit_gateway_attachment_hour")

    def aws_ec2_transit_gateway_peering_attachment(self, r: Resource) -> None:
        # Billed hourly to the requester's transit gateway; the accepter side is the same attachment.
        self.hourly(r, "Transit gateway", f"peering attachment to {r.config.get('peer_region', '?')}", 1,
                    "transit_gateway_attachment_hour")

    def aws_lb(self, r: Resource) -> None:
        if r.config.get("load_balancer_type", "application") == "application":
            self.hourly(r, "Load balancers", "ALB (LCUs are usage)", 1, "alb_hour")

    aws_alb = aws_lb

    def kubernetes_ingress_v1(self, r: Resource) -> None:
        """An ingress of class alb makes the AWS Load Balancer Controller create an ALB (one per group/name)."""
        meta = r.config.get("metadata") or {}
        annotations = meta.get("annotations") or {}
        spec = r.config.get("spec") or {}
        ingress_class = spec.get("ingress_class_name") or annotations.get("kubernetes.io/ingress.class")
        if ingress_class == "alb" or any(k.startswith("alb.ingress.kubernetes.io/") for k in annotations):
            self.hourly(r, "Load balancers", "ALB from ingress (LCUs are usage)", 1, "alb_hour")

    def aws_kms_key(self, r: Resource) -> None:
        self.monthly(r, "KMS + Secrets Manager", "customer managed key", 1, "key-month", "kms_key_month")

    aws_kms_replica_key = aws_kms_key

    def aws_secretsmanager_secret(self, r: Resource) -> None:
        self.monthly(r, "KMS + Secrets Manager", "secret", 1, "secret-month", "secret_month")

    def aws_wafv2_web_acl(self, r: Resource) -> None:
        region = r.region if r.config.get("scope", "REGIONAL") == "REGIONAL" else "us-east-1"
        rr = replace(r, region=region)
        self.monthly(rr, "WAF", "web ACL", 1, "web-ACL-month", "waf_web_acl_month")
        rules = r.config.get("rule") or []
        self.monthly(rr, "WAF", f"{len(rules)} rules / managed rule groups", len(rules), "rule-month", "waf_rule_month")

    def aws_cloudwatch_metric_alarm(self, r: Resource) -> None:
        queries = r.config.get("metric_query") or []
        metrics = sum(1 for q in queries if q.get("metric")) if queries else 1
        self.monthly(r, "CloudWatch alarms + dashboards", "alarm metric", metrics, "alarm-metric-month",
                     "cloudwatch_alarm_metric_month")

    def aws_cloudwatch_dashboard(self, r: Resource) -> None:
        self.monthly(r, "CloudWatch alarms + dashboards", "dashboard", 1, "dashboard-month", "cloudwatch_dashboard_month")

    def aws_shield_subscription(self, r: Resource) -> None:
        self.shield_subscribed = True
        self.add(GLOBAL, "Shield Advanced", "subscription (per organization, 1-year commitment)", 1, "month",
                 self.prices.global_("shield_advanced_month"))

    def aws_shield_protection(self, r: Resource) -> None:
        """Protections are free with the subscription; without a subscription resource, one is implied."""

    def aws_route53_zone(self, r: Resource) -> None:
        self.add(GLOBAL, "Route 53", "hosted zone", 1, "zone-month", self.prices.global_("route53_zone_month"))

    def aws_route53recoverycontrolconfig_cluster(self, r: Resource) -> None:
        """ARC routing control is billed per cluster hour (the API's traffic gate, constructs_lib/recovery.py)."""
        self.add(GLOBAL, "Route 53 ARC", "routing control cluster", self.prices.hours, "hour",
                 self.prices.global_("arc_cluster_hour"), self.prices.global_estimated("arc_cluster_hour"))

    def aws_route53_health_check(self, r: Resource) -> None:
        c = r.config
        features = sum((
            str(c.get("type", "")).startswith("HTTPS"),
            bool(c.get("measure_latency")),
            int(c.get("request_interval") or 30) == 10,
            "STR_MATCH" in str(c.get("type", "")),
        ))
        self.add(GLOBAL, "Route 53", "health check (AWS endpoint)", 1, "check-month",
                 self.prices.global_("route53_health_check_aws_endpoint_month"))
        self.add(GLOBAL, "Route 53", "health check optional features (HTTPS, latency, fast interval, string match)",
                 features, "feature-month", self.prices.global_("route53_health_check_optional_feature_month"))


#: Types whose own existence costs nothing: configuration, wiring, identity, or a charge billed elsewhere.
NO_CHARGE_PREFIXES = (
    "aws_iam_", "aws_route_table", "aws_security_group", "aws_vpc_security_group_", "aws_default_",
    "aws_s3_bucket_", "aws_ec2_transit_gateway_route", "aws_db_subnet_group", "aws_db_parameter_group",
    "aws_rds_cluster_parameter_group", "aws_elasticache_subnet_group", "aws_elasticache_parameter_group",
    "aws_elasticache_user",  # RBAC users and user groups (aws_elasticache_user_group): no charge
    "aws_msk_configuration", "aws_eks_access_", "aws_eks_addon",
    "aws_appautoscaling_",  # Application Auto Scaling itself is free; what it scales is priced as configured
    "aws_cloudwatch_event_rule", "aws_cloudwatch_event_target",  # rules on AWS service events: no charge
    "aws_ecr_lifecycle_policy", "aws_ecr_registry_scanning_configuration", "aws_ecr_replication_configuration",
    "aws_ecr_repository_creation_template", "aws_ecr_repository_policy", "aws_kms_alias", "aws_secretsmanager_secret_",
    "aws_sns_topic_policy", "aws_sns_topic_subscription", "aws_sqs_queue_policy", "aws_sqs_queue_redrive",
    "aws_cloudwatch_log_resource_policy", "aws_cloudwatch_log_delivery", "aws_wafv2_web_acl_logging_configuration",
    "aws_wafv2_web_acl_association", "aws_cloudfront_origin_access_control", "aws_cloudfront_response_headers_policy",
    "aws_cloudfront_cache_policy", "aws_xray_encryption_config", "aws_xray_sampling_rule", "aws_launch_template",
    "aws_shield_protection", "aws_shield_", "aws_acm_certificate", "aws_route53_record", "aws_budgets_budget",
    "aws_ec2_transit_gateway_peering_attachment_accepter", "aws_ec2_transit_gateway_vpc_attachment_accepter",
    "aws_ec2_transit_gateway_route_table", "aws_iam_openid_connect_provider", "aws_dlm_lifecycle_policy",
    "aws_rds_global_cluster", "aws_db_instance_automated_backups_replication", "kubernetes_", "helm_", "random_",
    # ARC: the cluster is priced; its control panels, routing controls and safety rules carry no charge.
    "aws_route53recoverycontrolconfig_control_panel", "aws_route53recoverycontrolconfig_routing_control",
    "aws_route53recoverycontrolconfig_safety_rule",
    "time_", "tls_", "null_",
    # Configuration of the firewalls: the charges are the endpoints (priced) and the traffic (usage).
    "aws_networkfirewall_", "aws_route53_resolver_firewall_config", "aws_route53_resolver_firewall_rule",
)
NO_CHARGE = {"aws_vpc", "aws_subnet", "aws_internet_gateway", "aws_egress_only_internet_gateway", "aws_route",
             "aws_ec2_transit_gateway", "aws_network_acl", "aws_main_route_table_association",
             # account settings and wiring of detection: no charge of their own (IAM Access Analyzer's external
             # access analyzer is free; EventBridge delivers AWS service events on the default bus at no charge)
             "aws_ebs_encryption_by_default", "aws_ebs_default_kms_key", "aws_s3_account_public_access_block",
             "aws_iam_account_password_policy", "aws_iam_service_linked_role", "aws_accessanalyzer_analyzer",
             "aws_cloudwatch_event_rule", "aws_cloudwatch_event_target", "aws_config_configuration_recorder_status",
             "aws_config_delivery_channel", "aws_securityhub_finding_aggregator", "aws_s3_bucket_notification",
             "aws_s3_bucket_object_lock_configuration",
             "aws_lambda_invocation"}  # one request of its function, billed with the function's requests

#: Types billed by use (storage, requests, data, logs): listed, not priced, because the JSON holds no volume.
USAGE_BASED = {
    "aws_s3_bucket": "S3 storage, requests, replication data transfer",
    "aws_ecr_repository": "image storage (GB-month), cross-region replication transfer",
    "aws_cloudwatch_log_group": "log ingestion and storage",
    "aws_flow_log": "vended log ingestion",
    "aws_cloudfront_distribution": "requests and data transfer out",
    "aws_sns_topic": "requests and deliveries",
    "aws_sqs_queue": "requests",
    "aws_lambda_function": "requests and duration",
    "aws_kinesis_firehose_delivery_stream": "data ingested",
    "aws_route53_resolver_firewall_rule_group_association": "DNS Firewall queries processed",
    "aws_route53_resolver_firewall_domain_list": "DNS Firewall domains stored",
    # Detection and response (docs/detection.md, "Cost"): no fixed monthly fee; each bills by volume.
    "aws_guardduty_detector": "GuardDuty: CloudTrail/VPC flow/DNS events analysed, EKS audit log events, RDS login events",
    "aws_guardduty_detector_feature": "GuardDuty protections: EKS runtime by node vCPU-hour, S3 data events per million, EBS malware GB scanned",
    "aws_guardduty_malware_protection_plan": "GuardDuty Malware Protection for S3: GB scanned and objects evaluated",
    "aws_securityhub_account": "Security Hub: security checks per account-region per month, findings ingested",
    "aws_securityhub_standards_subscription": "Security Hub: each enabled control's checks per resource (counted in the checks above)",
    "aws_config_configuration_recorder": "AWS Config: configuration items recorded (continuous), per item",
    "aws_config_conformance_pack": "AWS Config: conformance pack rule evaluations, per evaluation",
    "aws_config_config_rule": "AWS Config: rule evaluations, per evaluation",
    "aws_cloudtrail": "CloudTrail: the first copy of management events is free; S3 data events per 100,000 events",
    "aws_inspector2_enabler": "Inspector: EC2 instances scanned per month (the EKS nodes), ECR images scanned (initial and rescans)",
}


def price(synthesis: Synthesis, prices: Prices) -> Report:
    report = Report(environment=synthesis.environment)
    pricer = Pricer(synthesis, prices, report)
    for r in synthesis.resources:
        handler: Callable[[Resource], None] | None = getattr(pricer, r.rtype, None)
        if handler is not None and r.rtype.startswith(("aws_", "kubernetes_")):
            handler(r)
        elif r.rtype in USAGE_BASED:
            report.usage_based[r.rtype] += 1
        elif r.rtype in NO_CHARGE or r.rtype.startswith(NO_CHARGE_PREFIXES):
            continue
        else:
            report.unknown[r.rtype] += 1
    if not pricer.shield_subscribed and any(r.rtype == "aws_shield_protection" for r in synthesis.resources):
        pricer.add(GLOBAL, "Shield Advanced", "subscription implied by Shield protections", 1, "month",
                   prices.global_("shield_advanced_month"))
    return report


# ------------------------------------------------------------------------------------------------------
# Output
# ------------------------------------------------------------------------------------------------------


def _money(value: float) -> str:
    return f"{value:,.0f}"


def format_table(report: Report) -> str:
    regions = report.regions()
    table = report.by_region()
    width = max([len(s) for s in table] + [len("service")])
    header = f"{'service':<{width}}  " + "  ".join(f"{r:>14}" for r in regions) + f"  {'total':>10}"
    rule = "-" * len(header)
    out = [f"Monthly on-demand cost, environment {report.environment} (USD, 730 h/month)", rule, header, rule]
    for service in sorted(table, key=lambda s: -sum(table[s].values())):
        row = table[service]
        out.append(f"{service:<{width}}  " + "  ".join(f"{_money(row.get(r, 0)):>14}" for r in regions)
                   + f"  {_money(sum(row.values())):>10}")
    out.append(rule)
    out.append(f"{'total':<{width}}  " + "  ".join(f"{_money(report.total(r)):>14}" for r in regions)
               + f"  {_money(report.total()):>10}")
    estimated = sum(line.monthly for line in report.lines if line.estimated)
    if estimated:
        out.append(f"  of which USD {_money(estimated)} from prices marked estimated in the price table")
    return "\n".join(out)


def format_comparison(report: Report, prices: Prices) -> str:
    """Our figure next to the guide's, and the reasons for the gap, computed from the lines."""
    guide = prices.data["guide_estimate"]
    guide_total = float(guide["total"])
    table = report.by_region()
    primary = "us-east-1"

    def service_total(*names: str, region: str | None = None) -> float:
        return sum(v for s in names for r, v in table.get(s, {}).items() if region is None or r == region)

    core = ("EKS", "EC2 (EKS nodes)", "RDS", "ElastiCache", "MSK")
    omitted = [s for s in table if s not in core]
    primary_core = service_total(*core, region=primary)
    other_regions = sum(v for s in core for r, v in table.get(s, {}).items() if r != primary)
    out = [
        f"{'Guide estimate (production, before Savings Plans):':<52} USD {_money(guide_total):>7}/month",
        f"{f'This synthesis ({report.environment}, every region, list prices):':<52} USD {_money(report.total()):>7}/month",
        "",
        "Where the difference comes from:",
        f"  guide items we price, {primary} only ({', '.join(core)}): guide USD "
        f"{_money(sum(guide['items'][k] for k in ('EKS (cluster + EC2)', 'RDS (primary + replicas)', 'ElastiCache', 'MSK')))}"
        f", ours USD {_money(primary_core)}",
    ]
    for name, ours in (("EKS (cluster + EC2)", service_total("EKS", "EC2 (EKS nodes)", region=primary)),
                       ("RDS (primary + replicas)", service_total("RDS", region=primary)),
                       ("ElastiCache", service_total("ElastiCache", region=primary)),
                       ("MSK", service_total("MSK", region=primary))):
        out.append(f"    {name:<26} guide {_money(guide['items'][name]):>6}   ours {_money(ours):>6}")
    out.append(f"  {'the same items in the other regions (guide: none):':<52} USD {_money(other_regions):>7}")
    for service in sorted(omitted, key=lambda s: -service_total(s)):
        out.append(f"  {service + ' (not in the guide)':<52} USD {_money(service_total(service)):>7}")
    usage = sum(guide["items"][k] for k in ("Data transfer", "S3", "CloudWatch/X-Ray"))
    out.append(f"  {'usage the guide guesses, we do not price (transfer, S3, CloudWatch):':<52} guide USD {_money(usage)}")
    out.append(f"  (check: {_money(primary_core)} + {_money(other_regions)} + {_money(sum(service_total(s) for s in omitted))}"
               f" = USD {_money(report.total())}; the guide's other USD {_money(usage)} is usage we leave out)")
    return "\n".join(out)


def format_unpriced(report: Report) -> str:
    out = []
    if report.contingent:
        out.append("Contingent (a configured choice that costs more from a known date; not in the total):")
        out.extend(f"  {c}" for c in report.contingent)
    if report.usage_based:
        out.append("Usage-based, not priced (the JSON says nothing about volume):")
        for rtype, n in sorted(report.usage_based.items()):
            out.append(f"  {n:4d} x {rtype:<40} {USAGE_BASED[rtype]}")
    if report.unknown:
        out.append("Unknown resource types, counted and NOT priced (add them to scripts/cost.py):")
        for rtype, n in sorted(report.unknown.items()):
            out.append(f"  {n:4d} x {rtype}")
    if report.missing_prices:
        out.append("Resources whose price is missing from the price table (NOT priced):")
        out.extend(f"  {m}" for m in report.missing_prices)
    return "\n".join(out)


# ------------------------------------------------------------------------------------------------------
# Entry point
# ------------------------------------------------------------------------------------------------------


def synthesize(env: str, outdir: Path) -> None:
    """A fresh synthesis of ``env`` (never a stale cdktf.out) through main.py."""
    subprocess.run([sys.executable, str(ROOT / "main.py"), "--env", env, "--out", str(outdir), "--quiet"],
                   cwd=ROOT, check=True, env={**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"})


def reports_for(envs: Iterable[str], synth_dir: Path | None, prices: Prices) -> list[Report]:
    if synth_dir is not None:
        return [price(load_synthesis(synth_dir), prices)]
    reports = []
    with tempfile.TemporaryDirectory(prefix="globalpay-cost-") as tmp:
        for env in envs:
            out = Path(tmp) / env
            with step(f"cost: synthesizing {env} (about 10 s)"):
                synthesize(env, out)
            reports.append(price(load_synthesis(out), prices))
    return reports


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", action="append", choices=("prod", "staging"),
                        help="environment to synthesize and price (repeatable); default: prod and staging")
    parser.add_argument("--synth-dir", type=Path, help="price this existing cdktf output folder instead of synthesizing")
    parser.add_argument("--prices", type=Path, default=DEFAULT_PRICES, help="price table (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print every priced line as JSON")
    args = parser.parse_args(argv)
    prices = Prices.load(args.prices)
    reports = reports_for(args.env or ["prod", "staging"], args.synth_dir, prices)
    if args.json:
        print(json.dumps([{"environment": r.environment, "total": round(r.total(), 2),
                           "lines": [asdict(line) for line in r.lines], "usage_based": dict(r.usage_based),
                           "unknown": dict(r.unknown), "missing_prices": r.missing_prices, "contingent": r.contingent}
                          for r in reports], indent=2))
        return 0
    print(f"Prices: {args.prices.relative_to(ROOT) if args.prices.is_relative_to(ROOT) else args.prices} "
          f"(on-demand list prices as of {prices.data['as_of']})\n")
    for report in reports:
        print(format_table(report))
        print()
        print(format_comparison(report, prices))
        print()
        unpriced = format_unpriced(report)
        if unpriced:
            print(unpriced)
            print()
    if len(reports) > 1:
        print("Side by side: " + ", ".join(f"{r.environment} USD {_money(r.total())}/month" for r in reports))
    return 0


if __name__ == "__main__":
    sys.exit(main())
