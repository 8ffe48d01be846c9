"""The account baseline the Security Hub PCI DSS v4.0.1 standard checks beyond individual resources.

* S3 Block Public Access for the whole account (control S3.1; PCI DSS 1.4.4): a bucket created outside this
  project cannot be made public either.
* EBS encryption by default with the region's data key (EC2.7; PCI DSS 3.5.1): every volume, whoever creates it.
* The IAM account password policy (IAM.7, IAM.11, IAM.12, IAM.14, IAM.16, IAM.17; PCI DSS 8.3.6, 8.3.7, 8.3.9).
  People sign in through the identity provider; the policy governs the few break-glass IAM users.
* A role holding AWSSupportAccess (IAM.18; PCI DSS 12.10.1): incidents are raised with AWS Support by a role,
  not by the root user.

The S3 account block, the password policy and the support role are account-wide singletons (build them once,
``account_wide=True``, in the origin region's security stack); EBS defaults are per region.
"""

from __future__ import annotations

from dataclasses import dataclass

from constructs import Construct

from constructs_lib.common import AccountContext, policy_document
from constructs_lib.naming import Naming
from constructs_lib.providers import aws

#: PCI DSS 8.3.6 asks for 12 characters (Security Hub IAM.7's PCI parameter: at least 12; CIS asks 14, kept here),
#: upper and lower case, digits and symbols; 8.3.7 forbids the last four passwords (IAM.16 checks 24, kept);
#: 8.3.9 changes passwords at least every 90 days (IAM.17).
PASSWORD_POLICY = {
    "minimum_password_length": 14,
    "require_uppercase_characters": True,
    "require_lowercase_characters": True,
    "require_numbers": True,
    "require_symbols": True,
    "password_reuse_prevention": 24,
    "max_password_age": 90,
    "allow_users_to_change_password": True,
    "hard_expiry": False,  # an expired break-glass password is changed at sign-in, not locked for an admin to reset
}

#: The AWS managed policy IAM.18 looks for.
SUPPORT_POLICY = "policy/AWSSupportAccess"


@dataclass(frozen=True)
class AccountBaselineProps:
    naming: Naming
    account: AccountContext
    #: The region's data key: the default key of new EBS volumes.
    ebs_kms_key_arn: str
    #: Build the account-wide singletons here (S3 account block, password policy, support role). Default False.
    account_wide: bool = False


class AccountBaseline(Construct):
    """``baseline/``: ``ebs-encryption``, ``ebs-default-key``; with ``account_wide`` also ``s3-account-public-access-block``,
    ``password-policy``, ``support-role``."""

    def __init__(self, scope: Construct, id: str, props: AccountBaselineProps) -> None:
        super().__init__(scope, id)
        aws.ebs_encryption_by_default.EbsEncryptionByDefault(self, "ebs-encryption", enabled=True)
        aws.ebs_default_kms_key.EbsDefaultKmsKey(self, "ebs-default-key", key_arn=props.ebs_kms_key_arn)
        if not props.account_wide:
            return
        aws.s3_account_public_access_block.S3AccountPublicAccessBlock(
            self,
            "s3-account-public-access-block",
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
        )
        aws.iam_account_password_policy.IamAccountPasswordPolicy(self, "password-policy", **PASSWORD_POLICY)
        role = aws.iam_role.IamRole(
            self,
            "support-role",
            name=props.naming.name("aws-support"),
            description="Opens and manages AWS Support cases (incident response); assumed by the on-call engineers' identity-provider role",
            max_session_duration=3600,
            assume_role_policy=policy_document([{
                "Effect": "Allow",
                "Principal": {"AWS": props.account.root_arn},  # IAM policies of this account decide who may assume it
                "Action": "sts:AssumeRole",
            }]),
        )
        aws.iam_role_policy_attachment.IamRolePolicyAttachment(
            self, "support-access", role=role.name, policy_arn=f"arn:{props.account.partition}:iam::aws:{SUPPORT_POLICY}",
        )
