"""A region's operations: WAF, alarm topic and alarms, X-Ray, EBS snapshots, buckets and payment events.

The core stack's last layer (docs/edge.md). It alarms on what the compute and data layers built, read from
their typed outputs, so an alarm is never created for a resource that does not exist in this region, and
none is missing for one that does. What reads the ingress load balancer (Shield protection, the ALB 5xx
alarm) or needs another region's bucket (S3 replication) lives in the region's ``-edge`` stack, applied
after the load balancer and every region's bucket exist.

Construct ids never contain the region's role: a failover (primary and secondary swapped in config) keeps
every stateful resource's Terraform address.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from constructs import Construct

from constructs_lib.audit import ArchivedLogs, LogArchive, LogArchiveProps
from constructs_lib.common import AccountContext
from constructs_lib.config import EdgeConfig, ObservabilityConfig
from constructs_lib.edge import WebAcl, WebAclProps
from constructs_lib.encryption import KeyPair
from constructs_lib.messaging import PaymentEvents, PaymentEventsProps
from constructs_lib.naming import Naming
from constructs_lib.observability import (
    AlarmSpec,
    AlarmTopic,
    AlarmTopicProps,
    DatabaseTarget,
    RegionalAlarms,
    RegionalAlarmsProps,
    StorageCeilingNotice,
    Tracing,
    TracingProps,
    metric_alarm,
)
from constructs_lib.resilience import EbsSnapshotPolicy, EbsSnapshotPolicyProps
from constructs_lib.storage import (
    ObjectLockRetention,
    SecureBucket,
    SecureBucketProps,
    elb_log_delivery_statements,
    log_delivery_statement,
    log_lifecycle,
)

#: Prefix of the api-gateway ALB's access logs in the region's access-log bucket.
ALB_ACCESS_LOG_PREFIX = "alb"

# ------------------------------------------------------------------------------------------------------
# Deterministic names, shared with the edge and global stacks and the runbooks
# ------------------------------------------------------------------------------------------------------


def alb_name(env: str) -> str:
    """The api-gateway ALB (ingress annotation ``alb.ingress.kubernetes.io/load-balancer-name``)."""
    return Naming(env).name("api")


def alarm_topic_name(env: str) -> str:
    return Naming(env).name("alarms")


def waf_log_group_name(env: str) -> str:
    return f"aws-waf-logs-{Naming(env).name()}"  # WAF requires the aws-waf-logs- prefix


@dataclass(frozen=True)
class OperationsProps:
    """What a region's operations layer is built from."""

    naming: Naming
    account: AccountContext
    region: str
    edge: EdgeConfig
    observability: ObservabilityConfig
    keys: KeyPair
    cluster_name: str
    #: S3 Object Lock of the region's log archive (``audit_logs``).
    log_retention: ObjectLockRetention
    #: The RDS instances here (none in the tertiary region; Aurora members are watched through their cluster).
    databases: tuple[DatabaseTarget, ...] = ()
    db_max_connections: int = 1000
    db_allocated_storage_gb: int = 500
    #: Redis replication groups and Kafka clusters here, with their member counts.
    redis_groups: dict[str, int] = field(default_factory=dict)
    kafka_clusters: dict[str, int] = field(default_factory=dict)
    #: Regions whose data bucket keeps its copy here (``Naming.data_copy_bucket``); default none.
    copies_of: tuple[str, ...] = ()


@dataclass
class Operations:
    """What other stacks read from this layer (``core.outputs.operations``)."""

    #: REGIONAL web ACL for the api-gateway Ingress (annotation alb.ingress.kubernetes.io/wafv2-acl-arn).
    waf_acl_arn: str
    alarm_topic_arn: str
    data_bucket_name: str
    data_bucket_arn: str
    access_log_bucket_name: str
    #: The write-once archive the access-log bucket replicates into.
    log_archive_bucket_name: str
    payment_events_topic_arn: str
    payment_events_queue_arn: str
    payment_events_queue_url: str
    payment_events_dlq_arn: str
    alarm_names: list[str] = field(default_factory=list)
    #: Copies of other regions' data buckets kept here: source region -> bucket name.
    data_copy_buckets: dict[str, str] = field(default_factory=dict)
    #: What runs in this region, by name (the global dashboard shows the same resources as the alarms).
    databases: list[DatabaseTarget] = field(default_factory=list)
    redis_groups: dict[str, int] = field(default_factory=dict)
    kafka_clusters: dict[str, int] = field(default_factory=dict)


