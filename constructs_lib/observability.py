"""Monitoring (guide: "Monitoring and Logging"): alarm topic, alarms, the dashboard body, X-Ray settings.

What an on-call engineer of a payments platform is paged for, per region:

* the guide's three alarms: node CPU > 80 % for 2 x 300 s, database connections, ALB target 5xx > 50 in
  300 s;
* RDS replica lag (the guide's RPO of one minute made observable), RDS free storage, Redis memory and
  evictions, MSK broker disk use, EKS failed nodes;
* RDS storage nearing its autoscaling ceiling (``max_allocated_storage``): RDS's own event, routed to the topic.

Every alarm notifies the region's alarm topic when it fires AND when it recovers (ok_actions): a page
without the all-clear keeps an incident open. The topic is encrypted with the region's data key, whose
policy admits the CloudWatch alarms service principal.

Metric sources that differ from the guide (docs/edge.md, "Deviations"): the guide's CPU alarm uses
``AWS/EKS CPUUtilization``, a metric that does not exist (EKS publishes no node CPU metric); Container
Insights publishes ``ContainerInsights node_cpu_utilization`` per ``ClusterName``, which we use.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from constructs import Construct

from constructs_lib.common import AccountContext, policy_document, protected
from constructs_lib.policy import suppress
from constructs_lib.providers import aws

GIB = 1024**3


@dataclass(frozen=True)
class AlarmTopicProps:
    """Props of an :class:`AlarmTopic`."""

    #: Topic name, e.g. ``globalpay-prod-alarms``.
    name: str
    #: The region's data key (the key policy admits cloudwatch.amazonaws.com and events.amazonaws.com).
    kms_key_arn: str
    region: str
    account: AccountContext
    #: Alert endpoints subscribed to the topic: e-mail addresses and https:// URLs (``observability.alert_endpoints``,
    #: validated). Default: none (an endpoint subscribed outside Terraform, e.g. one whose URL holds a key).
    endpoints: Sequence[str] = ()


class AlarmTopic(Construct):
    """The SNS topic every alarm of a region notifies; only CloudWatch (and EventBridge) may publish."""

    def __init__(self, scope: Construct, id: str, props: AlarmTopicProps) -> None:
        super().__init__(scope, id)
        # Protected: the on-call tool's subscription (confirmed out of band) dies with the topic.
        self.topic = aws.sns_topic.SnsTopic(self, "topic", name=props.name, kms_master_key_id=props.kms_key_arn,
                                            lifecycle=protected())
        self.arn: str = self.topic.arn
        aws.sns_topic_policy.SnsTopicPolicy(
            self,
            "policy",
            arn=self.topic.arn,
            policy=policy_document([
                {
                    "Sid": "AccountManagesTopic",
                    "Effect": "Allow",
                    "Principal": {"AWS": props.account.root_arn},
                    "Action": ["sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:Subscribe",
                               "sns:ListSubscriptionsByTopic", "sns:Publish"],
                    "Resource": self.topic.arn,
                },
                {
                    "Sid": "CloudWatchAlarmsOfThisAccount",
                    "Effect": "Allow",
                    "Principal": {"Service": ["cloudwatch.amazonaws.com", "events.amazonaws.com"]},
                    "Action": "sns:Publish",
                    "Resource": self.topic.arn,
                    "Condition": {"StringEquals": {"aws:SourceAccount": props.account.account_id}},
                },
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "sns:Publish",
                    "Resource": self.topic.arn,
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                },
            ]),
        )
        self.subscriptions = subscribe_endpoints(self, self.topic.arn, props.endpoints)
        if not props.endpoints:
            # Allowed outside prod only (the validator requires an endpoint there): said in every synth summary.
            suppress(self.topic, "GP012", reason="observability.alert_endpoints is empty (allowed outside prod): "
                     "nobody is paged unless an endpoint is subscribed outside Terraform")


def subscribe_endpoints(scope: Construct, topic_arn: str, endpoints: Sequence[str]) -> dict[str, Any]:
    """One SNS subscription per alert endpoint (``email`` or ``https``), with an id derived from the endpoint:
    reordering the list changes nothing, and an e-mail address is not asked to confirm again. An e-mail
    subscription stays "pending confirmation" until its owner clicks the link (docs/runbooks/security-findings.md)."""
    subscriptions = {}
    for endpoint in endpoints:
        protocol = "https" if endpoint.lower().startswith("https://") else "email"
        sid = "subscription-" + re.sub(r"[^A-Za-z0-9]+", "-", endpoint.lower().removeprefix("https://")).strip("-")
        subscriptions[endpoint] = aws.sns_topic_subscription.SnsTopicSubscription(
            scope, sid, topic_arn=topic_arn, protocol=protocol, endpoint=endpoint
        )
    return subscriptions


@dataclass(frozen=True)
class AlarmSpec:
    """One CloudWatch alarm on one metric (or a MAX over several, see ``metrics``)."""

    name: str
    description: str
    namespace: str
    metric: str
    threshold: float
    comparison: str = "GreaterThanThreshold"
    statistic: str = "Average"
    period: int = 300
    evaluation_periods: int = 1
    dimensions: Mapping[str, str] = field(default_factory=dict)
    #: Several dimension sets of the same metric: the alarm watches their maximum (metric math).
    metrics: Sequence[Mapping[str, str]] = ()
    #: ``missing``, ``ignore``, ``breaching`` or ``notBreaching`` (CloudWatch's values).
    treat_missing_data: str = "missing"


#: The runbook section an alarm's description points the on-call engineer to, by metric namespace.
RUNBOOKS = {
    "ContainerInsights": "docs/runbooks/troubleshooting.md#pods-and-nodes",
    "AWS/RDS": "docs/runbooks/troubleshooting.md#database",
    "AWS/ElastiCache": "docs/runbooks/troubleshooting.md#redis",
    "AWS/Kafka": "docs/runbooks/troubleshooting.md#kafka",
    "AWS/SQS": "docs/runbooks/troubleshooting.md#payment-events",
    "AWS/ApplicationELB": "docs/runbooks/troubleshooting.md#api-errors-and-latency",
    "AWS/S3": "docs/runbooks/troubleshooting.md#replication",
    "AWS/Route53": "docs/runbooks/failover.md",
    "AWS/Events": "docs/runbooks/security-findings.md#a-finding-route-is-broken",
}


def metric_alarm(scope: Construct, id: str, spec: AlarmSpec, topic_arn: str) -> Any:
    """An alarm that notifies ``topic_arn`` on ALARM and on OK; its description names the runbook to follow."""
    runbook = RUNBOOKS.get(spec.namespace, "docs/runbooks/troubleshooting.md")
    common: dict[str, Any] = dict(
        alarm_name=spec.name,
        alarm_description=f"{spec.description}. Runbook: {runbook}",
        comparison_operator=spec.comparison,
        evaluation_periods=spec.evaluation_periods,
        threshold=spec.threshold,
        treat_missing_data=spec.treat_missing_data,
        alarm_actions=[topic_arn],
        ok_actions=[topic_arn],
    )
    if spec.metrics:
        queries: list[dict[str, Any]] = [
            {
                "id": f"m{i}",
                "return_data": False,
                "metric": {
                    "namespace": spec.namespace,
                    "metric_name": spec.metric,
                    "dimensions": dict(dims),
                    "period": spec.period,
                    "stat": spec.statistic,
                },
            }
            for i, dims in enumerate(spec.metrics, start=1)
        ]
        ids = ", ".join(q["id"] for q in queries)
        queries.append({"id": "worst", "expression": f"MAX([{ids}])", "label": spec.metric, "return_data": True})
        return aws.cloudwatch_metric_alarm.CloudwatchMetricAlarm(scope, id, metric_query=queries, **common)
    return aws.cloudwatch_metric_alarm.CloudwatchMetricAlarm(
        scope,
        id,
        namespace=spec.namespace,
        metric_name=spec.metric,
        dimensions=dict(spec.dimensions),
        statistic=spec.statistic,
        period=spec.period,
        **common,
    )


@dataclass(frozen=True)
class DatabaseTarget:
    """An RDS instance to watch: its identifier and whether it is a read replica."""

    identifier: str
    is_replica: bool


@dataclass(frozen=True)
class RegionalAlarmsProps:
    """What a region runs, by deterministic name, and the thresholds (``ObservabilityConfig``)."""

    #: ``globalpay-<env>`` (alarm name prefix).
    prefix: str
    topic_arn: str
    cluster_name: str
    databases: Sequence[DatabaseTarget] = ()
    #: RDS max_connections (the parameter group's) and allocated storage, for the thresholds.
    db_max_connections: int = 1000
    db_allocated_storage_gb: int = 500
    #: Redis replication groups: id -> number of cache clusters (members ``<id>-001`` ...).
    redis_groups: Mapping[str, int] = field(default_factory=dict)
    #: MSK clusters: name -> broker count (broker ids 1..n).
    kafka_clusters: Mapping[str, int] = field(default_factory=dict)
    cpu_threshold_percent: int = 80
    db_connections_percent: int = 80
    replica_lag_seconds: int = 60
    db_free_storage_percent: int = 10
    redis_memory_percent: int = 80
    msk_disk_percent: int = 85


def alb_5xx_alarm_spec(prefix: str, alb_arn_suffix: str, threshold: int) -> AlarmSpec:
    """The guide's ``globalpay-api-5xx-errors``: target 5xx of the api-gateway ALB (``-edge`` stack, which
    finds the ALB the load balancer controller created)."""
    return AlarmSpec(
        name=f"{prefix}-api-5xx-errors",
        description=f"More than {threshold} target 5xx responses from the api-gateway in 5 minutes (guide: globalpay-api-5xx-errors)",
        namespace="AWS/ApplicationELB",
        metric="HTTPCode_Target_5XX_Count",
        dimensions={"LoadBalancer": alb_arn_suffix},
        statistic="Sum",
        threshold=threshold,
        period=300,
        evaluation_periods=1,
        treat_missing_data="notBreaching",  # no request, no error
    )


def regional_alarm_specs(p: RegionalAlarmsProps) -> dict[str, AlarmSpec]:
    """Construct id -> alarm. Ids derive from resource names, never from the region's role (failover)."""
    specs: dict[str, AlarmSpec] = {
        "high-cpu": AlarmSpec(
            name=f"{p.prefix}-high-cpu",
            description=f"EKS nodes of {p.cluster_name} average CPU above {p.cpu_threshold_percent}% for 10 minutes (guide: globalpay-high-cpu)",
            namespace="ContainerInsights",
            metric="node_cpu_utilization",
            dimensions={"ClusterName": p.cluster_name},
            threshold=p.cpu_threshold_percent,
            period=300,
            evaluation_periods=2,
        ),
        "failed-nodes": AlarmSpec(
            name=f"{p.prefix}-eks-failed-nodes",
            description=f"A node of {p.cluster_name} (node group payment-processing-nodes) is failing its health checks",
            namespace="ContainerInsights",
            metric="cluster_failed_node_count",
            dimensions={"ClusterName": p.cluster_name},
            statistic="Maximum",
            threshold=0,
            period=300,
            evaluation_periods=1,
        ),
    }
    free_bytes = p.db_allocated_storage_gb * GIB * p.db_free_storage_percent / 100
    for db in p.databases:
        ident = db.identifier
        specs[f"{ident}-connections"] = AlarmSpec(
            name=f"{ident}-connections",
            description=f"{ident} holds more than {p.db_connections_percent}% of max_connections ({p.db_max_connections}) for 2 minutes: pools are about to be refused (guide: globalpay-db-connection-errors)",
            namespace="AWS/RDS",
            metric="DatabaseConnections",
            dimensions={"DBInstanceIdentifier": ident},
            statistic="Maximum",
            threshold=p.db_max_connections * p.db_connections_percent // 100,
            period=60,
            evaluation_periods=2,
        )
        specs[f"{ident}-free-storage"] = AlarmSpec(
            name=f"{ident}-free-storage",
            description=f"{ident} has less than {p.db_free_storage_percent}% of its allocated storage free",
            namespace="AWS/RDS",
            metric="FreeStorageSpace",
            dimensions={"DBInstanceIdentifier": ident},
            statistic="Minimum",
            comparison="LessThanThreshold",
            threshold=free_bytes,
            period=300,
            evaluation_periods=1,
        )
        if db.is_replica:
            specs[f"{ident}-replica-lag"] = AlarmSpec(
                name=f"{ident}-replica-lag",
                description=f"{ident} lags its source by more than {p.replica_lag_seconds} s: the RPO of one minute is at risk",
                namespace="AWS/RDS",
                metric="ReplicaLag",
                dimensions={"DBInstanceIdentifier": ident},
                statistic="Maximum",
                threshold=p.replica_lag_seconds,
                period=60,
                evaluation_periods=3,
                treat_missing_data="breaching",  # a replica that stops reporting lag has stopped replicating
            )
    for group, members in p.redis_groups.items():
        nodes = [{"CacheClusterId": f"{group}-{i:03d}"} for i in range(1, members + 1)]
        specs[f"{group}-memory"] = AlarmSpec(
            name=f"{group}-memory",
            description=f"A node of {group} uses more than {p.redis_memory_percent}% of its memory",
            namespace="AWS/ElastiCache",
            metric="DatabaseMemoryUsagePercentage",
            metrics=nodes,
            statistic="Maximum",
            threshold=p.redis_memory_percent,
            period=300,
            evaluation_periods=2,
        )
        specs[f"{group}-evictions"] = AlarmSpec(
            name=f"{group}-evictions",
            description=f"{group} evicts keys: cached data and sessions are being lost (idempotency keys live in PostgreSQL)",
            namespace="AWS/ElastiCache",
            metric="Evictions",
            metrics=nodes,
            statistic="Sum",
            threshold=0,
            period=300,
            evaluation_periods=1,
            treat_missing_data="notBreaching",
        )
    for cluster, brokers in p.kafka_clusters.items():
        specs[f"{cluster}-disk"] = AlarmSpec(
            name=f"{cluster}-disk-used",
            description=f"A broker of {cluster} has used more than {p.msk_disk_percent}% of its data volume",
            namespace="AWS/Kafka",
            metric="KafkaDataLogsDiskUsed",
            metrics=[{"Cluster Name": cluster, "Broker ID": str(b)} for b in range(1, brokers + 1)],
            statistic="Maximum",
            threshold=p.msk_disk_percent,
            period=300,
            evaluation_periods=2,
        )
    return specs


