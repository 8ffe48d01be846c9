"""``globalpay-<env>-global``: what spans regions. Route 53 failover with its health checks and the traffic gate
that keeps a recovered region without traffic until an operator lets it back (ARC routing controls), the Shield Advanced
subscription, the budget, the CloudWatch dashboard and the CloudFront edge (the transit gateway mesh has a
workspace of its own, ``regions/mesh.py``, applied before the apps).

Applied after every region's core stack and apps stack (the load balancers Route 53 and the dashboard find by
name, through the per-region provider aliases), and before the regions' ``-edge`` stacks (their Shield
protections need this stack's subscription). Regional values arrive by cross-stack reference or deterministic
name, never by references that would make a regional workspace depend on this one."""

from __future__ import annotations

from collections.abc import Mapping

from constructs import Construct

from constructs_lib.audit import ArchivedLogs, LogArchive, LogArchiveProps, log_retention
from constructs_lib.cdn import StaticAssetsCdn, StaticAssetsCdnProps, log_delivery_statements, origin_read_statement
from constructs_lib.common import AccountContext, protected
from constructs_lib.config import CSP_REPORT_GROUP, EnvironmentConfig
from constructs_lib.dns import ApiFailover, ApiFailoverProps, RegionalEndpoint
from constructs_lib.edge import CDN_MANAGED_RULE_GROUPS, ShieldAdvancedProtection, WebAcl, WebAclProps
from constructs_lib.encryption import ManagedKey
from constructs_lib.naming import GLOBAL_SERVICES_REGION, Naming
from constructs_lib.observability import (
    AlarmSpec,
    AlarmTopic,
    AlarmTopicProps,
    DashboardRegion,
    dashboard_body,
    dashboard_name,
    metric_alarm,
)
from constructs_lib.providers import aws
from constructs_lib.recovery import TrafficGate, TrafficGateProps
from constructs_lib.storage import SecureBucket, SecureBucketProps, log_lifecycle
from regions.base import GlobalPayStack
from regions.core import CoreOutputs
from regions.mesh import provider_alias
from regions.operations_layer import alb_name

#: Global services (CloudFront, its WAF and certificates, Route 53 metrics, Shield, Budgets) live in us-east-1.
GLOBAL_REGION = GLOBAL_SERVICES_REGION
#: Share of static asset requests failing with 5xx (per minute, five minutes in a row) that marks the
#: distribution unhealthy for Shield's health-based detection and pages the on-call engineer.
CDN_5XX_RATE_PERCENT = 5


