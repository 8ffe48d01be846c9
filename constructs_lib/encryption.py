"""Customer-managed KMS keys: the guide's data key and secrets key, one pair per region.

Key policies are explicit (not the console default) so that a reviewer sees exactly which service may use
which key: the account's IAM administrators manage them; CloudWatch Logs, CloudWatch alarms, SNS,
EventBridge, CloudTrail and AWS Config use them as service principals; every other AWS service (RDS, EBS,
MSK, ElastiCache, S3, ECR, SQS, Secrets Manager, EKS) uses them on behalf of a caller in this account only
(kms:ViaService + kms:CallerAccount, the pattern of AWS-managed keys).

EventBridge is the one service principal granted without a source condition: Amazon SNS does not support
``aws:SourceAccount`` or ``aws:SourceArn`` in the key policy for EventBridge deliveries to an encrypted topic
(Amazon SNS Developer Guide, "Key management", section "Configure AWS KMS permissions": "Adding the
aws:SourceAccount and aws:SourceArn to a AWS KMS policy is not supported for EventBridge-to-encrypted
topics"; AWS's own example for EventBridge targets grants the service without a condition). With one, every
delivery fails and nothing reports it but the rule's ``FailedInvocations`` metric (landing-zone-accelerator
issue 407). ``event_delivery_statement`` is therefore scoped by action only; who may publish is decided by
each topic's policy, which does carry ``aws:SourceArn`` (SNS supports it there).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from constructs import Construct

from constructs_lib.common import AccountContext, policy_document, protected
from constructs_lib.naming import Naming
from constructs_lib.providers import aws

#: Services that encrypt data at rest with the data key.
DATA_KEY_SERVICES = ("ec2", "rds", "kafka", "elasticache", "s3", "ecr", "sqs", "sns", "logs", "dlm", "backup", "xray",
                     "network-firewall")
#: Service principals that publish to our encrypted topics and queues and support ``aws:SourceAccount`` in
#: the key policy: CloudWatch alarms, and SNS delivering to encrypted SQS queues.
SOURCE_SCOPED_PUBLISHERS = ("cloudwatch.amazonaws.com", "sns.amazonaws.com")
#: EventBridge: granted by ``event_delivery_statement`` (no source condition is supported, see above).
EVENTBRIDGE_PRINCIPAL = "events.amazonaws.com"


def event_delivery_statement() -> dict:
    """Key-policy statement letting EventBridge deliver to topics and queues encrypted with the key.

    Exactly the two actions SNS and SQS need to encrypt a message on EventBridge's behalf, and no
    ``aws:SourceAccount`` / ``aws:SourceArn`` condition (unsupported for EventBridge-to-encrypted topics: the
    delivery would fail silently; Amazon SNS Developer Guide, "Key management"). A topic or queue policy
    decides which rules may publish.
    """
    return {
        "Sid": "EventBridgeDeliversToEncryptedTopics",
        "Effect": "Allow",
        "Principal": {"Service": EVENTBRIDGE_PRINCIPAL},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
        "Resource": "*",
    }


def audit_delivery_statements(partition: str, account_id: str) -> list[dict]:
    """Key-policy statements for the audit services that write into our KMS-encrypted buckets.

    * CloudTrail encrypts log files with the key (CloudTrail User Guide, "Configure AWS KMS key policies for
      CloudTrail"): GenerateDataKey* only for this account's trails (encryption context
      ``aws:cloudtrail:arn``), DescribeKey to validate the trail's configuration;
    * AWS Config writes configuration history and snapshots with the key (AWS Config Developer Guide,
      "Permissions for the KMS key used by the delivery channel": the service principal with
      ``AWS:SourceAccount``).
    """
    return [
        {
            "Sid": "CloudTrailEncryptsThisAccountsTrails",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "kms:GenerateDataKey*",
            "Resource": "*",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": account_id},
                "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": f"arn:{partition}:cloudtrail:*:{account_id}:trail/*"},
            },
        },
        {
            "Sid": "CloudTrailDescribesTheKey",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "kms:DescribeKey",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
        },
        {
            "Sid": "ConfigDeliversThisAccountsHistory",
            "Effect": "Allow",
            "Principal": {"Service": "config.amazonaws.com"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
        },
    ]


#: Services that use the secrets key.
SECRETS_KEY_SERVICES = ("secretsmanager", "eks", "rds")


@dataclass(frozen=True)
class KeyPair:
    data_key_arn: str
    data_key_id: str
    secrets_key_arn: str
    secrets_key_id: str


class ManagedKey(Construct):
    """One rotating customer-managed key with an alias and an explicit key policy."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        alias: str,
        description: str,
        region: str,
        account: AccountContext,
        via_services: Sequence[str],
        service_principals: Sequence[str] = (),
        logs_service: bool = False,
        extra_statements: Sequence[dict] = (),
        provider: object = None,
    ) -> None:
        """``provider``: the AWS provider of ``region`` when it is not the stack's default one."""
        super().__init__(scope, id)
        on = {"provider": provider} if provider is not None else {}
        statements: list[dict] = [
            {
                "Sid": "AccountAdministration",
                "Effect": "Allow",
                "Principal": {"AWS": account.root_arn},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "UseThroughAwsServicesOfThisAccount",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                           "kms:CreateGrant", "kms:ListGrants", "kms:DescribeKey"],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {
                        "kms:CallerAccount": account.account_id,
                        "kms:ViaService": [f"{svc}.{region}.amazonaws.com" for svc in via_services],
                    }
                },
            },
        ]
        if logs_service:
            statements.append({
                "Sid": "CloudWatchLogsOfThisAccount",
                "Effect": "Allow",
                "Principal": {"Service": f"logs.{region}.amazonaws.com"},
                "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                "Resource": "*",
                "Condition": {
                    "ArnLike": {"kms:EncryptionContext:aws:logs:arn": account.arn("logs", region, "*")}
                },
            })
        if service_principals:
            statements.append({
                "Sid": "ServicePrincipalsOfThisAccount",
                "Effect": "Allow",
                "Principal": {"Service": list(service_principals)},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceAccount": account.account_id}},
            })
        statements.extend(extra_statements)
        self.key = aws.kms_key.KmsKey(
            self,
            "key",
            description=description,
            enable_key_rotation=True,
            rotation_period_in_days=365,
            deletion_window_in_days=30,
            policy=policy_document(statements),
            lifecycle=protected(),
            **on,
        )
        self.alias = aws.kms_alias.KmsAlias(self, "alias", name=alias, target_key_id=self.key.key_id, **on)
        self.arn: str = self.key.arn
        self.key_id: str = self.key.key_id


