"""AWS Config: what every resource looked like and when it changed (PCI DSS 1.2.7, 2.2, 10.2.1.7, 11.5.2), and the
PCI DSS conformance pack that evaluates it continuously.

Per region: a configuration recorder of every supported resource type (global types such as IAM only in the
origin region, which records them for the account), a delivery channel into the central configuration bucket
(in the origin region; AWS Config supports cross-Region delivery, PutDeliveryChannel API reference), the
recorder turned on, and AWS's "Operational Best Practices for PCI DSS v4.0" conformance pack: the template
with global resource types where they are recorded, without elsewhere. The pack's rules come from
``constructs_lib/conformance/`` (derived by ``scripts/conformance_pack.py`` from github.com/awslabs/aws-config-rules
at a pinned commit, with source, commit and file hash recorded next to the rules).

The configuration bucket is not an Object Lock bucket: "AWS Config does not support the delivery channel to an
Amazon S3 bucket where object lock is enabled" (AWS CloudFormation template reference,
AWS::Config::DeliveryChannel). It is write-once by policy instead: versioned, and its bucket policy denies
deleting any object or version to every principal (lifecycle expiry after ``history_days`` is S3's own
action, not a request the policy sees). ``tests/test_detection.py`` fails if a delivery channel ever targets a
bucket with Object Lock.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from constructs import Construct

from constructs_lib.common import AccountContext
from constructs_lib.naming import Naming
from constructs_lib.providers import aws
from constructs_lib.storage import LifecycleRule, SecureBucket, SecureBucketProps

CONFORMANCE_DIR = Path(__file__).with_name("conformance")
#: The PCI DSS packs (``scripts/conformance_pack.py`` TEMPLATES): with global resource types, and without.
PCI_PACK_WITH_GLOBAL = "pci-dss-v4.0-including-global"
PCI_PACK_WITHOUT_GLOBAL = "pci-dss-v4.0-excluding-global"
#: PutConformancePack accepts a template body of at most 51,200 bytes (AWS Config API reference).
TEMPLATE_BODY_MAX_BYTES = 51_200
#: Prefix of configuration history and snapshots in the bucket (one for every region).
CONFIG_PREFIX = "config"


@cache
def conformance_pack(name: str) -> dict[str, Any]:
    """``{"source": {...}, "template": {"Resources": {...}}}`` of a pack in ``constructs_lib/conformance/``."""
    return json.loads((CONFORMANCE_DIR / f"{name}.json").read_text())


def template_body(name: str) -> str:
    """The pack's template as deployed: JSON (a subset of YAML, which conformance packs are written in)."""
    body = json.dumps(conformance_pack(name)["template"], sort_keys=True, separators=(",", ":"))
    if len(body.encode()) > TEMPLATE_BODY_MAX_BYTES:
        raise ValueError(f"conformance pack {name}: {len(body.encode())} bytes, over PutConformancePack's {TEMPLATE_BODY_MAX_BYTES}")
    return body


def config_role_arn(partition: str, account_id: str) -> str:
    """AWS Config's service-linked role (created once per account, IAM is global)."""
    return f"arn:{partition}:iam::{account_id}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"


@dataclass(frozen=True)
class ConfigurationBucketProps:
    bucket_name: str
    account: AccountContext
    #: The origin region's data key (history and snapshots are encrypted with it).
    kms_key_arn: str
    #: Days configuration history is kept (default 400, more than PCI DSS 10.5.1's year).
    history_days: int = 400
    #: Server access logs go to this bucket (default: none).
    access_log_bucket: str = ""


