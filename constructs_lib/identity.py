"""One IAM role per GlobalPay service, granting only what that service uses (PCI DSS 7.2.1, 7.2.2, 7.2.5).

Why IRSA and not EKS Pod Identity: the services' secrets reach the pods through external-secrets, whose
``SecretStore`` authenticates *as the service's own service account* (``auth.jwt.serviceAccountRef``: a
token of that account exchanged with STS for that account's role). That exchange is IRSA's web identity
federation; with Pod Identity the store would run with the controller's identity, which then must read every
service's secrets. IRSA also keeps one mechanism for the add-ons and the services (``constructs_lib/irsa.py``
has the trust policy: this cluster's OIDC issuer, ``sub`` = exactly ``system:serviceaccount:<ns>:<service>``).

Each role is tagged ``Workload = <service>``: the synth-time policy (GP008) reads every statement of a tagged
role, or of a tagged customer-managed policy, and refuses ``*`` actions and ``*`` resources. Per service, the
inline policy grants, each only when the service's access configuration asks for it:

* ``secretsmanager:GetSecretValue`` on its own secrets (never the master credentials), decrypt through
  Secrets Manager only;
* its own prefix of the region's data bucket, the data key through S3 (and SNS/SQS for the events);
* publish to the payment-events topic / consume its queue;
* ``elasticache:Connect`` to the region's replication group as its own ElastiCache user;
* MSK IAM access control: connect to the region's cluster, write/read exactly its topics
  (``topic/<cluster>/<uuid>/<topic>``), its consumer group, idempotent writes when it produces (Kafka 3.x
  producers are idempotent by default: ``kafka-cluster:WriteDataIdempotently`` on the cluster, MSK developer
  guide, "Semantics of IAM authorization policy actions and resources").

``rds-db:connect`` is not here: it names the writer's resource id, which moves with a failover. Each region's
``-apps`` stack attaches it (``DatabaseConnectPolicy``) next to ``DATABASE_HOST``: both come from the writer
region's core stack.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from constructs import Construct

from constructs_lib.access import ServiceIdentity
from constructs_lib.common import AccountContext, policy_document
from constructs_lib.irsa import OidcIssuer, ServiceAccountRole
from constructs_lib.naming import Naming
from constructs_lib.providers import aws

#: Tag on every workload role and workload policy: the policy rule GP008 finds them by it.
WORKLOAD_TAG = "Workload"
#: Secrets Manager appends ``-`` and six random characters to a secret's name in its ARN.
SECRET_ARN_SUFFIX = "-??????"


@dataclass(frozen=True)
class KafkaTarget:
    """The region's MSK cluster, as the IAM resources of MSK IAM access control name it."""

    cluster_arn: str
    cluster_name: str
    #: ``aws_msk_cluster.cluster_uuid``: the third part of topic and group ARNs.
    cluster_uuid: str


@dataclass(frozen=True)
class ServiceIdentitiesProps:
    """Everything the services' roles name; tokens of the core stack's own layers."""

    naming: Naming
    account: AccountContext
    region: str
    issuer: OidcIssuer
    #: The workloads' Kubernetes namespace (each service account lives there).
    namespace: str
    services: Sequence[ServiceIdentity]
    secrets_key_arn: str
    data_key_arn: str
    data_bucket_name: str
    payment_events_topic_arn: str
    payment_events_queue_arn: str
    cache_replication_group_id: str
    kafka: KafkaTarget


def secret_arn(account: AccountContext, region: str, naming: Naming, secret: str) -> str:
    """``arn:...:secret:globalpay/<env>/jwt/keys-??????``: this one secret, whatever its random suffix."""
    return account.arn("secretsmanager", region, f"secret:{naming.path(secret)}{SECRET_ARN_SUFFIX}")


def service_statements(props: ServiceIdentitiesProps, svc: ServiceIdentity) -> list[dict[str, Any]]:
    """The inline policy of one service's role (module docstring)."""
    account, region, naming = props.account, props.region, props.naming
    bucket_arn = f"arn:{account.partition}:s3:::{props.data_bucket_name}"
    statements: list[dict[str, Any]] = []
    if svc.secrets:
        statements += [
            {
                "Sid": "ReadOwnSecrets",
                "Effect": "Allow",
                "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                "Resource": [secret_arn(account, region, naming, s) for s in sorted(svc.secrets)],
            },
            {
                "Sid": "DecryptSecretsThroughSecretsManager",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": props.secrets_key_arn,
                "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}},
            },
        ]
    statements += [
        {
            "Sid": "ReadWriteOwnPrefix",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
            "Resource": f"{bucket_arn}/{svc.bucket_prefix}/*",
        },
        {
            "Sid": "ListOwnPrefix",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": bucket_arn,
            "Condition": {"StringLike": {"s3:prefix": [f"{svc.bucket_prefix}/*"]}},
        },
    ]
    via = ["s3"]
    if svc.publish_payment_events:
        via.append("sns")
        statements.append({"Sid": "PublishPaymentEvents", "Effect": "Allow", "Action": "sns:Publish",
                           "Resource": props.payment_events_topic_arn})
    if svc.consume_payment_events:
        via.append("sqs")
        statements.append({
            "Sid": "ConsumePaymentEvents",
            "Effect": "Allow",
            "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"],
            "Resource": props.payment_events_queue_arn,
        })
    statements.append({
        "Sid": "DataKeyThroughOwnServices",
        "Effect": "Allow",
        "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
        "Resource": props.data_key_arn,
        "Condition": {"StringEquals": {"kms:ViaService": [f"{s}.{region}.amazonaws.com" for s in via]}},
    })
    statements.append({
        # IAM authentication to the region's Redis: this replication group, as this service's user only.
        "Sid": "ConnectToRedisAsOwnUser",
        "Effect": "Allow",
        "Action": "elasticache:Connect",
        "Resource": [
            account.arn("elasticache", region, f"replicationgroup:{props.cache_replication_group_id}"),
            account.arn("elasticache", region, f"user:{svc.redis_user}"),
        ],
    })
    statements += kafka_statements(props, svc)
    return statements