class GlobalStack(GlobalPayStack):
    def __init__(
        self,
        scope: Construct,
        config: EnvironmentConfig,
        cores: Mapping[str, CoreOutputs],
        *,
        backend: str,
    ) -> None:
        # Global services (Route 53, Budgets, CloudFront and its WAF) are managed from us-east-1.
        super().__init__(scope, Naming(config.name).stack("global"), config=config, region=GLOBAL_REGION, backend=backend)
        # Per-region providers: each region's load balancer is looked up where it lives.
        self.regional_providers = {r: self.aws_provider(r, alias=provider_alias(r)) for r in config.region_names}

        self.account = AccountContext(self, "account")
        self._edge_key()
        self.alarm_topic = AlarmTopic(
            self,
            "alarm-topic",
            AlarmTopicProps(
                name=self.naming.name("global-alarms"),
                kms_key_arn=self.edge_key.arn,
                region=GLOBAL_REGION,
                account=self.account,
                endpoints=config.observability.alert_endpoints,
            ),
        )
        self.zone = aws.data_aws_route53_zone.DataAwsRoute53Zone(
            self, "hosted-zone", name=config.edge.hosted_zone_name, private_zone=False
        )
        # The api-gateway ALB of each region, created by its load balancer controller from the apps stack's
        # Ingress (which waits for it): this stack is applied after every apps stack.
        self.albs = {
            region: aws.data_aws_lb.DataAwsLb(
                self, f"alb-{region}", provider=self.regional_providers[region], name=alb_name(config.name)
            )
            for region in config.region_names
        }
        if self.albs:
            # The way back after a failover is an operator's decision, never a recovered health check.
            failover_regions = sorted({config.primary_region, config.secondary_region} & set(self.albs))
            self.traffic_gate = TrafficGate(self, "traffic-gate", TrafficGateProps(
                prefix=self.naming.name(),
                regions=failover_regions,
                account=self.account,
                operators=config.edge.traffic_gate_operators or (config.cluster.admin_role_name,),
                cluster_arn=config.edge.recovery_cluster_arn,
            ))
            self.failover = ApiFailover(
                self,
                "api-failover",
                ApiFailoverProps(
                    zone_id=self.zone.zone_id,
                    hostname=config.edge.api_hostname,
                    endpoints={
                        r: RegionalEndpoint(region=r, dns_name=lb.dns_name, zone_id=lb.zone_id) for r, lb in self.albs.items()
                    },
                    primary_region=config.primary_region,
                    secondary_region=config.secondary_region,
                    health_check_path=config.edge.health_check_path,
                    alarm_topic_arn=self.alarm_topic.arn,
                    prefix=self.naming.name(),
                    gate_check_ids=self.traffic_gate.health_check_ids,
                ),
            )
        self._shield_subscription()
        self._budget()
        self._dashboard(cores)
        self._cdn()

    # --------------------------------------------------------------------------------------------------

    def _edge_key(self) -> None:
        """The global stack's own key (us-east-1): static assets, CDN logs, CloudFront WAF logs, alarm topic.

        Service principals it admits, each for this account only: CloudFront (reads SSE-KMS objects through
        the origin access control), the log delivery service (CloudFront logging v2), CloudWatch alarms
        (publish to the encrypted topic); CloudWatch Logs for the WAF log group.
        """
        self.edge_key = ManagedKey(
            self,
            "edge-key",
            alias=self.naming.alias("edge"),
            description=f"GlobalPay {self.config.name} edge key: static assets, CDN and WAF logs, global alarms",
            region=GLOBAL_REGION,
            account=self.account,
            via_services=("s3", "sns"),
            service_principals=("cloudfront.amazonaws.com", "delivery.logs.amazonaws.com", "cloudwatch.amazonaws.com"),
            logs_service=True,
        )

    def _shield_subscription(self) -> None:
        """Shield Advanced is one subscription per account (USD 3,000/month, one-year commitment).

        ``skip_destroy``: AWS does not cancel a subscription before its commitment ends; removing it from
        configuration must not pretend otherwise. ``auto_renew`` stays on: protection lapsing silently at the
        anniversary is the worse failure.
        """
        self.shield_subscription = None
        if not self.config.edge.shield_advanced:
            return
        self.shield_subscription = aws.shield_subscription.ShieldSubscription(
            self, "shield-advanced", auto_renew="ENABLED", skip_destroy=True, lifecycle=protected()
        )

    def _budget(self) -> None:
        cost = self.config.cost
        notifications = [
            {
                "comparison_operator": "GREATER_THAN",
                "notification_type": kind,
                "threshold": pct,
                "threshold_type": "PERCENTAGE",
                "subscriber_email_addresses": [cost.budget_alert_email],
            }
            for pct in cost.budget_alert_percents
            for kind in ("ACTUAL", "FORECASTED")
        ]
        aws.budgets_budget.BudgetsBudget(
            self,
            "monthly-budget",
            name=self.naming.name("monthly"),
            budget_type="COST",
            limit_amount=str(cost.monthly_budget_usd),
            limit_unit="USD",
            time_unit="MONTHLY",
            # The Project cost allocation tag (provider default_tags; activate it once in the Billing console).
            cost_filter=[{"name": "TagKeyValue", "values": ["user:Project$GlobalPay"]}],
            notification=notifications,
        )

    def _dashboard(self, cores: Mapping[str, CoreOutputs]) -> None:
        regions = []
        for region in self.config.region_names:
            ops = cores[region].operations
            lb = self.albs.get(region)
            regions.append(DashboardRegion(
                region=region,
                cluster_name=cores[region].cluster_name,
                databases=[d.identifier for d in ops.databases],
                redis_group=next(iter(ops.redis_groups), ""),
                redis_members=next(iter(ops.redis_groups.values()), 0),
                kafka_cluster=next(iter(ops.kafka_clusters), ""),
                kafka_brokers=next(iter(ops.kafka_clusters.values()), 0),
                alb_arn_suffix=lb.arn_suffix if lb is not None else "",
            ))
        aws.cloudwatch_dashboard.CloudwatchDashboard(
            self,
            "dashboard",
            dashboard_name=dashboard_name(self.config.name, self.config.environment_label),
            dashboard_body=dashboard_body(regions),
        )

    def _cdn(self) -> None:
        config, naming, account = self.config, self.naming, self.account
        access_logs = naming.access_log_bucket() if GLOBAL_REGION in config.region_names else ""
        static_name = naming.static_assets_bucket()
        log_name = naming.cdn_log_bucket()
        retention = log_retention(config.audit_logs)
        static_arn = f"arn:{account.partition}:s3:::{static_name}"
        log_arn = f"arn:{account.partition}:s3:::{log_name}"
        self.cdn_logs = SecureBucket(
            self,
            "cdn-log-bucket",
            SecureBucketProps(
                bucket_name=log_name,
                kms_key_arn=self.edge_key.arn,
                lifecycle_rules=log_lifecycle("tier-and-expire-cdn-logs", keep_days=retention.days,
                                              transitions=((30, "STANDARD_IA"), (90, "GLACIER_IR"))),
                policy_statements=log_delivery_statements(
                    log_arn, account.account_id, account.arn("logs", GLOBAL_REGION, "delivery-source:*")
                ),
                access_log_bucket=access_logs,
                eventbridge_notifications=True,  # deleted evidence pages (us-east-1 -security stack, PCI DSS 10.3.4)
            ),
        )
        # CloudFront's vended log delivery is not documented to write into a bucket with a default retention: the
        # CDN logs replicate, within minutes, into a write-once archive encrypted with the same edge key.
        self.cdn_log_archive = LogArchive(self, "cdn-log-archive", LogArchiveProps(
            bucket_name=naming.edge_log_archive_bucket(),
            retention=retention,
            region=GLOBAL_REGION,
            account=account,
            role_name=naming.name("edge-log-archive"),
            sources=(ArchivedLogs("cdn-logs", self.cdn_logs, kms_key_arn=self.edge_key.arn),),
            kms_key_arn=self.edge_key.arn,
            alarm_topic_arn=self.alarm_topic.arn,
            alarm_name_prefix=naming.name("edge-log-archive"),
        ))
        self.static_assets = SecureBucket(
            self,
            "static-assets-bucket",
            SecureBucketProps(
                bucket_name=static_name,
                kms_key_arn=self.edge_key.arn,
                policy_statements=(origin_read_statement(static_arn, f"arn:{account.partition}:cloudfront::{account.account_id}:distribution/*"),),
                access_log_bucket=access_logs,
            ),
        )
        self.cdn_waf = WebAcl(
            self,
            "cdn-waf",
            WebAclProps(
                name=naming.name("cdn-waf"),
                scope="CLOUDFRONT",
                rate_limit_per_ip=config.edge.waf_rate_limit_per_ip,
                region=GLOBAL_REGION,
                account=account,
                log_kms_key_arn=self.edge_key.arn,
                log_group_name=f"aws-waf-logs-{self.naming.name('cdn')}",
                log_retention_days=config.observability.log_retention_days,
                metric_prefix="GlobalPayCdnWAF",
                managed_rule_groups=CDN_MANAGED_RULE_GROUPS,
            ),
        )
        certificate_arn = config.edge.cdn_certificate_arn or aws.data_aws_acm_certificate.DataAwsAcmCertificate(
            self, "cdn-certificate", domain=config.edge.static_hostname, statuses=["ISSUED"], most_recent=True
        ).arn
        self.cdn = StaticAssetsCdn(
            self,
            "cdn",
            StaticAssetsCdnProps(
                prefix=naming.name(),
                origin=self.static_assets,
                log_bucket_arn=self.cdn_logs.arn,
                log_bucket_policy=self.cdn_logs.policy,
                web_acl_arn=self.cdn_waf.arn,
                hostname=config.edge.static_hostname,
                certificate_arn=certificate_arn,
                account=account,
                price_class=config.edge.cdn_price_class,
                content_security_policy=config.edge.csp_header(),
                csp_report_group=CSP_REPORT_GROUP,
                csp_report_endpoint=config.edge.csp_report_endpoint(),
            ),
        )
        self._cdn_shield()
        for record_type in ("A", "AAAA"):
            aws.route53_record.Route53Record(
                self,
                f"static-record-{record_type.lower()}",
                zone_id=self.zone.zone_id,
                name=config.edge.static_hostname,
                type=record_type,
                alias={"name": self.cdn.domain_name, "zone_id": self.cdn.hosted_zone_id, "evaluate_target_health": False},
            )

    def _cdn_shield(self) -> None:
        """Shield Advanced protection of the distribution, with health-based detection: a Route 53 health check
        that follows an alarm on the distribution's 5xx error rate (CloudFront publishes its metrics in
        us-east-1, dimension ``Region=Global``). The alarm also pages through the global topic."""
        if self.shield_subscription is None:
            return
        spec = AlarmSpec(
            name=self.naming.name("cdn-5xx-error-rate"),
            description=f"More than {CDN_5XX_RATE_PERCENT} % of static asset requests fail with 5xx: the checkout widget and dashboard may not load",
            namespace="AWS/CloudFront", metric="5xxErrorRate",
            dimensions={"DistributionId": self.cdn.distribution_id, "Region": "Global"},
            statistic="Average", threshold=CDN_5XX_RATE_PERCENT, period=60, evaluation_periods=5,
            treat_missing_data="notBreaching",
        )
        alarm = metric_alarm(self, "cdn-5xx-rate", spec, self.alarm_topic.arn)
        health = aws.route53_health_check.Route53HealthCheck(
            self,
            "cdn-health-check",
            type="CLOUDWATCH_METRIC",
            cloudwatch_alarm_name=alarm.alarm_name,
            cloudwatch_alarm_region=GLOBAL_REGION,
            insufficient_data_health_status="LastKnownStatus",
            tags={"Name": self.naming.name("cdn-health")},
        )
        ShieldAdvancedProtection(
            self, "shield-cdn", name=self.naming.name("cdn-protection"), resource_arn=self.cdn.arn,
            health_check_arn=health.arn, depends_on=[self.shield_subscription],
        )
