"""Amazon MSK of one region (guide section 5): brokers over the private subnets, SASL/SCRAM over TLS.

SCRAM users: one ``AmazonMSK_<env>_<user>`` secret per client service (MSK requires the prefix and a
customer-managed key; a secret under ``aws/secretsmanager`` cannot be associated), its password generated
ephemerally and written write-only, associated to the cluster. The guide's additional mutual-TLS client
authentication needs an ACM Private CA, which the platform does not run: SCRAM over TLS (port 9096) is the
client authentication, TLS (9094) stays open to the nodes for the brokers' TLS listener.

Upgrades (docs/runbooks/upgrade.md): the broker configuration is named after the Kafka version it is made for and
is replaced create-before-destroy, so a version bump creates the new configuration, moves the cluster to the new
version with it, then deletes the old one (MSK refuses to delete a configuration a cluster uses: aws_rules
AWS003). The brokers' volumes grow by storage autoscaling up to ``ebs_volume_max_gb``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from cdktf import TerraformResourceLifecycle
from constructs import Construct

from constructs_lib.common import protected
from constructs_lib.config import KafkaConfig
from constructs_lib.database import DataStorePlacement, DataStoreSecurityGroup, json_expression
from constructs_lib.providers import aws
from constructs_lib.secrets import EphemeralPassword, Secret, SecretProps

#: In-VPC client ports (MSK "Port information"): TLS and SASL/SCRAM.
KAFKA_TLS_PORT = 9094
KAFKA_SCRAM_PORT = 9096

#: Broker settings for payments: nothing is created implicitly, nothing acknowledged is lost.
#:
#: ``allow.everyone.if.no.acl.found`` is *not* here: ``server_properties_text(acls_enforced=...)`` sets it.
#: MSK does not support ``super.users``, so on a new cluster with ``false`` no principal may create the first
#: ACL (CreateAcls needs ALTER on the Cluster resource, which then has no ACL): every client is locked out
#: for good. The cluster starts with MSK's default ``true`` (SCRAM authentication is still mandatory); an
#: operator creates the ACLs (docs/data-tier.md) and only then is ``acls_enforced`` turned on.
SERVER_PROPERTIES: Mapping[str, str] = {
    "auto.create.topics.enable": "false",
    "default.replication.factor": "3",
    "min.insync.replicas": "2",
    "num.partitions": "6",
    "unclean.leader.election.enable": "false",
    "delete.topic.enable": "true",
    "log.retention.hours": "168",
}


#: MSK's metric for the share of a broker's data volume in use, the one storage autoscaling tracks
#: (Application Auto Scaling API Reference, PredefinedMetricSpecification: KafkaBrokerStorageUtilization).
STORAGE_UTILIZATION_METRIC = "KafkaBrokerStorageUtilization"
#: Application Auto Scaling dimension of an MSK cluster's broker volumes.
STORAGE_DIMENSION = "kafka:broker-storage:VolumeSize"
#: The volume size is the autoscaler's once it runs: Terraform leaves it alone (as terraform-aws-modules'
#: msk-kafka-cluster module does when storage autoscaling is on), or the next apply would shrink a grown volume,
#: which MSK refuses.
VOLUME_SIZE_PATH = "broker_node_group_info[0].storage_info[0].ebs_storage_info[0].volume_size"


def configuration_name(cluster_name: str, kafka_version: str) -> str:
    """``globalpay-prod-kafka-config-3-9-x-kraft``: one configuration per Kafka version (names allow letters,
    digits and '-'), so the next version's configuration exists before this one is deleted."""
    return f"{cluster_name}-config-{kafka_version.replace('.', '-')}"


def scram_secret_name(env: str, user: str) -> str:
    """``AmazonMSK_prod_payment-processor``: MSK only associates secrets whose name starts with AmazonMSK_."""
    return f"AmazonMSK_{env}_{user}"


def server_properties_text(props: Mapping[str, str] = SERVER_PROPERTIES, *, acls_enforced: bool = False) -> str:
    """``server.properties`` of the MSK configuration, keys sorted (stable diffs between revisions)."""
    merged = {**props, "allow.everyone.if.no.acl.found": "false" if acls_enforced else "true"}
    return "".join(f"{k}={v}\n" for k, v in sorted(merged.items()))


@dataclass(frozen=True)
class KafkaProps(DataStorePlacement):
    """Inputs of a region's MSK cluster: its placement, the cluster settings and one ephemeral password
    per SCRAM user."""

    config: KafkaConfig
    scram_passwords: Mapping[str, EphemeralPassword]
    #: Deny clients without an ACL (``allow.everyone.if.no.acl.found=false``). Only after the ACLs exist
    #: (docs/data-tier.md, "Kafka ACLs"): on a cluster without ACLs it locks every client out.
    acls_enforced: bool = False


@dataclass
class KafkaOutputs:
    cluster_arn: str
    cluster_name: str
    bootstrap_brokers_sasl_scram: str
    scram_secret_arns: dict[str, str]
    security_group_id: str


