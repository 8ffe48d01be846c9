"""Every version the platform pins, in one place (README "Pinned versions" mirrors this file).

Checked on 2026-11-26 against the EKS, Helm chart and MSK/RDS documentation; change them together with an
upgrade plan (EKS upgrades one minor at a time; charts follow their app's compatibility matrix).
"""

from __future__ import annotations

# --- EKS ------------------------------------------------------------------------------------------
#: Kubernetes minor of every cluster. The guide's 1.27 left extended support in 2025 and cannot be
#: created. 1.35 is in EKS standard support until 2027-03-27 and has published add-on builds; 1.36 (standard
#: support to 2027-08) is the next step once its add-on builds are confirmed.
KUBERNETES_VERSION = "1.35"

#: Versions EKS can create today (standard or extended support) and the ones in standard support.
EKS_CREATABLE_VERSIONS = ("1.30", "1.31", "1.32", "1.33", "1.34", "1.35", "1.36")
EKS_STANDARD_SUPPORT_VERSIONS = ("1.34", "1.35", "1.36")

#: EKS managed add-ons for KUBERNETES_VERSION.
EKS_ADDONS = {
    "vpc-cni": "v1.21.1-eksbuild.8",
    "coredns": "v1.13.2-eksbuild.4",
    "kube-proxy": "v1.35.3-eksbuild.2",
    "eks-pod-identity-agent": "v1.3.9-eksbuild.3",
    "amazon-cloudwatch-observability": "v4.5.0-eksbuild.1",
}

# --- Helm charts (chart version, official repository) ----------------------------------------------
HELM_CHARTS = {
    "aws-load-balancer-controller": ("https://aws.github.io/eks-charts", "3.4.2"),
    "cluster-autoscaler": ("https://kubernetes.github.io/autoscaler", "9.59.0"),
    "aws-ebs-csi-driver": ("https://kubernetes-sigs.github.io/aws-ebs-csi-driver", "2.56.1"),
    "external-secrets": ("https://charts.external-secrets.io", "2.10.0"),
    "metrics-server": ("https://kubernetes-sigs.github.io/metrics-server/", "3.14.0"),
}

#: cluster-autoscaler must match the cluster's Kubernetes minor.
CLUSTER_AUTOSCALER_IMAGE_TAG = "v1.35.0"

#: API version of the external-secrets CRDs served by the pinned chart.
EXTERNAL_SECRETS_API_VERSION = "external-secrets.io/v1"

# --- Data tier ------------------------------------------------------------------------------------
#: RDS PostgreSQL majors we accept and the oldest minor RDS still creates for each (AWS deprecation
#: notices: 15.4 ended 2025-03-31; 15.9-15.12 / 16.5-16.8 / 17.1-17.4 ended 2026-05-31).
POSTGRES_MIN_CREATABLE_MINOR = {15: 13, 16: 9, 17: 5}

#: Apache Kafka versions MSK supports for new provisioned clusters (3.5.1 to 3.8.x are past end of support).
MSK_KAFKA_VERSIONS = ("3.9.x", "3.9.x.kraft", "4.0.x.kraft", "4.1.x.kraft")

#: ElastiCache engines and versions, with their parameter group family.
CACHE_ENGINE_FAMILIES = {
    ("redis", "7.1"): "redis7",
    ("valkey", "7.2"): "valkey7",
    ("valkey", "8.0"): "valkey8",
    ("valkey", "8.1"): "valkey8",
    ("valkey", "8.2"): "valkey8",
}

# --- Terraform --------------------------------------------------------------------------------------
#: S3 native state locking (use_lockfile) and write-only attributes need Terraform 1.11 or newer.
TERRAFORM_REQUIRED_VERSION = ">= 1.11.0"
