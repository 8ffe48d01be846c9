"""Threat detection and findings (PCI DSS 5.2-5.3, 10.4.1.1, 11.3.1, 11.5.1-11.5.2, 12.10.5), one region at a time.

* GuardDuty: a detector with the five protections the platform needs (EKS audit logs, runtime monitoring with
  the agent managed by GuardDuty, RDS login events, S3 data events, EBS malware scans), and Malware
  Protection for S3 on the data buckets (every new object scanned, the verdict tagged on the object).
* Security Hub: the PCI DSS v4.0.1 and AWS Foundational Security Best Practices standards; the origin region
  aggregates every other region's findings.
* Inspector v2 for EC2 and ECR (the registry's enhanced scanning is Inspector), IAM Access Analyzer.
* Routing: EventBridge rules send GuardDuty findings of medium severity and above, new critical and high Security
  Hub findings, newly failed PCI DSS controls and critical Inspector findings to the region's security topic,
  which every alert endpoint subscribes (docs/detection.md says who acts on what).

In ``organization`` mode the landing zone's delegated administrator owns some of these services
(``SecurityConfig.organization_services``). This module then creates nothing for them and asserts them
instead: a GuardDuty detector must exist in the region (data source: the plan fails without one), and AWS
Config managed rules report GuardDuty and Security Hub as enabled (NON_COMPLIANT otherwise).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from constructs import Construct

from constructs_lib.common import AccountContext, assume_role_policy, policy_document
from constructs_lib.naming import Naming
from constructs_lib.observability import AlarmSpec, metric_alarm
from constructs_lib.providers import aws

#: GuardDuty protection plans, by the feature names of UpdateDetector (GuardDuty API reference,
#: DetectorFeatureConfiguration). RUNTIME_MONITORING supersedes EKS_RUNTIME_MONITORING (the two are mutually
#: exclusive); its EKS_ADDON_MANAGEMENT lets GuardDuty install and update the security agent add-on itself.
GUARDDUTY_FEATURES: dict[str, tuple[str, ...]] = {
    "EKS_AUDIT_LOGS": (),
    "RUNTIME_MONITORING": ("EKS_ADDON_MANAGEMENT",),
    "RDS_LOGIN_EVENTS": (),
    "S3_DATA_EVENTS": (),
    "EBS_MALWARE_PROTECTION": (),
}

#: Security Hub standards subscribed in every region (Security Hub User Guide, "Standards reference").
PCI_DSS_STANDARD = "standards/pci-dss/v/4.0.1"
FSBP_STANDARD = "standards/aws-foundational-security-best-practices/v/1.0.0"
SECURITY_HUB_STANDARDS = {"pci-dss": PCI_DSS_STANDARD, "fsbp": FSBP_STANDARD}

#: Inspector v2 scans (resource types of Enable): the nodes, the images, and the role manager's Lambda function
#: (its packages and its code: Security Hub Inspector.3 and Inspector.4).
INSPECTOR_RESOURCE_TYPES = ("EC2", "ECR", "LAMBDA", "LAMBDA_CODE")

#: The EventBridge rule GuardDuty creates for a Malware Protection plan (the role may only manage those).
MALWARE_RULE_PREFIX = "DO-NOT-DELETE-AmazonGuardDutyMalwareProtectionS3"


def standard_arn(partition: str, region: str, standard: str) -> str:
    return f"arn:{partition}:securityhub:{region}::{standard}"


# ------------------------------------------------------------------------------------------------------
# GuardDuty
# ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScannedBucket:
    """A bucket whose new objects GuardDuty scans for malware, and the key its objects are encrypted with."""

    name: str
    kms_key_arn: str
    #: Construct id of the bucket's protection plan (part of its Terraform address: never derived from the
    #: bucket's name, which carries the account id). Default: "data", the region's data bucket.
    id: str = "data"


@dataclass(frozen=True)
class ThreatDetectionProps:
    naming: Naming
    account: AccountContext
    region: str
    #: The landing zone owns GuardDuty: assert a detector instead of creating one (default: False).
    organization_owned: bool = False
    #: Buckets scanned by Malware Protection for S3 (default none).
    scanned_buckets: Sequence[ScannedBucket] = ()


class ThreatDetection(Construct):
    """``guardduty/``: the region's detector and its features, and Malware Protection for S3 on the data buckets."""

    def __init__(self, scope: Construct, id: str, props: ThreatDetectionProps) -> None:
        super().__init__(scope, id)
        self.features: dict[str, Any] = {}
        if props.organization_owned:
            # Prerequisite asserted: planning fails in a region where the organization enabled no detector.
            self.detector_id: str = aws.data_aws_guardduty_detector.DataAwsGuarddutyDetector(self, "detector").id
        else:
            detector = aws.guardduty_detector.GuarddutyDetector(
                self, "detector", enable=True, finding_publishing_frequency="FIFTEEN_MINUTES",
            )
            self.detector_id = detector.id
            for feature, extras in GUARDDUTY_FEATURES.items():
                self.features[feature] = aws.guardduty_detector_feature.GuarddutyDetectorFeature(
                    self,
                    feature.lower().replace("_", "-"),
                    detector_id=detector.id,
                    name=feature,
                    status="ENABLED",
                    additional_configuration=[{"name": extra, "status": "ENABLED"} for extra in extras] or None,
                )
        if props.scanned_buckets:
            self._malware_protection(props)

    def _malware_protection(self, props: ThreatDetectionProps) -> None:
        """One plan per bucket, with the service role GuardDuty uses (GuardDuty User Guide, Malware Protection
        for S3, "Create or use an existing IAM PassRole policy": exactly its statements, scoped to the buckets)."""
        account, region, partition = props.account, props.region, props.account.partition
        rule_arn = f"arn:{partition}:events:{region}:{account.account_id}:rule/{MALWARE_RULE_PREFIX}*"
        buckets = [f"arn:{partition}:s3:::{b.name}" for b in props.scanned_buckets]
        objects = [f"{arn}/*" for arn in buckets]
        role = aws.iam_role.IamRole(
            self,
            "malware-protection-role",
            name=props.naming.regional("guardduty-malware"),
            description="GuardDuty Malware Protection for S3: scans and tags new objects of the data buckets",
            assume_role_policy=assume_role_policy("malware-protection-plan.guardduty.amazonaws.com", source_account=account.account_id),
        )
        permissions = aws.iam_role_policy.IamRolePolicy(
            self,
            "malware-protection-policy",
            role=role.name,
            name="malware-protection-for-s3",
            policy=policy_document([
                {"Sid": "ManageTheScanRule", "Effect": "Allow",
                 "Action": ["events:PutRule", "events:DeleteRule", "events:PutTargets", "events:RemoveTargets"],
                 "Resource": rule_arn,
                 "Condition": {"StringLike": {"events:ManagedBy": "malware-protection-plan.guardduty.amazonaws.com"}}},
                {"Sid": "WatchTheScanRule", "Effect": "Allow", "Action": ["events:DescribeRule", "events:ListTargetsByRule"],
                 "Resource": rule_arn},
                {"Sid": "TagScanResults", "Effect": "Allow",
                 "Action": ["s3:PutObjectTagging", "s3:GetObjectTagging", "s3:PutObjectVersionTagging", "s3:GetObjectVersionTagging"],
                 "Resource": objects},
                {"Sid": "EnableObjectEvents", "Effect": "Allow", "Action": ["s3:PutBucketNotification", "s3:GetBucketNotification"],
                 "Resource": buckets},
                {"Sid": "ValidateAccess", "Effect": "Allow", "Action": "s3:PutObject",
                 "Resource": [f"{arn}/malware-protection-resource-validation-object" for arn in buckets]},
                {"Sid": "CheckBucketOwnership", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": buckets},
                {"Sid": "ReadObjectsToScan", "Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectVersion"], "Resource": objects},
                {"Sid": "DecryptObjectsToScan", "Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                 "Resource": sorted({b.kms_key_arn for b in props.scanned_buckets}),
                 "Condition": {"StringLike": {"kms:ViaService": f"s3.{region}.amazonaws.com"}}},
            ]),
        )
        self.malware_protection_role_arn: str = role.arn
        self.malware_plans = {
            b.name: aws.guardduty_malware_protection_plan.GuarddutyMalwareProtectionPlan(
                self,
                f"malware-protection-{b.id}",
                role=role.arn,
                protected_resource=[{"s3_bucket": [{"bucket_name": b.name}]}],
                actions=[{"tagging": [{"status": "ENABLED"}]}],
                # GuardDuty validates the role's permissions when the plan is created (aws_rules AWS002).
                depends_on=[role, permissions],
            )
            for b in props.scanned_buckets
        }