class ConfigurationBucket(Construct):
    """``config-bucket/``: the central, versioned, delete-denied bucket of every region's configuration history."""

    def __init__(self, scope: Construct, id: str, props: ConfigurationBucketProps) -> None:
        super().__init__(scope, id)
        account = props.account
        arn = f"arn:{account.partition}:s3:::{props.bucket_name}"
        from_this_account = {"StringEquals": {"AWS:SourceAccount": account.account_id}}
        # AWS Config Developer Guide, "Permissions for the Amazon S3 bucket for the AWS Config delivery channel".
        self.bucket = SecureBucket(self, "bucket", SecureBucketProps(
            bucket_name=props.bucket_name,
            kms_key_arn=props.kms_key_arn,
            lifecycle_rules=(LifecycleRule(id="expire-configuration-history", expiration_days=props.history_days,
                                           noncurrent_version_expiration_days=props.history_days),),
            access_log_bucket=props.access_log_bucket,
            eventbridge_notifications=True,  # a deleted history file pages (evidence tamper rule, PCI DSS 10.3.4)
            policy_statements=(
                {"Sid": "ConfigBucketPermissionsCheck", "Effect": "Allow", "Principal": {"Service": "config.amazonaws.com"},
                 "Action": "s3:GetBucketAcl", "Resource": arn, "Condition": from_this_account},
                {"Sid": "ConfigBucketExistenceCheck", "Effect": "Allow", "Principal": {"Service": "config.amazonaws.com"},
                 "Action": "s3:ListBucket", "Resource": arn, "Condition": from_this_account},
                {"Sid": "ConfigDelivery", "Effect": "Allow", "Principal": {"Service": "config.amazonaws.com"},
                 "Action": "s3:PutObject", "Resource": f"{arn}/{CONFIG_PREFIX}/AWSLogs/{account.account_id}/Config/*",
                 "Condition": {"StringEquals": {"AWS:SourceAccount": account.account_id, "s3:x-amz-acl": "bucket-owner-full-control"}}},
                {"Sid": "DenyDeletingConfigurationHistory", "Effect": "Deny", "Principal": "*",
                 "Action": ["s3:DeleteObject", "s3:DeleteObjectVersion"], "Resource": f"{arn}/*"},
            ),
        ))
        self.name: str = self.bucket.name


@dataclass(frozen=True)
class ResourceRecordingProps:
    naming: Naming
    account: AccountContext
    region: str
    #: Record global resource types (IAM users, roles, policies) here: exactly one region does (default False).
    record_global_types: bool = False
    #: Create AWS Config's service-linked role (an account-wide singleton: once, where global types are recorded).
    create_service_role: bool = False
    #: The central configuration bucket and the key its objects are encrypted with (origin region's data key).
    delivery_bucket_name: str = ""
    delivery_kms_key_arn: str = ""
    #: The landing zone owns AWS Config (recorder and delivery channel): only the pack is deployed here, and its
    #: creation fails without a recorder in the region, which makes the prerequisite an assertion.
    organization_owned: bool = False


class ResourceRecording(Construct):
    """``recording/``: ``service-role``, ``recorder``, ``delivery-channel``, ``recorder-status``, ``pci-dss-pack``."""

    def __init__(self, scope: Construct, id: str, props: ResourceRecordingProps) -> None:
        super().__init__(scope, id)
        pack_name = PCI_PACK_WITH_GLOBAL if props.record_global_types else PCI_PACK_WITHOUT_GLOBAL
        after: list[Any] = []
        if not props.organization_owned:
            if props.create_service_role:
                after.append(aws.iam_service_linked_role.IamServiceLinkedRole(
                    self, "service-role", aws_service_name="config.amazonaws.com",
                    description="AWS Config records the account's resources",
                ))
            recorder = aws.config_configuration_recorder.ConfigConfigurationRecorder(
                self,
                "recorder",
                name=props.naming.name("recorder"),
                role_arn=config_role_arn(props.account.partition, props.account.account_id),
                recording_group={
                    "all_supported": True,
                    "include_global_resource_types": props.record_global_types,
                },
                recording_mode={"recording_frequency": "CONTINUOUS"},
                depends_on=after or None,
            )
            channel = aws.config_delivery_channel.ConfigDeliveryChannel(
                self,
                "delivery-channel",
                name=props.naming.name("delivery"),
                s3_bucket_name=props.delivery_bucket_name,
                s3_key_prefix=CONFIG_PREFIX,
                s3_kms_key_arn=props.delivery_kms_key_arn,
                snapshot_delivery_properties={"delivery_frequency": "TwentyFour_Hours"},
                depends_on=[recorder],
            )
            status = aws.config_configuration_recorder_status.ConfigConfigurationRecorderStatus(
                self, "recorder-status", name=recorder.name, is_enabled=True, depends_on=[channel],
            )
            after = [status]
        self.pack_name = pack_name
        self.pack = aws.config_conformance_pack.ConfigConformancePack(
            self,
            "pci-dss-pack",
            name=props.naming.name("pci-dss-v4"),
            template_body=template_body(pack_name),
            depends_on=after or None,
        )
