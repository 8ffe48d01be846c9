"""``globalpay-<env>-<region>-edge``: what needs the region's load balancer or another region's bucket.

* Shield Advanced protection of the api-gateway ALB (prod), and the guide's ALB 5xx alarm: both find the ALB
  that the AWS Load Balancer Controller created from the ``-apps`` stack's Ingress (by its fixed name);
* S3 replication of the region's data bucket, with its alarms: primary and secondary into each other's data
  bucket, any other region into its copy bucket in the origin region (``core.replication_destination``).

Applied last (after the global stack, which holds the Shield Advanced subscription a protection needs): by
then the Ingress has its load balancer (the apps stack waits for it) and every region's data bucket and
keys exist. A failover (primary <-> secondary in config) changes nothing here: both directions always
replicate. Nothing stateful lives here.
"""

from __future__ import annotations

from constructs import Construct

from constructs_lib.common import AccountContext
from constructs_lib.config import EnvironmentConfig
from constructs_lib.edge import ShieldAdvancedProtection
from constructs_lib.naming import Naming
from constructs_lib.observability import alb_5xx_alarm_spec, metric_alarm
from constructs_lib.providers import aws
from constructs_lib.resilience import BucketReplication, BucketReplicationProps
from regions.base import GlobalPayStack
from regions.core import CoreOutputs, replication_destination
from regions.operations_layer import alb_name


def edge_stack_name(config: EnvironmentConfig, region: str) -> str:
    return Naming(config.name).stack(region, "edge")


class RegionEdgeStack(GlobalPayStack):
    def __init__(self, scope: Construct, config: EnvironmentConfig, core: CoreOutputs, *, backend: str) -> None:
        region = core.region
        super().__init__(scope, edge_stack_name(config, region), config=config, region=region, backend=backend)
        naming, env = self.naming, config.name
        account = AccountContext(self, "account")
        topic_arn = core.operations.alarm_topic_arn

        # --- The ingress ALB, created by the load balancer controller from the apps stack's Ingress ------
        self.alb = aws.data_aws_lb.DataAwsLb(self, "ingress-alb", name=alb_name(env))
        if config.edge.shield_advanced:
            ShieldAdvancedProtection(self, "shield-alb", name=naming.name("alb-protection"), resource_arn=self.alb.arn)
        api_5xx = alb_5xx_alarm_spec(naming.name(), self.alb.arn_suffix, config.observability.alb_5xx_alarm_threshold)
        metric_alarm(self, "api-5xx", api_5xx, topic_arn)
        self.alarm_names = [api_5xx.name]

        # --- DR: every data bucket has a copy in another region ---------------------------------------------
        target = replication_destination(config, region)
        if target is not None:
            destination, destination_bucket = target
            source_bucket = naming.data_bucket()
            replication = BucketReplication(self, "data-replication", BucketReplicationProps(
                source_bucket_name=source_bucket,
                source_bucket_arn=core.operations.data_bucket_arn,
                source_region=region,
                source_kms_key_arn=core.keys.data_key_arn,
                destination_bucket_name=destination_bucket,
                destination_region=destination,
                destination_kms_alias=naming.alias("data"),
                account=account,
                role_name=naming.regional("s3-replication"),
                alarm_topic_arn=topic_arn,
                alarm_name_prefix=naming.name("data-replication"),
            ))
            self.alarm_names.extend(replication.alarm_names)