# ------------------------------------------------------------------------------------------------------
# Security Hub, Inspector, Access Analyzer
# ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SecurityPostureProps:
    naming: Naming
    account: AccountContext
    region: str
    #: Regions whose findings this region aggregates (the origin region: every other one; default none).
    aggregated_regions: Sequence[str] = ()
    #: The landing zone owns Security Hub (its central configuration subscribes the standards): assert instead.
    organization_owned: bool = False
    #: The landing zone owns GuardDuty: a Config rule reports the detector (default: False).
    guardduty_organization_owned: bool = False
    #: The landing zone owns Inspector / Access Analyzer (default: False: created here).
    inspector_organization_owned: bool = False
    access_analyzer_organization_owned: bool = False


class SecurityPosture(Construct):
    """``posture/``: Security Hub with its standards (and the aggregator), Inspector, Access Analyzer, and the
    AWS Config rules that assert what the organization owns."""

    def __init__(self, scope: Construct, id: str, props: SecurityPostureProps) -> None:
        super().__init__(scope, id)
        partition, region = props.account.partition, props.region
        self.standards: dict[str, Any] = {}
        self.assertions: dict[str, Any] = {}
        if props.organization_owned:
            self.assertions["securityhub"] = _managed_rule(self, "securityhub-enabled", props.naming, "SECURITYHUB_ENABLED")
        else:
            hub = aws.securityhub_account.SecurityhubAccount(
                self,
                "hub",
                enable_default_standards=False,  # exactly the two standards below, nothing implicit
                control_finding_generator="SECURITY_CONTROL",  # one finding per control across standards
                auto_enable_controls=True,
            )
            for key, standard in SECURITY_HUB_STANDARDS.items():
                self.standards[key] = aws.securityhub_standards_subscription.SecurityhubStandardsSubscription(
                    self, f"standard-{key}", standards_arn=standard_arn(partition, region, standard), depends_on=[hub],
                )
            if props.aggregated_regions:
                self.aggregator = aws.securityhub_finding_aggregator.SecurityhubFindingAggregator(
                    self,
                    "finding-aggregator",
                    linking_mode="SPECIFIED_REGIONS",
                    specified_regions=sorted(props.aggregated_regions),
                    depends_on=[hub],
                )
        if props.guardduty_organization_owned:
            self.assertions["guardduty"] = _managed_rule(self, "guardduty-enabled", props.naming, "GUARDDUTY_ENABLED_CENTRALIZED")
        if not props.inspector_organization_owned:
            aws.inspector2_enabler.Inspector2Enabler(
                self, "inspector", account_ids=[props.account.account_id], resource_types=list(INSPECTOR_RESOURCE_TYPES),
            )
        if not props.access_analyzer_organization_owned:
            aws.accessanalyzer_analyzer.AccessanalyzerAnalyzer(
                self, "access-analyzer", analyzer_name=props.naming.regional("access-analyzer"), type="ACCOUNT",
            )


