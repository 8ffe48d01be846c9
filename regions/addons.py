"""``globalpay-<env>-<region>-addons``: the Helm charts of one region's cluster.

The AWS Load Balancer Controller, the cluster autoscaler, the EBS CSI driver, external-secrets and
metrics-server (``constructs_lib.addons``), each under its IRSA role from the core stack. A workspace of its
own because the ``-apps`` stack's ``kubernetes_manifest`` objects (SecretStore, ExternalSecret) need the
external-secrets CRDs at *plan* time, and the Ingress needs the controller's webhook: both exist once this
stack is applied, so ``cdktf deploy '*'`` plans the apps stack after it, in one pass.
"""

from __future__ import annotations

from constructs import Construct

from constructs_lib import irsa, versions
from constructs_lib.addons import AddonsProps, ClusterAddons
from constructs_lib.config import EnvironmentConfig
from constructs_lib.naming import Naming
from regions.base import GlobalPayStack
from regions.cluster_access import helm_provider
from regions.core import CoreOutputs


def addons_stack_name(config: EnvironmentConfig, region: str) -> str:
    return Naming(config.name).stack(region, "addons")


class AddonsStack(GlobalPayStack):
    def __init__(self, scope: Construct, config: EnvironmentConfig, core: CoreOutputs, *, backend: str) -> None:
        super().__init__(scope, addons_stack_name(config, core.region), config=config, region=core.region, backend=backend)
        compute = core.compute
        self.helm_provider = helm_provider(self, core)
        self.addons = ClusterAddons(self, "addons", AddonsProps(
            cluster_name=core.cluster_name,
            region=core.region,
            vpc_id=core.network.vpc_id,
            data_key_arn=core.keys.data_key_arn,
            load_balancer_controller_role_arn=compute.role_arn(irsa.LOAD_BALANCER_CONTROLLER),
            cluster_autoscaler_role_arn=compute.role_arn(irsa.CLUSTER_AUTOSCALER),
            ebs_csi_role_arn=compute.role_arn(irsa.EBS_CSI_CONTROLLER),
            external_secrets_role_arn=compute.role_arn(irsa.EXTERNAL_SECRETS),
            provider=self.helm_provider,
            # The autoscaler of the cluster's own minor: the canary region runs the next one during an upgrade.
            cluster_autoscaler_image_tag=versions.CLUSTER_AUTOSCALER_IMAGE_TAGS[config.kubernetes_version(core.region)],
        ))
