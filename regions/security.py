"""``globalpay-<env>-<region>-security``: detection and response for one region (docs/detection.md).

GuardDuty with Malware Protection for S3 on the region's data bucket, Security Hub with the PCI DSS v4.0.1 and
AWS Foundational Security Best Practices standards, AWS Config with the PCI DSS conformance pack, Inspector,
IAM Access Analyzer, the EBS encryption defaults, and the security topic with the EventBridge rules that
route findings to it. In the origin region (``database.origin_region``: it never moves on a failover, so no
address does) also the account-wide singletons: the multi-region CloudTrail trail with its write-once
bucket, the central AWS Config bucket, AWS Config's service-linked role, the Security Hub finding aggregator,
S3 account-level Block Public Access, the IAM password policy and the AWS Support role.

A workspace of its own, applied after the region's core stack: it reads the data bucket (malware scans, the
trail's data events), the access-log bucket and the alarm topic from there, and a plan of the platform never
touches detection (nor the reverse). The other regions' security stacks come after the origin's (AWS
Config's role and the configuration bucket). Nothing else depends on it, so the apps are never held up by it.
"""

from __future__ import annotations

from constructs import Construct

from constructs_lib.account_baseline import AccountBaseline, AccountBaselineProps
from constructs_lib.audit import ArchivedLogs, LogArchive, LogArchiveProps, log_retention
from constructs_lib.audit_trail import AuditTrail, AuditTrailProps
from constructs_lib.common import AccountContext
from constructs_lib.config import EnvironmentConfig
from constructs_lib.detection import (
    FindingRouting,
    FindingRoutingProps,
    ScannedBucket,
    SecurityPosture,
    SecurityPostureProps,
    ThreatDetection,
    ThreatDetectionProps,
)
from constructs_lib.encryption import KeyPair
from constructs_lib.naming import Naming
from constructs_lib.observability import AlarmTopic, AlarmTopicProps
from constructs_lib.resource_recording import (
    ConfigurationBucket,
    ConfigurationBucketProps,
    ResourceRecording,
    ResourceRecordingProps,
)
from regions.base import GlobalPayStack
from regions.core import CoreOutputs


def security_stack_name(config: EnvironmentConfig, region: str) -> str:
    return Naming(config.name).stack(region, "security")


def security_topic_name(env: str) -> str:
    return Naming(env).name("security-findings")


def trail_name(env: str) -> str:
    return Naming(env).name("trail")


def _buckets(config: EnvironmentConfig) -> Naming:
    return Naming(config.name, account_id=config.aws_account_id)


def trail_bucket_name(config: EnvironmentConfig) -> str:
    """The naming rule's bucket (account id in the name: S3 bucket names are global)."""
    return _buckets(config).trail_bucket(config.database.origin_region)


def config_bucket_name(config: EnvironmentConfig) -> str:
    return _buckets(config).config_bucket(config.database.origin_region)


def trail_data_event_buckets(config: EnvironmentConfig) -> tuple[str, ...]:
    """Every bucket whose object reads and writes the trail records: the Terraform state (and its replica), each
    region's data bucket and the copies of tertiary regions' data buckets in the origin region."""
    from regions.core import tertiary_regions

    buckets = _buckets(config)
    names = [config.state_bucket, config.state_replica_bucket]
    names += [buckets.data_bucket(r) for r in config.region_names]
    if config.database.origin_region in config.region_names:
        names += [buckets.data_copy_bucket(r) for r in tertiary_regions(config)]
    return tuple(sorted(names))


def evidence_buckets(config: EnvironmentConfig, region: str) -> tuple[str, ...]:
    """The buckets of ``region`` that hold audit evidence or state and send object events to EventBridge: server
    access logs, CloudFront logs, the trail and configuration history (origin), the Terraform state and its
    access logs (``SecureBucketProps.eventbridge_notifications`` on each)."""
    from regions.global_stack import GLOBAL_REGION

    security, buckets = config.security, _buckets(config)
    names = [buckets.access_log_bucket(region), buckets.log_archive_bucket(region)]
    for state_region in {config.state.region, config.state.replica_region}:
        if region == state_region:
            names.append(buckets.state_log_archive_bucket(state_region))
    if region == config.state.region:
        names += [config.state_bucket, config.state_access_log_bucket]
    if region == config.state.replica_region:
        names += [config.state_replica_bucket, config.state_replica_log_bucket]
    if region == GLOBAL_REGION:
        names += [buckets.cdn_log_bucket(), buckets.edge_log_archive_bucket()]
    if region == config.database.origin_region:
        if not security.owned_by_organization("cloudtrail"):
            names.append(trail_bucket_name(config))
        if not security.owned_by_organization("config"):
            names += [config_bucket_name(config), buckets.config_archive_bucket(region)]
    return tuple(sorted(names))