def _managed_rule(scope: Construct, id: str, naming: Naming, identifier: str) -> Any:
    """An AWS Config managed rule (periodic or change-triggered as AWS defines it) named ``globalpay-<env>-<id>``."""
    return aws.config_config_rule.ConfigConfigRule(
        scope,
        f"assert-{id}",
        name=naming.name(id),
        description=f"Asserts the organization-owned prerequisite {identifier} (docs/runbooks/deploy.md)",
        source={"owner": "AWS", "source_identifier": identifier},
        maximum_execution_frequency="TwentyFour_Hours" if identifier in PERIODIC_RULES else None,
    )


#: Managed rules that only run periodically (AWS Config Developer Guide, each rule's "Trigger type").
PERIODIC_RULES = frozenset({"GUARDDUTY_ENABLED_CENTRALIZED", "SECURITYHUB_ENABLED", "MULTI_REGION_CLOUD_TRAIL_ENABLED"})


# ------------------------------------------------------------------------------------------------------
# Findings to people
# ------------------------------------------------------------------------------------------------------


def finding_patterns(region: str, guardduty_min_severity: int, evidence_buckets: Sequence[str] = ()) -> dict[str, dict[str, Any]]:
    """Rule id -> EventBridge event pattern of the findings a person must see (EventBridge User Guide, "Event
    patterns"; the event shapes of GuardDuty, Security Hub and Inspector in their user guides).

    Security Hub rules match findings of this region only (``Region``): the aggregation region also receives the
    other regions' findings, which their own region already routes. Findings Security Hub imports from GuardDuty
    and Inspector are left to those services' rules, so one finding pages once.

    ``evidence_buckets`` (this region's log, trail, configuration and state buckets, which send their object
    events to EventBridge): any object deleted other than by the bucket's lifecycle expiry pages, a change
    detection on audit logs (PCI DSS 10.3.4). Terraform's own lock files (``.tflock``, S3-native state locking)
    come and go on every run and are left out.
    """
    imported = {"source": ["aws.securityhub"], "detail-type": ["Security Hub Findings - Imported"]}
    active_new = {"Region": [region], "RecordState": ["ACTIVE"], "Workflow": {"Status": ["NEW"]}}
    patterns: dict[str, dict[str, Any]] = {
        "guardduty": {
            "source": ["aws.guardduty"],
            "detail-type": ["GuardDuty Finding"],
            "detail": {"severity": [{"numeric": [">=", guardduty_min_severity]}]},
        },
        "securityhub-critical-high": {
            **imported,
            "detail": {"findings": {
                **active_new,
                "Severity": {"Label": ["CRITICAL", "HIGH"]},
                "ProductName": [{"anything-but": ["GuardDuty", "Inspector"]}],
            }},
        },
        "securityhub-pci-failed": {
            **imported,
            "detail": {"findings": {
                **active_new,
                "Compliance": {"Status": ["FAILED"], "AssociatedStandards": {"StandardsId": [PCI_DSS_STANDARD]}},
                # critical and high ones are routed by the rule above
                "Severity": {"Label": [{"anything-but": ["CRITICAL", "HIGH"]}]},
            }},
        },
        "inspector-critical": {
            "source": ["aws.inspector2"],
            "detail-type": ["Inspector2 Finding"],
            "detail": {"severity": ["CRITICAL"], "status": ["ACTIVE"]},
        },
    }
    if evidence_buckets:
        patterns["evidence-deleted"] = {
            "source": ["aws.s3"],
            "detail-type": ["Object Deleted"],
            "detail": {
                "bucket": {"name": sorted(evidence_buckets)},
                "reason": [{"anything-but": ["Lifecycle Expiration"]}],
                "object": {"key": [{"anything-but": {"suffix": ".tflock"}}]},
            },
        }
    return patterns