class OperationsLayer(Construct):
    """``operations/``: ``waf``, ``alarm-topic``, ``alarms``, ``tracing``, ``ebs-snapshots``, ``access-log-bucket``,
    ``log-archive``, ``data-bucket``, ``payment-events``."""

    def __init__(self, scope: Construct, id: str, props: OperationsProps) -> None:
        super().__init__(scope, id)
        naming, account, region = props.naming, props.account, props.region
        env = naming.env
        data_key = props.keys.data_key_arn
        obs = props.observability

        waf = WebAcl(self, "waf", WebAclProps(
            name=naming.name("waf"),
            scope="REGIONAL",
            rate_limit_per_ip=props.edge.waf_rate_limit_per_ip,
            region=region,
            account=account,
            log_kms_key_arn=data_key,
            log_group_name=waf_log_group_name(env),
            log_retention_days=obs.log_retention_days,
            metric_prefix="GlobalPayWAF",
        ))

        # --- Alarms ---------------------------------------------------------------------------------------
        topic = AlarmTopic(self, "alarm-topic", AlarmTopicProps(
            name=alarm_topic_name(env), kms_key_arn=data_key, region=region, account=account, endpoints=obs.alert_endpoints,
        ))
        alarms = RegionalAlarms(self, "alarms", RegionalAlarmsProps(
            prefix=naming.name(),
            topic_arn=topic.arn,
            cluster_name=props.cluster_name,
            databases=list(props.databases),
            db_max_connections=props.db_max_connections,
            db_allocated_storage_gb=props.db_allocated_storage_gb,
            redis_groups=dict(props.redis_groups),
            kafka_clusters=dict(props.kafka_clusters),
            cpu_threshold_percent=obs.cpu_alarm_threshold_percent,
            db_connections_percent=obs.db_connections_alarm_percent,
            replica_lag_seconds=obs.replica_lag_alarm_seconds,
            db_free_storage_percent=obs.db_free_storage_alarm_percent,
            redis_memory_percent=obs.redis_memory_alarm_percent,
            msk_disk_percent=obs.msk_disk_alarm_percent,
        ))
        alarm_names = [spec.name for spec in alarms.specs.values()]
        if props.databases:
            StorageCeilingNotice(self, "db-storage-ceiling", name=naming.name("db-storage-ceiling"),
                                 identifiers=[d.identifier for d in props.databases], topic_arn=topic.arn)

        # --- Tracing: encryption and sampling (the collector is the cluster's observability add-on) --------
        Tracing(self, "tracing", TracingProps(kms_key_arn=data_key, rule_name=naming.name("payments")[:32],
                                              sample_percent=obs.tracing_sample_percent))

        # --- DR: EBS snapshots, the data bucket and its access logs ----------------------------------------
        EbsSnapshotPolicy(self, "ebs-snapshots", EbsSnapshotPolicyProps(
            role_name=naming.regional("dlm"), cluster_name=props.cluster_name, account=account,
        ))
        log_bucket_name = naming.access_log_bucket()
        access_logs = SecureBucket(self, "access-log-bucket", SecureBucketProps(
            bucket_name=log_bucket_name,
            kms_key_arn="",  # S3 server access logging can only deliver to SSE-S3 buckets
            lifecycle_rules=log_lifecycle("expire-access-logs", keep_days=props.log_retention.days),
            # Every bucket of this environment in this region (data here; static assets and CDN logs from the
            # global stack in us-east-1) logs here, and so does the region's ALB (PCI DSS 10.2).
            policy_statements=(
                log_delivery_statement(log_bucket_name, [naming.name("*")], account.account_id),
                *elb_log_delivery_statements(log_bucket_name, ALB_ACCESS_LOG_PREFIX, region, account.account_id),
            ),
            eventbridge_notifications=True,  # deleted evidence pages (-security stack, PCI DSS 10.3.4)
        ))
        # Neither S3 server access logging nor (by any AWS document) ALB log delivery writes into a bucket with
        # Object Lock: the access logs replicate, within minutes, into the region's write-once archive.
        log_archive = LogArchive(self, "log-archive", LogArchiveProps(
            bucket_name=naming.log_archive_bucket(),
            retention=props.log_retention,
            region=region,
            account=account,
            role_name=naming.regional("log-archive"),
            sources=(ArchivedLogs("access-logs", access_logs),),
            alarm_topic_arn=topic.arn,
            alarm_name_prefix=naming.name("log-archive"),
        ))
        alarm_names.extend(log_archive.alarm_names)
        data_bucket = SecureBucket(self, "data-bucket", SecureBucketProps(
            bucket_name=naming.data_bucket(),
            kms_key_arn=data_key,
            access_log_bucket=access_logs.name,
            access_log_prefix=f"{naming.data_bucket()}/",
            eventbridge_notifications=True,  # GuardDuty Malware Protection scans every new object (-security stack)
        ))

        # Copies of the data buckets of regions without a replication partner (the tertiary region).
        copies = {}
        for source in props.copies_of:
            copy_name = naming.data_copy_bucket(source)
            copies[source] = SecureBucket(self, f"data-copy-{source}", SecureBucketProps(
                bucket_name=copy_name,
                kms_key_arn=data_key,
                access_log_bucket=access_logs.name,
                access_log_prefix=f"{copy_name}/",
            )).name

        # --- Payment events (SNS fan-out to SQS with a DLQ) -----------------------------------------------
        events = PaymentEvents(self, "payment-events", PaymentEventsProps(
            name=naming.name("payment-events"), kms_key_arn=data_key, account=account,
        ))
        dlq_spec = AlarmSpec(
            name=naming.name("payment-events-dlq"),
            description="Payment events failed 5 deliveries and wait in the dead-letter queue: inspect and redrive",
            namespace="AWS/SQS", metric="ApproximateNumberOfMessagesVisible",
            dimensions={"QueueName": naming.name("payment-events-dlq")},
            statistic="Maximum", threshold=0, period=300, treat_missing_data="notBreaching",
        )
        metric_alarm(events, "dlq-alarm", dlq_spec, topic.arn)
        alarm_names.append(dlq_spec.name)

        self.outputs = Operations(
            waf_acl_arn=waf.arn,
            alarm_topic_arn=topic.arn,
            data_bucket_name=data_bucket.name,
            data_bucket_arn=data_bucket.arn,
            access_log_bucket_name=access_logs.name,
            log_archive_bucket_name=log_archive.bucket.name,
            payment_events_topic_arn=events.topic_arn,
            payment_events_queue_arn=events.queue_arn,
            payment_events_queue_url=events.queue_url,
            payment_events_dlq_arn=events.dlq_arn,
            alarm_names=alarm_names,
            data_copy_buckets=copies,
            databases=list(props.databases),
            redis_groups=dict(props.redis_groups),
            kafka_clusters=dict(props.kafka_clusters),
        )