class KafkaCluster(Construct):
    def __init__(self, scope: Construct, id: str, props: KafkaProps) -> None:
        super().__init__(scope, id)
        k, naming = props.config, props.naming
        name = naming.name("kafka")
        self.security_group = DataStoreSecurityGroup(
            self,
            "security-group",
            name=name,
            description="Kafka TLS and SASL/SCRAM from the EKS worker nodes only",
            vpc_id=props.vpc_id,
            client_security_group_id=props.client_security_group_id,
            ports=[(KAFKA_TLS_PORT, "Kafka TLS"), (KAFKA_SCRAM_PORT, "Kafka SASL/SCRAM")],
        )
        self.configuration = aws.msk_configuration.MskConfiguration(
            self,
            "configuration",
            name=configuration_name(name, k.kafka_version),
            description="GlobalPay broker settings: no implicit topics, replication 3, min ISR 2",
            kafka_versions=[k.kafka_version],
            server_properties=server_properties_text(acls_enforced=props.acls_enforced),
            # kafka_versions and name force a new configuration; the cluster uses this one, so the new one is created
            # (its name carries the version), the cluster moves to it, and only then is this one deleted.
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
        )
        self.log_group = aws.cloudwatch_log_group.CloudwatchLogGroup(
            self,
            "log-group",
            name=f"/aws/msk/{name}",
            kms_key_id=props.data_key_arn,
            retention_in_days=props.log_retention_days,
            lifecycle=protected(),
        )
        ebs: dict = {"volume_size": k.ebs_volume_gb}
        if k.provisioned_throughput_enabled:
            ebs["provisioned_throughput"] = {"enabled": True, "volume_throughput": k.provisioned_throughput_mibps}
        self.cluster = aws.msk_cluster.MskCluster(
            self,
            "cluster",
            cluster_name=name,
            kafka_version=k.kafka_version,
            number_of_broker_nodes=k.broker_count,
            broker_node_group_info={
                "instance_type": k.broker_instance_type,
                "client_subnets": list(props.subnet_ids),
                "security_groups": [self.security_group.id],
                "storage_info": {"ebs_storage_info": ebs},
                "connectivity_info": {"public_access": {"type": "DISABLED"}},
            },
            encryption_info={
                "encryption_at_rest_kms_key_arn": props.data_key_arn,
                "encryption_in_transit": {"client_broker": "TLS", "in_cluster": True},
            },
            client_authentication={"sasl": {"scram": True, "iam": False}, "unauthenticated": False},
            configuration_info={"arn": self.configuration.arn, "revision": self.configuration.latest_revision},
            enhanced_monitoring=k.enhanced_monitoring,
            open_monitoring={"prometheus": {
                "jmx_exporter": {"enabled_in_broker": k.open_monitoring},
                "node_exporter": {"enabled_in_broker": k.open_monitoring},
            }},
            logging_info={"broker_logs": {"cloudwatch_logs": {"enabled": True, "log_group": self.log_group.name}}},
            tags={"Name": name},
            lifecycle=protected(ignore_changes=[VOLUME_SIZE_PATH] if k.ebs_volume_max_gb else None),
        )
        if k.ebs_volume_max_gb:
            self._storage_autoscaling(name, k)
        self.scram_secrets: dict[str, Secret] = {}
        for user in k.scram_users:
            secret_name = scram_secret_name(naming.env, user)
            self.scram_secrets[user] = Secret(self, f"scram-{user}", SecretProps(
                name=secret_name,
                description=f"SASL/SCRAM credentials of {user} for {name}",
                kms_key_arn=props.secrets_key_arn,
                recovery_window_days=props.recovery_window_days,
                value_wo=json_expression({"username": json.dumps(user), "password": props.scram_passwords[user].ref}),
                value_version=k.scram_password_version,
                # The statement MSK itself attaches on association; declaring it keeps Terraform and MSK agreed.
                policy_statements=({
                    "Sid": "AWSKafkaResourcePolicy",
                    "Effect": "Allow",
                    "Principal": {"Service": "kafka.amazonaws.com"},
                    "Action": "secretsmanager:getSecretValue",
                    "Resource": "*",
                },),
            ))
        self.scram_association = aws.msk_scram_secret_association.MskScramSecretAssociation(
            self,
            "scram-association",
            cluster_arn=self.cluster.arn,
            secret_arn_list=[s.arn for s in self.scram_secrets.values()],
            depends_on=[s.version for s in self.scram_secrets.values() if s.version is not None],
        )
        self.outputs = KafkaOutputs(
            cluster_arn=self.cluster.arn,
            cluster_name=name,
            bootstrap_brokers_sasl_scram=self.cluster.bootstrap_brokers_sasl_scram,
            scram_secret_arns={u: s.arn for u, s in self.scram_secrets.items()},
            security_group_id=self.security_group.id,
        )

    def _storage_autoscaling(self, name: str, k: KafkaConfig) -> None:
        """Target tracking on the brokers' storage utilization up to ``ebs_volume_max_gb`` per broker; scale-in off
        (MSK volumes never shrink). MSK Developer Guide, "Automatic scaling for Amazon MSK clusters"."""
        target = aws.appautoscaling_target.AppautoscalingTarget(
            self,
            "storage-autoscaling-target",
            service_namespace="kafka",
            scalable_dimension=STORAGE_DIMENSION,
            resource_id=self.cluster.arn,
            min_capacity=1,
            max_capacity=k.ebs_volume_max_gb,
        )
        aws.appautoscaling_policy.AppautoscalingPolicy(
            self,
            "storage-autoscaling",
            name=f"{name}-broker-storage",
            policy_type="TargetTrackingScaling",
            service_namespace=target.service_namespace,
            scalable_dimension=target.scalable_dimension,
            resource_id=target.resource_id,
            target_tracking_scaling_policy_configuration={
                "target_value": k.storage_autoscaling_target_percent,
                "disable_scale_in": True,
                "predefined_metric_specification": {"predefined_metric_type": STORAGE_UTILIZATION_METRIC},
            },
        )
