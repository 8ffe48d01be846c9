"""``globalpay-<env>-global``: what spans regions. Route 53 failover with its health checks, the Shield Advanced
subscription, the budget, the CloudWatch dashboard and the CloudFront edge (the transit gateway mesh has a
workspace of its own, ``regions/mesh.py``, applied before the apps).

Applied after every region's core stack and apps stack (the load balancers Route 53 and the dashboard find by
name, through the per-region provider aliases), and before the regions' ``-edge`` stacks (their Shield
protections need this stack's subscription). Regional values arrive by cross-stack reference or deterministic
name, never by references that would make a regional workspace depend on this one."""

from __future__ import annotations

from collections.abc import Mapping

from constructs import Construct

from constructs_lib.cdn import StaticAssetsCdn, StaticAssetsCdnProps, log_delivery_statements, origin_read_statement
from constructs_lib.common import AccountContext, protected
from constructs_lib.config import EnvironmentConfig
from constructs_lib.dns import ApiFailover, ApiFailoverProps, RegionalEndpoint
from constructs_lib.edge import CDN_MANAGED_RULE_GROUPS, WebAcl, WebAclProps
from constructs_lib.encryption import ManagedKey
from constructs_lib.naming import Naming
from constructs_lib.observability import AlarmTopic, AlarmTopicProps, DashboardRegion, dashboard_body, dashboard_name
from constructs_lib.providers import aws
from constructs_lib.storage import LifecycleRule, SecureBucket, SecureBucketProps
from regions.base import GlobalPayStack
from regions.core import CoreOutputs
from regions.mesh import provider_alias
from regions.operations_layer import access_log_bucket_name, alb_name

#: Global services (CloudFront, its WAF and certificates, Route 53 metrics, Shield, Budgets) live in us-east-1.
GLOBAL_REGION = "us-east-1"


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
        if not self.config.edge.shield_advanced:
            return
        aws.shield_subscription.ShieldSubscription(
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
        env = config.name
        access_logs = access_log_bucket_name(env, GLOBAL_REGION) if GLOBAL_REGION in config.region_names else ""
        static_name = naming.name("static-assets")
        log_name = naming.name("cdn-logs")
        static_arn = f"arn:{account.partition}:s3:::{static_name}"
        log_arn = f"arn:{account.partition}:s3:::{log_name}"
        self.cdn_logs = SecureBucket(
            self,
            "cdn-log-bucket",
            SecureBucketProps(
                bucket_name=log_name,
                kms_key_arn=self.edge_key.arn,
                lifecycle_rules=(LifecycleRule(
                    id="tier-and-expire-cdn-logs", transitions=((30, "STANDARD_IA"), (90, "GLACIER_IR")),
                    expiration_days=400, noncurrent_version_expiration_days=30,
                ),),
                policy_statements=log_delivery_statements(
                    log_arn, account.account_id, account.arn("logs", GLOBAL_REGION, "delivery-source:*")
                ),
                access_log_bucket=access_logs,
                eventbridge_notifications=True,  # deleted evidence pages (us-east-1 -security stack, PCI DSS 10.3.4)
            ),
        )
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
            ),
        )
        for record_type in ("A", "AAAA"):
            aws.route53_record.Route53Record(
                self,
                f"static-record-{record_type.lower()}",
                zone_id=self.zone.zone_id,
                name=config.edge.static_hostname,
                type=record_type,
                alias={"name": self.cdn.domain_name, "zone_id": self.cdn.hosted_zone_id, "evaluate_target_health": False},
            )