@dataclass(frozen=True)
class FindingRoutingProps:
    naming: Naming
    region: str
    #: The region's security topic (every alert endpoint subscribes it).
    topic_arn: str
    guardduty_min_severity: int = 4
    #: Buckets of this region whose deleted objects page (evidence; see ``finding_patterns``). Default none.
    evidence_buckets: Sequence[str] = ()
    #: Topic of the alarm on failed deliveries (the region's alarm topic; a broken route must page too).
    alarm_topic_arn: str = ""
    #: Extra descriptions per rule id, e.g. the runbook to follow (default: docs/runbooks/security-findings.md).
    runbook: str = "docs/runbooks/security-findings.md"
    patterns: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


class FindingRouting(Construct):
    """``routing/``: one EventBridge rule per kind of finding, each delivering to the security topic, and an alarm
    when EventBridge fails to deliver (a KMS or topic-policy mistake shows only in ``FailedInvocations``)."""

    def __init__(self, scope: Construct, id: str, props: FindingRoutingProps) -> None:
        super().__init__(scope, id)
        patterns = props.patterns or finding_patterns(props.region, props.guardduty_min_severity, props.evidence_buckets)
        self.rules: dict[str, Any] = {}
        for rule_id, pattern in patterns.items():
            name = props.naming.name("findings", rule_id)
            rule = aws.cloudwatch_event_rule.CloudwatchEventRule(
                self,
                rule_id,
                name=name,
                description=f"{rule_id} findings to the security topic; runbook: {props.runbook}",
                event_pattern=json.dumps(pattern, sort_keys=True),
            )
            aws.cloudwatch_event_target.CloudwatchEventTarget(
                self, f"{rule_id}-target", rule=rule.name, target_id="security-topic", arn=props.topic_arn,
                retry_policy={"maximum_event_age_in_seconds": 86400, "maximum_retry_attempts": 185},
            )
            self.rules[rule_id] = rule
            if props.alarm_topic_arn:
                metric_alarm(self, f"{rule_id}-failed-deliveries", AlarmSpec(
                    name=f"{name}-failed-deliveries",
                    description=f"EventBridge could not deliver {rule_id} findings to the security topic (key or topic policy): findings are not reaching anyone",
                    namespace="AWS/Events",
                    metric="FailedInvocations",
                    dimensions={"RuleName": name},
                    statistic="Sum",
                    threshold=0,
                    treat_missing_data="notBreaching",
                ), props.alarm_topic_arn)
