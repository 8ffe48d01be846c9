"""ECR (guide: "Create ECR Repositories"): the services' repositories in one home region, replicated.

The home region (``registry.home_region``, us-east-1) holds ``globalpay/<service>``: KMS-encrypted with the
data key, immutable tags, scan on push, a lifecycle policy; its replication configuration copies every
``globalpay/`` image to the other regions so each region's nodes pull locally (through their ECR VPC
endpoints). ECR itself creates the replicated repositories in the destination regions; a repository
creation template there (``RegistryReplicaSettings``) gives them the same KMS encryption (that region's
data key), immutability and lifecycle policy. Registry scanning (per region) scans replicas too.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from constructs import Construct

from constructs_lib.common import AccountContext, policy_document, protected
from constructs_lib.config import RegistryConfig
from constructs_lib.naming import Naming
from constructs_lib.providers import aws

PROJECT_PREFIX = "globalpay"


def repository_name(service: str) -> str:
    return f"{PROJECT_PREFIX}/{service}"


def lifecycle_policy(config: RegistryConfig) -> str:
    """Expire untagged images after N days; keep the newest N tagged images (rollbacks need a few)."""
    return json.dumps({
        "rules": [
            {
                "rulePriority": 1,
                "description": f"Expire untagged images after {config.untagged_expiry_days} days",
                "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed",
                              "countUnit": "days", "countNumber": config.untagged_expiry_days},
                "action": {"type": "expire"},
            },
            {
                "rulePriority": 2,
                "description": f"Keep the {config.keep_tagged_images} most recent tagged images",
                "selection": {"tagStatus": "tagged", "tagPatternList": ["*"], "countType": "imageCountMoreThan",
                              "countNumber": config.keep_tagged_images},
                "action": {"type": "expire"},
            },
        ]
    }, sort_keys=True)


class RegistryScanning(Construct):
    """Registry-level scanning of every ``globalpay/`` repository of the region (replicas included)."""

    def __init__(self, scope: Construct, id: str, *, scan_type: str) -> None:
        super().__init__(scope, id)
        frequency = "CONTINUOUS_SCAN" if scan_type == "ENHANCED" else "SCAN_ON_PUSH"
        aws.ecr_registry_scanning_configuration.EcrRegistryScanningConfiguration(
            self,
            "scanning",
            scan_type=scan_type,
            rule=[{
                "scan_frequency": frequency,
                "repository_filter": [{"filter": f"{PROJECT_PREFIX}/*", "filter_type": "WILDCARD"}],
            }],
        )


@dataclass(frozen=True)
class RegistryProps:
    config: RegistryConfig
    naming: Naming
    account: AccountContext
    data_key_arn: str
    #: Regions receiving a copy of every image (every configured region but the home region).
    replica_regions: Sequence[str]


@dataclass
class RegistryOutputs:
    repository_urls: dict[str, str]
    repository_arns: dict[str, str]


class ContainerRegistry(Construct):
    """The home region's repositories and replication rule."""

    def __init__(self, scope: Construct, id: str, props: RegistryProps) -> None:
        super().__init__(scope, id)
        c = props.config
        self.repositories = {}
        for service in c.repositories:
            repo = aws.ecr_repository.EcrRepository(
                self,
                service,
                name=repository_name(service),
                image_tag_mutability="IMMUTABLE",
                encryption_configuration=[{"encryption_type": "KMS", "kms_key": props.data_key_arn}],
                image_scanning_configuration={"scan_on_push": True},
                force_delete=False,
                tags={"Service": service},
                lifecycle=protected(),
            )
            aws.ecr_lifecycle_policy.EcrLifecyclePolicy(
                self, f"{service}-lifecycle", repository=repo.name, policy=lifecycle_policy(c),
            )
            self.repositories[service] = repo
        if props.replica_regions:
            aws.ecr_replication_configuration.EcrReplicationConfiguration(
                self,
                "replication",
                replication_configuration={"rule": [{
                    "destination": [
                        {"region": region, "registry_id": props.account.account_id} for region in props.replica_regions
                    ],
                    "repository_filter": [{"filter": f"{PROJECT_PREFIX}/", "filter_type": "PREFIX_MATCH"}],
                }]},
            )
        self.outputs = RegistryOutputs(
            repository_urls={s: r.repository_url for s, r in self.repositories.items()},
            repository_arns={s: r.arn for s, r in self.repositories.items()},
        )


@dataclass(frozen=True)
class ReplicaSettingsProps:
    config: RegistryConfig
    naming: Naming
    account: AccountContext
    region: str
    data_key_arn: str


class RegistryReplicaSettings(Construct):
    """A repository creation template: what ECR applies to the repositories replication creates here.

    ECR assumes ``custom_role_arn`` to create the repository because the template encrypts with a
    customer-managed key (ECR's service-linked role cannot create grants on our key).
    """

    def __init__(self, scope: Construct, id: str, props: ReplicaSettingsProps) -> None:
        super().__init__(scope, id)
        naming = props.naming
        role = aws.iam_role.IamRole(
            self,
            "role",
            name=naming.regional("ecr-replica-template"),
            assume_role_policy=policy_document([{
                "Effect": "Allow",
                "Principal": {"Service": "ecr.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": props.account.account_id}},
            }]),
        )
        role_policy = aws.iam_role_policy.IamRolePolicy(
            self,
            "role-policy",
            name="create-replicated-repositories",
            role=role.id,
            policy=policy_document([
                {
                    "Effect": "Allow",
                    "Action": ["ecr:CreateRepository", "ecr:ReplicateImage", "ecr:TagResource",
                               "ecr:PutLifecyclePolicy", "ecr:SetRepositoryPolicy"],
                    "Resource": props.account.arn("ecr", props.region, f"repository/{PROJECT_PREFIX}/*"),
                },
                {
                    "Effect": "Allow",
                    "Action": ["kms:CreateGrant", "kms:RetireGrant", "kms:DescribeKey", "kms:GenerateDataKey*", "kms:Decrypt"],
                    "Resource": props.data_key_arn,
                },
            ]),
        )
        self.template = aws.ecr_repository_creation_template.EcrRepositoryCreationTemplate(
            self,
            "template",
            prefix=PROJECT_PREFIX,
            description="Settings of the globalpay/ repositories ECR replication creates in this region",
            applied_for=["REPLICATION"],
            image_tag_mutability="IMMUTABLE",
            encryption_configuration=[{"encryption_type": "KMS", "kms_key": props.data_key_arn}],
            lifecycle_policy=lifecycle_policy(props.config),
            custom_role_arn=role.arn,
            resource_tags={"Project": "GlobalPay", "ManagedBy": "ecr-replication"},
            # ECR assumes the role on the first replicated push: its permissions must exist by then.
            depends_on=[role_policy],
        )