class RegionSecurityStack(GlobalPayStack):
    def __init__(
        self,
        scope: Construct,
        config: EnvironmentConfig,
        core: CoreOutputs,
        *,
        origin_keys: KeyPair,
        backend: str,
    ) -> None:
        """``core``: this region's core stack outputs; ``origin_keys``: the origin region's keys (the
        configuration bucket there is encrypted with its data key)."""
        region = core.region
        super().__init__(scope, security_stack_name(config, region), config=config, region=region, backend=backend)
        naming, env, security = self.naming, config.name, config.security
        origin = region == config.database.origin_region
        account = AccountContext(self, "account")
        data_key = core.keys.data_key_arn
        org = security.owned_by_organization
        # The core stack's values are read by name where one exists (the access-log bucket): the core stack then
        # exports the same outputs in both modes, and a change of security.mode never touches its plan.

        # --- Findings reach people --------------------------------------------------------------------------
        topic = AlarmTopic(self, "security-topic", AlarmTopicProps(
            name=security_topic_name(env), kms_key_arn=data_key, region=region, account=account,
            endpoints=config.observability.alert_endpoints,
        ))
        self.security_topic_arn = topic.arn
        FindingRouting(self, "routing", FindingRoutingProps(
            naming=naming, region=region, topic_arn=topic.arn,
            guardduty_min_severity=security.guardduty_min_severity,
            evidence_buckets=evidence_buckets(config, region),
            alarm_topic_arn=core.operations.alarm_topic_arn,
        ))

        # --- Detection ------------------------------------------------------------------------------------
        ThreatDetection(self, "guardduty", ThreatDetectionProps(
            naming=naming, account=account, region=region,
            organization_owned=org("guardduty"),
            scanned_buckets=(ScannedBucket(_buckets(config).data_bucket(region), data_key),),
        ))
        SecurityPosture(self, "posture", SecurityPostureProps(
            naming=naming, account=account, region=region,
            aggregated_regions=tuple(r for r in config.region_names if r != region) if origin else (),
            organization_owned=org("securityhub"),
            guardduty_organization_owned=org("guardduty"),
            inspector_organization_owned=org("inspector"),
            access_analyzer_organization_owned=org("access_analyzer"),
        ))

        # --- Configuration history and the PCI DSS conformance pack ---------------------------------------
        if origin and not org("config"):
            history = ConfigurationBucket(self, "config-bucket", ConfigurationBucketProps(
                bucket_name=config_bucket_name(config), account=account, kms_key_arn=data_key,
                history_days=security.config_history_days,
                access_log_bucket=_buckets(config).access_log_bucket(region),
            ))
            # AWS Config cannot deliver into a bucket with Object Lock (AWS::Config::DeliveryChannel): its history
            # lands in the bucket above and replicates within minutes into a locked archive, as the access logs do
            # (constructs_lib/audit.py; PCI DSS 10.3.3).
            LogArchive(self, "config-archive", LogArchiveProps(
                bucket_name=_buckets(config).config_archive_bucket(region),
                retention=log_retention(config.audit_logs),
                region=region,
                account=account,
                role_name=naming.regional("config-archive"),
                sources=(ArchivedLogs("config-history", history.bucket, kms_key_arn=data_key),),
                kms_key_arn=data_key,
                alarm_topic_arn=topic.arn,
                alarm_name_prefix=naming.name("config-archive"),
            ))
        ResourceRecording(self, "recording", ResourceRecordingProps(
            naming=naming, account=account, region=region,
            record_global_types=origin, create_service_role=origin,
            delivery_bucket_name=config_bucket_name(config), delivery_kms_key_arn=origin_keys.data_key_arn,
            organization_owned=org("config"),
        ))

        # --- Account baseline and the account's trail (singletons in the origin region) --------------------
        AccountBaseline(self, "baseline", AccountBaselineProps(
            naming=naming, account=account, ebs_kms_key_arn=data_key, account_wide=origin,
        ))
        if origin and not org("cloudtrail"):
            AuditTrail(self, "trail", AuditTrailProps(
                name=trail_name(env),
                bucket_name=trail_bucket_name(config),
                log_group_name=f"/aws/cloudtrail/{naming.name()}",
                role_name=naming.name("cloudtrail-logs"),
                account=account,
                region=region,
                kms_key_arn=data_key,
                object_lock=log_retention(config.audit_logs),
                data_event_buckets=trail_data_event_buckets(config),
                retention_days=security.trail_retention_days,
                log_retention_days=config.observability.log_retention_days,
                access_log_bucket=_buckets(config).access_log_bucket(region),
            ))
