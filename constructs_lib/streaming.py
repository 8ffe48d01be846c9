"""Amazon MSK of one region (guide section 5): brokers over the private subnets, clients authenticated and
authorized by IAM.

MSK IAM access control (``client_authentication.sasl.iam``): each service's IRSA role names the cluster, exactly
the topics it writes or reads and its own consumer group (``constructs_lib/identity.py``); no other client
authentication is enabled (no SCRAM, no unauthenticated TLS), so there is no Kafka password anywhere and no
principal that IAM does not authorize. ``allow.everyone.if.no.acl.found=false`` is set as well: MSK ignores it
for IAM identities ("has no effect if your cluster uses IAM access control", MSK developer guide, "IAM access
control"), and it makes sure that any listener added later starts closed. The brokers replicate as MSK's own
super users (MSK developer guide, "Apache Kafka ACLs"), so the setting locks nothing out.

The guide's SASL/SCRAM + mutual TLS: SCRAM users were one shared secret per service in Secrets Manager and,
without ACLs, every user could read every topic; mutual TLS needs an ACM Private CA the platform does not run.
The ``AmazonMSK_<env>_<user>`` secrets of an environment deployed with SCRAM are forgotten by Terraform, not
deleted (``RETIRED_SCRAM_SECRETS``): operators delete them once every client uses IAM (docs/data-tier.md).

Upgrades (docs/runbooks/upgrade.md): the broker configuration is named after the Kafka version it is made for and
is replaced create-before-destroy, so a version bump creates the new configuration, moves the cluster to the new
version with it, then deletes the old one (MSK refuses to delete a configuration a cluster uses: aws_rules
AWS003). The brokers' volumes grow by storage autoscaling up to ``ebs_volume_max_gb``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cdktf import TerraformResourceLifecycle
from constructs import Construct

from constructs_lib.common import protected
from constructs_lib.config import KafkaConfig
from constructs_lib.database import DataStorePlacement, DataStoreSecurityGroup
from constructs_lib.providers import aws

#: In-VPC client port of SASL/IAM (MSK developer guide, "Port information").
KAFKA_IAM_PORT = 9098

#: Broker settings for payments: nothing is created implicitly, nothing acknowledged is lost, and no listener
#: ever admits a principal that has no ACL.
SERVER_PROPERTIES: Mapping[str, str] = {
    "auto.create.topics.enable": "false",
    "default.replication.factor": "3",
    "min.insync.replicas": "2",
    "num.partitions": "6",
    "unclean.leader.election.enable": "false",
    "delete.topic.enable": "true",
    "log.retention.hours": "168",
    "allow.everyone.if.no.acl.found": "false",
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


#: The SASL/SCRAM secrets of the earlier layout, by construct path below the data layer (their Terraform
#: addresses are the same in every region and environment: the hash is of the path below the stack). A
#: ``removed`` block with ``destroy = false`` makes a workspace that still has them forget them without deleting
#: them (their values stay readable to operators until the clients have moved to IAM). Remove the entries once
#: every workspace has been applied with them (docs/safe-change.md).
RETIRED_SCRAM_SECRETS = (
    "aws_secretsmanager_secret.data_kafka_scram-api-gateway_secret_5EE19EC2",
    "aws_secretsmanager_secret.data_kafka_scram-payment-processor_secret_F83865AB",
    "aws_secretsmanager_secret.data_kafka_scram-reconciliation-engine_secret_992C1F10",
)


def server_properties_text(props: Mapping[str, str] = SERVER_PROPERTIES) -> str:
    """``server.properties`` of the MSK configuration, keys sorted (stable diffs between revisions)."""
    return "".join(f"{k}={v}\n" for k, v in sorted(props.items()))


@dataclass(frozen=True)
class KafkaProps(DataStorePlacement):
    """Inputs of a region's MSK cluster: its placement and the cluster settings."""

    config: KafkaConfig


@dataclass
class KafkaOutputs:
    cluster_arn: str
    cluster_name: str
    #: The cluster's UUID: part of every topic and group ARN in the services' policies.
    cluster_uuid: str
    bootstrap_brokers_sasl_iam: str
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
            description="Kafka SASL/IAM from the EKS worker nodes only",
            vpc_id=props.vpc_id,
            client_security_group_id=props.client_security_group_id,
            ports=[(KAFKA_IAM_PORT, "Kafka SASL/IAM")],
        )
        self.configuration = aws.msk_configuration.MskConfiguration(
            self,
            "configuration",
            name=configuration_name(name, k.kafka_version),
            description="GlobalPay broker settings: no implicit topics, replication 3, min ISR 2, no ACL-less access",
            kafka_versions=[k.kafka_version],
            server_properties=server_properties_text(),
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
            client_authentication={"sasl": {"iam": True, "scram": False}, "unauthenticated": False},
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
        self.outputs = KafkaOutputs(
            cluster_arn=self.cluster.arn,
            cluster_name=name,
            cluster_uuid=self.cluster.cluster_uuid,
            bootstrap_brokers_sasl_iam=self.cluster.bootstrap_brokers_sasl_iam,
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