#: RDS event "the storage size is approaching the maximum storage threshold" of storage autoscaling (RDS User
#: Guide, "Managing capacity automatically with Amazon RDS storage autoscaling", which links the event
#: USER_Events.Messages.md#RDS-EVENT-0225): once the ceiling is reached autoscaling stops and the free-storage
#: alarm is the last warning before writes fail.
RDS_STORAGE_CEILING_EVENT = "RDS-EVENT-0225"


def storage_ceiling_event_pattern(identifiers: Sequence[str]) -> str:
    """EventBridge pattern of the storage-ceiling event of these RDS instances."""
    return json.dumps({
        "source": ["aws.rds"],
        "detail-type": ["RDS DB Instance Event"],
        "detail": {"EventID": [RDS_STORAGE_CEILING_EVENT], "SourceIdentifier": sorted(identifiers)},
    }, sort_keys=True)


class StorageCeilingNotice(Construct):
    """Pages the alarm topic when an RDS instance's storage nears its autoscaling ceiling: raise
    ``database.max_allocated_storage_gb`` (docs/runbooks/upgrade.md, "Database storage")."""

    def __init__(self, scope: Construct, id: str, *, name: str, identifiers: Sequence[str], topic_arn: str) -> None:
        super().__init__(scope, id)
        rule = aws.cloudwatch_event_rule.CloudwatchEventRule(
            self,
            "rule",
            name=name,
            description="RDS storage is approaching its autoscaling ceiling (max_allocated_storage)",
            event_pattern=storage_ceiling_event_pattern(identifiers),
        )
        aws.cloudwatch_event_target.CloudwatchEventTarget(self, "topic", rule=rule.name, arn=topic_arn)


