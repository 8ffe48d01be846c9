"""How the ``-addons`` and ``-apps`` stacks reach their region's Kubernetes API.

The kubernetes and helm providers are configured from the core stack's outputs (cluster endpoint and CA,
read through cdktf cross-stack references, which synthesize to ``terraform_remote_state``): the cluster
exists before either stack is planned, so no provider is ever configured from a resource of its own state
(DESIGN.md, "Stacks"). Both authenticate with ``exec`` (``aws eks get-token``): no token is stored in state,
and it is fresh on every run. The caller must be the cluster's admin role (``cluster.admin_role_name``,
an EKS access entry) and reach the private endpoint (docs/runbooks/deploy.md, prerequisites).
"""

from __future__ import annotations

from typing import Any

from cdktf import Fn, TerraformStack

from constructs_lib.providers import helm, kubernetes
from regions.core import CoreOutputs

#: Client authentication API of ``aws eks get-token`` (v1alpha1 was removed from kubectl/client-go).
EXEC_API_VERSION = "client.authentication.k8s.io/v1beta1"


def _exec(core: CoreOutputs) -> dict[str, Any]:
    return {
        "api_version": EXEC_API_VERSION,
        "command": "aws",
        "args": ["eks", "get-token", "--cluster-name", core.cluster_name, "--region", core.region, "--output", "json"],
    }


def kubernetes_provider(stack: TerraformStack, core: CoreOutputs) -> Any:
    return kubernetes.provider.KubernetesProvider(
        stack, "kubernetes", host=core.compute.endpoint,
        cluster_ca_certificate=Fn.base64decode(core.compute.certificate_authority_data), exec=[_exec(core)],
    )


def helm_provider(stack: TerraformStack, core: CoreOutputs) -> Any:
    return helm.provider.HelmProvider(stack, "helm", kubernetes={
        "host": core.compute.endpoint,
        "cluster_ca_certificate": Fn.base64decode(core.compute.certificate_authority_data),
        "exec": _exec(core),
    })
