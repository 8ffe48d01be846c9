"""WAF, Shield, alarms, X-Ray, DR and messaging of a region (issue 5; design in docs/edge.md).

Runs after the compute and data layers. It addresses their resources by the deterministic names those layers
use (``globalpay-<env>-cluster``, ``-primary``, ``-redis``, ``-kafka``, the ALB ``globalpay-<env>-api``), so it
works whether or not they hand back objects. Where the data layer is built, the databases, Redis groups and
Kafka clusters of this stack are read from the stack itself (their configured identifiers), so an alarm is
never created for a resource that does not exist in this region, and none is missing for one that does.

Construct ids never contain the region's role: a failover (primary and secondary swapped in config) keeps
every stateful resource's Terraform address; only the replication configuration moves to the new primary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from constructs_lib.edge import ShieldAdvancedProtection, WebAcl, WebAclProps
from constructs_lib.messaging import PaymentEvents, PaymentEventsProps
from constructs_lib.naming import Naming
from constructs_lib.observability import (
    AlarmSpec,
    AlarmTopic,
    AlarmTopicProps,
    DatabaseTarget,
    RegionalAlarms,
    RegionalAlarmsProps,
    Tracing,
    TracingProps,
    metric_alarm,
)
from constructs_lib.providers import aws
from constructs_lib.resilience import (
    S3_RTC_MINUTES,
    BucketReplication,
    BucketReplicationProps,
    EbsSnapshotPolicy,
    EbsSnapshotPolicyProps,
)
from constructs_lib.storage import LifecycleRule, SecureBucket, SecureBucketProps, log_delivery_statement

if TYPE_CHECKING:
    from constructs_lib.config import EnvironmentConfig
    from regions.core import RegionCoreStack


# ------------------------------------------------------------------------------------------------------
# Deterministic names, shared with the global stack and the runbooks
# ------------------------------------------------------------------------------------------------------


def alb_name(env: str) -> str:
    """The api-gateway ALB (ingress annotation ``alb.ingress.kubernetes.io/load-balancer-name``)."""
    return Naming(env).name("api")


def data_bucket_name(env: str, region: str) -> str:
    return Naming(env, region).regional("data")


def access_log_bucket_name(env: str, region: str) -> str:
    return Naming(env, region).regional("access-logs")


def alarm_topic_name(env: str) -> str:
    return Naming(env).name("alarms")


def waf_log_group_name(env: str) -> str:
    return f"aws-waf-logs-{Naming(env).name()}"  # WAF requires the aws-waf-logs- prefix


@dataclass
class EdgeLayer:
    """What other layers and stacks read from this one (``core.edge``)."""

    #: REGIONAL web ACL for the api-gateway Ingress (annotation alb.ingress.kubernetes.io/wafv2-acl-arn).
    waf_acl_arn: str
    alarm_topic_arn: str
    data_bucket_name: str
    data_bucket_arn: str
    access_log_bucket_name: str
    payment_events_topic_arn: str
    payment_events_queue_arn: str
    payment_events_queue_url: str
    payment_events_dlq_arn: str
    #: ARN of the ingress ALB; empty in phase 1 of a new environment (``edge.initial_deploy``).
    alb_arn: str = ""
    alarm_names: list[str] = field(default_factory=list)
    #: What runs in this region, by name (the global dashboard shows the same resources as the alarms).
    databases: list[DatabaseTarget] = field(default_factory=list)
    redis_groups: dict[str, int] = field(default_factory=dict)
    kafka_clusters: dict[str, int] = field(default_factory=dict)


# ------------------------------------------------------------------------------------------------------
# What the data layer built in this stack
# ------------------------------------------------------------------------------------------------------


def _databases(stack: RegionCoreStack) -> list[DatabaseTarget]:
    """The RDS instances the data layer built here (none in the tertiary region; Aurora members are watched
    through their cluster's own metrics, not these per-instance alarms)."""
    database = stack.data.database
    if database is None or database.cluster_identifier:
        return []
    replicas = set(database.replica_identifiers)
    return sorted((DatabaseTarget(ident, ident in replicas) for ident in database.instance_identifiers),
                  key=lambda d: d.identifier)


def _redis_groups(stack: RegionCoreStack) -> dict[str, int]:
    return {stack.data.cache.replication_group_id: stack.config.cache.num_cache_clusters}


def _kafka_clusters(stack: RegionCoreStack) -> dict[str, int]:
    return {stack.data.kafka.cluster_name: stack.config.kafka.broker_count}


# ------------------------------------------------------------------------------------------------------
# The layer
# ------------------------------------------------------------------------------------------------------


def add_edge_and_observability(stack: RegionCoreStack) -> EdgeLayer:
    config: EnvironmentConfig = stack.config
    env, region, naming, account = config.name, stack.region, stack.naming, stack.account
    data_key = stack.keys.data_key_arn
    obs = config.observability

    # --- WAF (REGIONAL) ------------------------------------------------------------------------------
    waf = WebAcl(
        stack,
        "waf",
        WebAclProps(
            name=naming.name("waf"),
            scope="REGIONAL",
            rate_limit_per_ip=config.edge.waf_rate_limit_per_ip,
            region=region,
            account=account,
            log_kms_key_arn=data_key,
            log_group_name=waf_log_group_name(env),
            log_retention_days=obs.log_retention_days,
            metric_prefix="GlobalPayWAF",
        ),
    )

    # --- The ingress ALB (created by the -k8s stack) --------------------------------------------------
    alb = None
    if not config.edge.initial_deploy:
        alb = aws.data_aws_lb.DataAwsLb(stack, "ingress-alb", name=alb_name(env))
        if config.edge.shield_advanced:
            ShieldAdvancedProtection(stack, "shield-alb", name=naming.name("alb-protection"), resource_arn=alb.arn)

    # --- Alarms ---------------------------------------------------------------------------------------
    topic = AlarmTopic(
        stack,
        "alarm-topic",
        AlarmTopicProps(name=alarm_topic_name(env), kms_key_arn=data_key, region=region, account=account, email=obs.alarm_email),
    )
    databases, redis_groups, kafka_clusters = _databases(stack), _redis_groups(stack), _kafka_clusters(stack)
    alarms = RegionalAlarms(
        stack,
        "alarms",
        RegionalAlarmsProps(
            prefix=naming.name(),
            topic_arn=topic.arn,
            cluster_name=stack.cluster_name,
            databases=databases,
            db_max_connections=config.database.max_connections,
            db_allocated_storage_gb=config.database.allocated_storage_gb,
            redis_groups=redis_groups,
            kafka_clusters=kafka_clusters,
            alb_arn_suffix=alb.arn_suffix if alb is not None else "",
            cpu_threshold_percent=obs.cpu_alarm_threshold_percent,
            alb_5xx_threshold=obs.alb_5xx_alarm_threshold,
            db_connections_percent=obs.db_connections_alarm_percent,
            replica_lag_seconds=obs.replica_lag_alarm_seconds,
            db_free_storage_percent=obs.db_free_storage_alarm_percent,
            redis_memory_percent=obs.redis_memory_alarm_percent,
            msk_disk_percent=obs.msk_disk_alarm_percent,
        ),
    )
    alarm_names = [spec.name for spec in alarms.specs.values()]

    # --- Tracing --------------------------------------------------------------------------------------
    Tracing(stack, "tracing", TracingProps(kms_key_arn=data_key, rule_name=naming.name("payments")[:32],
                                           sample_percent=obs.tracing_sample_percent))

    # --- DR: EBS snapshots, data bucket, replication to the secondary region --------------------------
    EbsSnapshotPolicy(
        stack,
        "ebs-snapshots",
        EbsSnapshotPolicyProps(role_name=naming.regional("dlm"), cluster_name=stack.cluster_name, account=account),
    )
    log_bucket_name = access_log_bucket_name(env, region)
    access_logs = SecureBucket(
        stack,
        "access-log-bucket",
        SecureBucketProps(
            bucket_name=log_bucket_name,
            kms_key_arn="",  # S3 server access logging can only deliver to SSE-S3 buckets
            lifecycle_rules=(LifecycleRule(id="expire-access-logs", expiration_days=400, noncurrent_version_expiration_days=30),),
            # Every bucket of this environment in this region (data here; static assets and CDN logs from the
            # global stack in us-east-1) logs here.
            policy_statements=(log_delivery_statement(log_bucket_name, [naming.name("*")], account.account_id),),
        ),
    )
    data_bucket = SecureBucket(
        stack,
        "data-bucket",
        SecureBucketProps(
            bucket_name=data_bucket_name(env, region),
            kms_key_arn=data_key,
            access_log_bucket=access_logs.name,
            access_log_prefix=f"{data_bucket_name(env, region)}/",
        ),
    )
    if stack.role == "primary" and not config.edge.initial_deploy:
        destination = config.secondary_region
        replication = BucketReplication(
            stack,
            "data-replication",
            BucketReplicationProps(
                source=data_bucket,
                source_region=region,
                source_kms_key_arn=data_key,
                destination_bucket_name=data_bucket_name(env, destination),
                destination_region=destination,
                destination_kms_alias=naming.alias("data"),
                account=account,
                role_name=naming.regional("s3-replication"),
            ),
        )
        rule_id = f"replicate-to-{destination}"
        replication_dims = {"SourceBucket": data_bucket_name(env, region), "DestinationBucket": data_bucket_name(env, destination), "RuleId": rule_id}
        for cid, spec in {
            "replication-failed": AlarmSpec(
                name=naming.name("data-replication-failed"),
                description=f"Objects of {data_bucket_name(env, region)} failed to replicate to {destination}",
                namespace="AWS/S3", metric="OperationsFailedReplication", dimensions=replication_dims,
                statistic="Sum", threshold=0, period=300, treat_missing_data="notBreaching",
            ),
            "replication-latency": AlarmSpec(
                name=naming.name("data-replication-latency"),
                description=f"Replication to {destination} is slower than S3 RTC's {S3_RTC_MINUTES} minutes",
                namespace="AWS/S3", metric="ReplicationLatency", dimensions=replication_dims,
                statistic="Maximum", threshold=S3_RTC_MINUTES * 60, period=300, evaluation_periods=2,
                treat_missing_data="notBreaching",
            ),
        }.items():
            metric_alarm(replication, cid, spec, topic.arn)
            alarm_names.append(spec.name)

    # --- Payment events (SNS fan-out to SQS with a DLQ) -----------------------------------------------
    events = PaymentEvents(stack, "payment-events", PaymentEventsProps(name=naming.name("payment-events"), kms_key_arn=data_key, account=account))
    dlq_spec = AlarmSpec(
        name=naming.name("payment-events-dlq"),
        description="Payment events failed 5 deliveries and wait in the dead-letter queue: inspect and redrive",
        namespace="AWS/SQS", metric="ApproximateNumberOfMessagesVisible",
        dimensions={"QueueName": naming.name("payment-events-dlq")},
        statistic="Maximum", threshold=0, period=300, treat_missing_data="notBreaching",
    )
    metric_alarm(events, "dlq-alarm", dlq_spec, topic.arn)
    alarm_names.append(dlq_spec.name)

    return EdgeLayer(
        waf_acl_arn=waf.arn,
        alarm_topic_arn=topic.arn,
        data_bucket_name=data_bucket.name,
        data_bucket_arn=data_bucket.arn,
        access_log_bucket_name=access_logs.name,
        payment_events_topic_arn=events.topic_arn,
        payment_events_queue_arn=events.queue_arn,
        payment_events_queue_url=events.queue_url,
        payment_events_dlq_arn=events.dlq_arn,
        alb_arn=alb.arn if alb is not None else "",
        alarm_names=alarm_names,
        databases=databases,
        redis_groups=redis_groups,
        kafka_clusters=kafka_clusters,
    )