class RegionalAlarms(Construct):
    """Every alarm of a region (``regional_alarm_specs``), each notifying the alarm topic."""

    def __init__(self, scope: Construct, id: str, props: RegionalAlarmsProps) -> None:
        super().__init__(scope, id)
        self.specs = regional_alarm_specs(props)
        self.alarms = {cid: metric_alarm(self, cid, spec, props.topic_arn) for cid, spec in self.specs.items()}


@dataclass(frozen=True)
class TracingProps:
    """Props of :class:`Tracing`."""

    #: The region's data key: X-Ray encrypts traces (they carry request paths and timings) with it.
    kms_key_arn: str
    #: Sampling rule name (at most 32 characters).
    rule_name: str
    #: Percent of requests traced after the reservoir (default 5).
    sample_percent: int = 5
    #: Traces per second always kept, whatever the rate (default 1: every quiet minute still has traces).
    reservoir_per_second: int = 1


class Tracing(Construct):
    """The region's X-Ray settings: encryption with our key and the GlobalPay sampling rule.

    The collector runs in the cluster: the CloudWatch agent of the amazon-cloudwatch-observability add-on, with
    X-Ray and OTLP trace receivers (``cluster.observability_addon_configuration``); the workloads are told
    where it is (``workloads.trace_settings``).
    """

    def __init__(self, scope: Construct, id: str, props: TracingProps) -> None:
        super().__init__(scope, id)
        aws.xray_encryption_config.XrayEncryptionConfig(self, "encryption", type="KMS", key_id=props.kms_key_arn)
        aws.xray_sampling_rule.XraySamplingRule(
            self,
            "sampling",
            rule_name=props.rule_name,
            priority=100,
            version=1,
            reservoir_size=props.reservoir_per_second,
            fixed_rate=props.sample_percent / 100,
            host="*",
            http_method="*",
            url_path="*",
            service_name="*",
            service_type="*",
            resource_arn="*",
        )