def kafka_statements(props: ServiceIdentitiesProps, svc: ServiceIdentity) -> list[dict[str, Any]]:
    """MSK IAM access control: exactly the service's topics and consumer group on the region's cluster."""
    if not (svc.kafka_produce or svc.kafka_consume):
        return []
    k, account, region = props.kafka, props.account, props.region

    def arn(kind: str, name: str) -> str:
        return account.arn("kafka", region, f"{kind}/{k.cluster_name}/{k.cluster_uuid}/{name}")

    cluster_actions = ["kafka-cluster:Connect", "kafka-cluster:DescribeCluster"]
    if svc.kafka_produce:
        cluster_actions.append("kafka-cluster:WriteDataIdempotently")
    statements: list[dict[str, Any]] = [
        {"Sid": "KafkaConnect", "Effect": "Allow", "Action": cluster_actions, "Resource": k.cluster_arn},
    ]
    if svc.kafka_produce:
        statements.append({
            "Sid": "KafkaProduceOwnTopics",
            "Effect": "Allow",
            "Action": ["kafka-cluster:DescribeTopic", "kafka-cluster:WriteData"],
            "Resource": [arn("topic", t) for t in sorted(svc.kafka_produce)],
        })
    if svc.kafka_consume:
        statements += [
            {
                "Sid": "KafkaConsumeOwnTopics",
                "Effect": "Allow",
                "Action": ["kafka-cluster:DescribeTopic", "kafka-cluster:ReadData"],
                "Resource": [arn("topic", t) for t in sorted(svc.kafka_consume)],
            },
            {
                "Sid": "KafkaOwnConsumerGroup",
                "Effect": "Allow",
                "Action": ["kafka-cluster:DescribeGroup", "kafka-cluster:AlterGroup"],
                "Resource": arn("group", svc.kafka_group),
            },
        ]
    return statements


class ServiceIdentities(Construct):
    """``identity/<service>``: the IRSA role of each service (its Kubernetes service account is in -apps)."""

    def __init__(self, scope: Construct, id: str, props: ServiceIdentitiesProps) -> None:
        super().__init__(scope, id)
        self.roles: dict[str, ServiceAccountRole] = {}
        for svc in props.services:
            self.roles[svc.service] = ServiceAccountRole(
                self,
                svc.service,
                name=svc.iam_role,
                issuer=props.issuer,
                namespace=props.namespace,
                service_account=svc.service_account,
                partition=props.account.partition,
                inline_policy=policy_document(service_statements(props, svc)),
                description=f"GlobalPay {svc.service}: its own secrets, bucket prefix, Redis user, Kafka topics and events",
                tags={WORKLOAD_TAG: svc.service},
            )
        #: Role ARN and name by service.
        self.role_arns: dict[str, str] = {name: r.arn for name, r in self.roles.items()}
        self.role_names: dict[str, str] = {name: r.role.name for name, r in self.roles.items()}


# --------------------------------------------------------------------------------------------------
# Database login, attached where the writer is known (-apps)
# --------------------------------------------------------------------------------------------------


def database_connect_statement(*, partition: str, account_id: str, writer_region: str, resource_id: str,
                               role: str) -> dict[str, Any]:
    """``rds-db:connect`` as exactly one PostgreSQL role of exactly the writer (``dbuser:<resource id>/<role>``;
    RDS user guide, "Creating and using an IAM policy for IAM database access")."""
    return {
        "Sid": "ConnectToTheWriterAsOwnRole",
        "Effect": "Allow",
        "Action": "rds-db:connect",
        "Resource": f"arn:{partition}:rds-db:{writer_region}:{account_id}:dbuser:{resource_id}/{role}",
    }


@dataclass(frozen=True)
class DatabaseConnectProps:
    """One customer-managed policy per service with a PostgreSQL role, attached to its role."""

    naming: Naming
    account_id: str
    partition: str
    #: ``service -> (IAM role name, PostgreSQL role)``.
    roles: Mapping[str, tuple[str, str]]
    writer_region: str
    #: ``DbiResourceId`` of the writer instance (``cluster-...`` for Aurora).
    writer_resource_id: str


class DatabaseConnectPolicy(Construct):
    """``rds-db:connect`` for each service, naming the current writer: a failover changes the resource id here and
    the host in the ConfigMap in the same plan."""

    def __init__(self, scope: Construct, id: str, props: DatabaseConnectProps) -> None:
        super().__init__(scope, id)
        self.policies: dict[str, Any] = {}
        for service, (role_name, pg_role) in sorted(props.roles.items()):
            policy = aws.iam_policy.IamPolicy(
                self,
                f"{service}-policy",
                name=props.naming.regional(service, "database"),
                description=f"GlobalPay {service}: IAM database authentication as {pg_role} on the writer",
                policy=policy_document([database_connect_statement(
                    partition=props.partition, account_id=props.account_id, writer_region=props.writer_region,
                    resource_id=props.writer_resource_id, role=pg_role)]),
                tags={WORKLOAD_TAG: service},
            )
            aws.iam_role_policy_attachment.IamRolePolicyAttachment(
                self, f"{service}-attachment", role=role_name, policy_arn=policy.arn,
            )
            self.policies[service] = policy
