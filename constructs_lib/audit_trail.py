"""The account's API audit trail (PCI DSS 10.2.1, 10.2.2, 10.3.2-10.3.4, 10.5.1): one multi-region CloudTrail trail.

What it records: every management event of every region (global services included), and S3 data events
(object reads and writes) on the buckets that hold cardholder-adjacent data or the platform's state.
Where it goes: log files, encrypted with the home region's data key and signed every hour (log file
validation: a changed or deleted file is detected), into a write-once bucket of their own (S3 Object Lock
default retention); the same events into a CloudWatch Logs group for search and metric filters.

Object Lock with CloudTrail: CloudTrail writes each log file with a plain PutObject and the bucket's default
retention applies to it (S3 User Guide, "How S3 Object Lock works", "Bucket configuration": a default retention
applies to every new object version placed in the bucket). No AWS page found states a restriction for
CloudTrail, unlike S3 server access logging (S3 User Guide: the destination bucket must not have a default
retention period) and AWS Config (see ``resource_recording``).

An account-wide singleton: build it once, in the origin region's security stack.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from constructs import Construct

from constructs_lib.common import AccountContext, assume_role_policy, policy_document, protected
from constructs_lib.providers import aws
from constructs_lib.storage import LifecycleRule, ObjectLockRetention, SecureBucket, SecureBucketProps


@dataclass(frozen=True)
class AuditTrailProps:
    #: Trail name, e.g. ``globalpay-prod-trail``.
    name: str
    #: The write-once bucket for log files (name unique in S3).
    bucket_name: str
    #: CloudWatch Logs group receiving the events, e.g. ``/aws/cloudtrail/globalpay-prod``.
    log_group_name: str
    #: Role CloudTrail assumes to write into the log group.
    role_name: str
    account: AccountContext
    #: The trail's home region (the stack's region).
    region: str
    #: The home region's data key: log files, the bucket and the log group are encrypted with it.
    kms_key_arn: str
    object_lock: ObjectLockRetention
    #: Buckets whose object-level reads and writes are recorded (S3 data events).
    data_event_buckets: Sequence[str] = ()
    #: Days log files stay in the bucket (default 400, more than PCI DSS 10.5.1's year).
    retention_days: int = 400
    #: Days the log group keeps events (a CloudWatch Logs retention value; default 365).
    log_retention_days: int = 365
    #: Server access logs of the trail bucket go to this bucket (default: none).
    access_log_bucket: str = ""


class AuditTrail(Construct):
    """``trail/``: ``bucket`` (write-once), ``log-group``, ``role``, ``trail``."""

    def __init__(self, scope: Construct, id: str, props: AuditTrailProps) -> None:
        super().__init__(scope, id)
        account, partition = props.account, props.account.partition
        self.trail_arn = f"arn:{partition}:cloudtrail:{props.region}:{account.account_id}:trail/{props.name}"
        bucket_arn = f"arn:{partition}:s3:::{props.bucket_name}"
        source = {"StringEquals": {"aws:SourceArn": self.trail_arn}}
        # The bucket policy of CloudTrail User Guide, "Amazon S3 bucket policy for CloudTrail", with aws:SourceArn.
        self.bucket = SecureBucket(self, "bucket", SecureBucketProps(
            bucket_name=props.bucket_name,
            kms_key_arn=props.kms_key_arn,
            lifecycle_rules=(LifecycleRule(id="expire-trail-logs", expiration_days=props.retention_days,
                                           noncurrent_version_expiration_days=props.retention_days),),
            access_log_bucket=props.access_log_bucket,
            object_lock=props.object_lock,
            eventbridge_notifications=True,  # a deleted log file pages (evidence tamper rule, PCI DSS 10.3.4)
            policy_statements=(
                {"Sid": "CloudTrailAclCheck", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
                 "Action": "s3:GetBucketAcl", "Resource": bucket_arn, "Condition": source},
                {"Sid": "CloudTrailWrite", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
                 "Action": "s3:PutObject", "Resource": f"{bucket_arn}/AWSLogs/{account.account_id}/*",
                 "Condition": {"StringEquals": {"aws:SourceArn": self.trail_arn, "s3:x-amz-acl": "bucket-owner-full-control"}}},
            ),
        ))
        self.log_group = aws.cloudwatch_log_group.CloudwatchLogGroup(
            self,
            "log-group",
            name=props.log_group_name,
            retention_in_days=props.log_retention_days,
            kms_key_id=props.kms_key_arn,
            lifecycle=protected(),  # evidence: a plan never destroys it
        )
        role = aws.iam_role.IamRole(
            self,
            "role",
            name=props.role_name,
            description=f"CloudTrail writes {props.name} events into {props.log_group_name}",
            # The trust of CloudTrail User Guide, "Sending events to CloudWatch Logs" (no source condition there:
            # the role can only write into this one log group).
            assume_role_policy=assume_role_policy("cloudtrail.amazonaws.com"),
        )
        self.role_policy = aws.iam_role_policy.IamRolePolicy(
            self,
            "role-policy",
            role=role.name,
            name="write-trail-events",
            policy=policy_document([{
                "Sid": "WriteTrailEvents",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": f"{self.log_group.arn}:log-stream:*",
            }]),
        )
        selectors: list[dict] = [{
            "name": "Management events, every region",
            "field_selector": [{"field": "eventCategory", "equal_to": ["Management"]}],
        }]
        if props.data_event_buckets:
            selectors.append({
                "name": "S3 object reads and writes of the state and data buckets",
                "field_selector": [
                    {"field": "eventCategory", "equal_to": ["Data"]},
                    {"field": "resources.type", "equal_to": ["AWS::S3::Object"]},
                    {"field": "resources.ARN", "starts_with": [f"arn:{partition}:s3:::{b}/" for b in sorted(props.data_event_buckets)]},
                ],
            })
        self.trail = aws.cloudtrail.Cloudtrail(
            self,
            "trail",
            name=props.name,
            s3_bucket_name=self.bucket.name,
            kms_key_id=props.kms_key_arn,
            is_multi_region_trail=True,
            include_global_service_events=True,
            enable_log_file_validation=True,
            cloud_watch_logs_group_arn=f"{self.log_group.arn}:*",
            cloud_watch_logs_role_arn=role.arn,
            advanced_event_selector=selectors,
            # CloudTrail checks its write access to the bucket and the log group when the trail is created (AWS002).
            depends_on=[self.bucket.policy, self.role_policy],
        )