# ------------------------------------------------------------------------------------------------------
# The dashboard (global: CloudWatch dashboards are account-wide, so one of them shows every region)
# ------------------------------------------------------------------------------------------------------


def dashboard_name(env: str, environment_label: str) -> str:
    """``GlobalPay-Production`` for prod (the guide's name), ``GlobalPay-Staging`` for staging."""
    return f"GlobalPay-{environment_label.capitalize()}"


@dataclass(frozen=True)
class DashboardRegion:
    """What the dashboard shows of one region (deterministic names only)."""

    region: str
    cluster_name: str
    databases: Sequence[str] = ()
    redis_group: str = ""
    redis_members: int = 0
    kafka_cluster: str = ""
    kafka_brokers: int = 0
    alb_arn_suffix: str = ""


#: Grid units of one region's band on the dashboard: title (1) + two rows of widgets (6 each).
ROW_HEIGHT = 13


def _widget(title: str, region: str, metrics: list[list[Any]], x: int, y: int, stat: str = "Average") -> dict[str, Any]:
    return {
        "type": "metric",
        "x": x,
        "y": y,
        "width": 8,
        "height": 6,
        "properties": {"title": title, "region": region, "metrics": metrics, "stat": stat, "period": 300, "view": "timeSeries"},
    }


def dashboard_body(regions: Sequence[DashboardRegion]) -> str:
    """One row per region: node CPU, API 5xx, database connections / lag, Redis memory, Kafka disk."""
    widgets: list[dict[str, Any]] = []
    for row, r in enumerate(regions):
        y = row * ROW_HEIGHT  # a 1-unit title and two 6-unit widget rows: 13, or the rows overlap
        widgets.append({
            "type": "text", "x": 0, "y": y, "width": 24, "height": 1,
            "properties": {"markdown": f"## {r.region} (managed by cdktf: edit constructs_lib/observability.py, not the console)"},
        })
        y += 1
        widgets.append(_widget("EKS node CPU %", r.region, [["ContainerInsights", "node_cpu_utilization", "ClusterName", r.cluster_name]], 0, y))
        widgets.append(_widget("EKS failed nodes", r.region, [["ContainerInsights", "cluster_failed_node_count", "ClusterName", r.cluster_name]], 8, y, "Maximum"))
        if r.alb_arn_suffix:
            widgets.append(_widget("API target 5xx", r.region, [["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "LoadBalancer", r.alb_arn_suffix]], 16, y, "Sum"))
        y += 6
        if r.databases:
            widgets.append(_widget("RDS connections", r.region, [["AWS/RDS", "DatabaseConnections", "DBInstanceIdentifier", d] for d in r.databases], 0, y, "Maximum"))
        if r.redis_group:
            widgets.append(_widget("Redis memory %", r.region, [["AWS/ElastiCache", "DatabaseMemoryUsagePercentage", "CacheClusterId", f"{r.redis_group}-{i:03d}"] for i in range(1, r.redis_members + 1)], 8, y, "Maximum"))
        if r.kafka_cluster:
            widgets.append(_widget("Kafka disk used %", r.region, [["AWS/Kafka", "KafkaDataLogsDiskUsed", "Cluster Name", r.kafka_cluster, "Broker ID", str(b)] for b in range(1, r.kafka_brokers + 1)], 16, y, "Maximum"))
    return json.dumps({"widgets": widgets}, sort_keys=True)
