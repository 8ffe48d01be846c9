"""The cluster add-ons installed with Helm (guide section 2, "Install Essential EKS Add-ons", and what the
guide's manifests silently need): the AWS Load Balancer Controller (the Ingress), the cluster autoscaler
(the node group's min/max), the EBS CSI driver (an encrypted default StorageClass), external-secrets (the
SecretStore/ExternalSecret CRDs) and metrics-server (the HPA's metrics).

Every chart comes from its official repository at the version pinned in ``versions.HELM_CHARTS``; every
controller that calls AWS runs under its own IRSA role (``irsa.py``), passed in as a role ARN read from the
core stack. Values are JSON documents (``values=[...]``) rather than ``set`` entries, so Terraform tokens
(role ARNs, the VPC id, the key ARN) can sit anywhere in them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from constructs import Construct

from constructs_lib import irsa, versions
from constructs_lib.providers import helm

#: Seconds Helm waits for a release's resources to become ready before ``atomic`` rolls it back.
HELM_TIMEOUT_SECONDS = 600

#: Default StorageClass: gp3, encrypted with the region's data key. ``Retain``: a deleted claim never
#: deletes the volume behind it (DESIGN.md, "nothing lost"); operators delete released volumes explicitly.
DEFAULT_STORAGE_CLASS = "gp3-encrypted"

ROLE_ANNOTATION = "eks.amazonaws.com/role-arn"


@dataclass(frozen=True)
class AddonsProps:
    """Inputs of the add-ons; the ARNs and ids are the core stack's (remote state)."""

    cluster_name: str
    region: str
    vpc_id: str
    #: The region's data key, for the default StorageClass.
    data_key_arn: str
    load_balancer_controller_role_arn: str
    cluster_autoscaler_role_arn: str
    ebs_csi_role_arn: str
    external_secrets_role_arn: str
    #: The Helm provider of the -addons stack.
    provider: Any
    #: Chart repository and version per release; default the pinned ``versions.HELM_CHARTS``.
    charts: Mapping[str, tuple[str, str]] = field(default_factory=lambda: dict(versions.HELM_CHARTS))
    #: cluster-autoscaler image tag; default ``versions.CLUSTER_AUTOSCALER_IMAGE_TAG`` (the cluster's minor).
    cluster_autoscaler_image_tag: str = versions.CLUSTER_AUTOSCALER_IMAGE_TAG


def _service_account(ref: irsa.ServiceAccountRef, role_arn: str) -> dict[str, Any]:
    return {"create": True, "name": ref.name, "annotations": {ROLE_ANNOTATION: role_arn}}


class ClusterAddons(Construct):
    """The five Helm releases. ``releases`` maps chart name -> ``helm_release`` (for ``depends_on``)."""

    def __init__(self, scope: Construct, id: str, props: AddonsProps) -> None:
        super().__init__(scope, id)
        self.props = props
        self.releases: dict[str, Any] = {}

        self._release(
            "aws-load-balancer-controller",
            namespace=irsa.LOAD_BALANCER_CONTROLLER.namespace,
            values={
                "clusterName": props.cluster_name,
                # Given explicitly: with an IMDS hop limit of 1 the controller cannot discover them.
                "region": props.region,
                "vpcId": props.vpc_id,
                "replicaCount": 2,
                "serviceAccount": _service_account(irsa.LOAD_BALANCER_CONTROLLER, props.load_balancer_controller_role_arn),
            },
        )
        self._release(
            "cluster-autoscaler",
            namespace=irsa.CLUSTER_AUTOSCALER.namespace,
            values={
                "cloudProvider": "aws",
                "awsRegion": props.region,
                "autoDiscovery": {"clusterName": props.cluster_name},
                "image": {"tag": props.cluster_autoscaler_image_tag},
                "rbac": {"serviceAccount": _service_account(irsa.CLUSTER_AUTOSCALER, props.cluster_autoscaler_role_arn)},
                "extraArgs": {
                    "balance-similar-node-groups": True,
                    "skip-nodes-with-system-pods": False,
                    "expander": "least-waste",
                },
            },
        )
        self._release(
            "aws-ebs-csi-driver",
            namespace=irsa.EBS_CSI_CONTROLLER.namespace,
            values={
                "controller": {
                    "region": props.region,
                    # Volumes get kubernetes.io/cluster/<cluster>=owned: the tag the DLM snapshot policy targets.
                    "k8sTagClusterId": props.cluster_name,
                    "serviceAccount": _service_account(irsa.EBS_CSI_CONTROLLER, props.ebs_csi_role_arn),
                },
                "storageClasses": [{
                    "name": DEFAULT_STORAGE_CLASS,
                    "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
                    "volumeBindingMode": "WaitForFirstConsumer",
                    "reclaimPolicy": "Retain",
                    "allowVolumeExpansion": True,
                    # StorageClass parameters are strings.
                    "parameters": {"type": "gp3", "encrypted": "true", "kmsKeyId": props.data_key_arn},
                }],
            },
        )
        self._release(
            "external-secrets",
            namespace=irsa.EXTERNAL_SECRETS.namespace,
            create_namespace=True,
            values={
                # The SecretStore and ExternalSecret of the workloads need the CRDs (served as external-secrets.io/v1).
                "installCRDs": True,
                "serviceAccount": _service_account(irsa.EXTERNAL_SECRETS, props.external_secrets_role_arn),
            },
        )
        self._release(
            "metrics-server",
            namespace="kube-system",
            values={"replicas": 2, "podDisruptionBudget": {"enabled": True, "maxUnavailable": 1}},
        )

    def _release(self, chart: str, *, namespace: str, values: dict[str, Any], create_namespace: bool = False) -> None:
        repository, version = self.props.charts[chart]
        self.releases[chart] = helm.release.Release(
            self,
            chart,
            provider=self.props.provider,
            name=chart,
            chart=chart,
            repository=repository,
            version=version,
            namespace=namespace,
            create_namespace=create_namespace,
            atomic=True,
            cleanup_on_fail=True,
            wait=True,
            timeout=HELM_TIMEOUT_SECONDS,
            max_history=10,
            values=[json.dumps(values, sort_keys=True)],
        )