class Encryption(Construct):
    """The guide's two keys: ``alias/globalpay-<env>-data`` and ``alias/globalpay-<env>-secrets``."""

    def __init__(self, scope: Construct, id: str, *, naming: Naming, region: str, account: AccountContext) -> None:
        super().__init__(scope, id)
        env = naming.env
        self.data = ManagedKey(
            self,
            "data",
            alias=naming.alias("data"),
            description=f"GlobalPay {env} data encryption key ({region})",
            region=region,
            account=account,
            via_services=DATA_KEY_SERVICES,
            # CloudWatch alarms and SNS publish to our encrypted SNS topics / SQS queues (source-scoped);
            # EventBridge and the audit services (trail, configuration history) have statements of their own.
            service_principals=SOURCE_SCOPED_PUBLISHERS,
            logs_service=True,
            extra_statements=(event_delivery_statement(), *audit_delivery_statements(account.partition, account.account_id)),
        )
        self.secrets = ManagedKey(
            self,
            "secrets",
            alias=naming.alias("secrets"),
            description=f"GlobalPay {env} secrets encryption key ({region})",
            region=region,
            account=account,
            via_services=SECRETS_KEY_SERVICES,
        )
        self.keys = KeyPair(
            data_key_arn=self.data.arn,
            data_key_id=self.data.key_id,
            secrets_key_arn=self.secrets.arn,
            secrets_key_id=self.secrets.key_id,
        )
