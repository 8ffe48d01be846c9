"""Every version the platform pins, in one place (README "Pinned versions" mirrors this file).

Checked on 2026-11-26 against the EKS, Helm chart and MSK/RDS documentation; chart, add-on and image pins
re-checked on 2026-11-29, each with its evidence beside it. Change them together with an upgrade plan (EKS
upgrades one minor at a time; charts follow their app's compatibility matrix).
"""

from __future__ import annotations

# --- EKS ------------------------------------------------------------------------------------------
#: Kubernetes minor of every cluster unless ``cluster.kubernetes_versions`` pins a region to another one (an
#: upgrade goes one region at a time, canary first: docs/runbooks/upgrade.md). The guide's 1.27 left extended
#: support in 2025 and cannot be created. 1.35 is in EKS standard support until 2027-03-27 and has published
#: add-on builds; 1.36 is the next step (every pin below exists for it).
KUBERNETES_VERSION = "1.35"

#: Versions EKS can create today (standard or extended support) and the ones in standard support.
EKS_CREATABLE_VERSIONS = ("1.30", "1.31", "1.32", "1.33", "1.34", "1.35", "1.36")
EKS_STANDARD_SUPPORT_VERSIONS = ("1.34", "1.35", "1.36")

#: Last day of EKS standard support per minor; from the next day a cluster under the EXTENDED upgrade policy is
#: billed the extended-support cluster hour (``scripts/cost.py``), and one under STANDARD is upgraded by EKS.
#: evidence: https://endoflife.date/amazon-eks and the AWS-maintained calendar copy
#: https://aws-samples.github.io/sample-apex-skills/docs/skills/eks-operation-review/references/cluster-lifecycle
#: (1.34: December 2, 2026; 1.35: March 27, 2027). 1.36 is approximate (month only, as AWS's own calendar writes
#: an unconfirmed date): 14 months after its EKS release.
EKS_END_OF_STANDARD_SUPPORT = {"1.34": "2026-12-02", "1.35": "2027-03-27", "1.36": "2027-08"}

#: EKS managed add-ons per Kubernetes minor. Each pin carries its evidence (a ``# evidence:`` comment naming the
#: pinned version is required by tests/test_k8s_schemas.py). The authority is EKS itself: ``python3 tasks.py
#: preflight`` (scripts/preflight.py) asks ``describe-addon-versions`` for each region's Kubernetes version and
#: fails when a pin is not offered; the pipeline runs it before a plan. vpc-cni, eks-pod-identity-agent and
#: amazon-cloudwatch-observability are built per release, not per Kubernetes minor (AWS publishes no per-minor
#: table for them): the same build is pinned for both minors and the pre-flight proves EKS offers it for each.
EKS_ADDONS_BY_KUBERNETES: dict[str, dict[str, str]] = {
    "1.35": {
        # evidence: v1.21.1-eksbuild.8 is the build ministryofjustice/cloud-platform-infrastructure ran on its EKS 1.33
        # clusters (https://github.com/ministryofjustice/cloud-platform-infrastructure/pull/4678, 2026-07-08, "from
        # v1.21.1-eksbuild.8 to v1.22.3-eksbuild.1"); its chart: aws/eks-charts@v0.0.235:stable/aws-vpc-cni/Chart.yaml
        # (version 1.21.1, appVersion v1.21.1). No stored AWS table shows the 1.35 row; newer builds (v1.22.x) exist.
        "vpc-cni": "v1.21.1-eksbuild.8",
        # evidence: AWS table "CoreDNS versions", row 1.35 = v1.13.2-eksbuild.4:
        # https://docs.amazonaws.cn/zh_cn/eks/latest/userguide/managing-coredns.md (the newer en_us page lists
        # v1.14.2-eksbuild.4 for 1.35).
        "coredns": "v1.13.2-eksbuild.4",
        # evidence: AWS table "kube-proxy versions", row 1.35 = v1.35.3-eksbuild.2:
        # https://docs.amazonaws.cn/zh_cn/eks/latest/userguide/managing-kube-proxy.md
        "kube-proxy": "v1.35.3-eksbuild.2",
        # evidence: v1.3.9-eksbuild.3 pinned in public Terraform, e.g.
        # https://github.com/nvhuu99/order-system-deploy/blob/HEAD/pod_identity_agent.tf (AWS publishes no
        # per-Kubernetes table for this add-on; v1.3.10-eksbuild.x is newer).
        "eks-pod-identity-agent": "v1.3.9-eksbuild.3",
        # evidence: v4.5.0-eksbuild.1 is built from chart 4.5.0, release notes "amazon-cloudwatch-observability v4.5.0
        # (2025-09-24)" in aws-observability/helm-charts@amazon-cloudwatch-observability-4.5.0:RELEASE_NOTES (chart:
        # tests/data/charts/amazon-cloudwatch-observability/4.5.0); the eksbuild is pinned in public Terraform too.
        # Newer add-on versions exist (v5.x, v6.x).
        "amazon-cloudwatch-observability": "v4.5.0-eksbuild.1",
    },
    "1.36": {
        # evidence: the 1.35 build v1.21.1-eksbuild.8 (above); its chart declares no Kubernetes ceiling
        # (aws/eks-charts@v0.0.235:stable/aws-vpc-cni/Chart.yaml has no kubeVersion). The pre-flight checks EKS offers
        # it for 1.36.
        "vpc-cni": "v1.21.1-eksbuild.8",
        # evidence: AWS table "CoreDNS versions", row 1.36 = v1.14.3-eksbuild.3:
        # https://docs.aws.amazon.com/ja_jp/eks/latest/userguide/managing-coredns.md
        "coredns": "v1.14.3-eksbuild.3",
        # evidence: AWS table "kube-proxy versions", row 1.36 = v1.36.0-eksbuild.14:
        # https://docs.aws.amazon.com/ja_jp/eks/latest/userguide/managing-kube-proxy.md
        "kube-proxy": "v1.36.0-eksbuild.14",
        # evidence: the 1.35 build v1.3.9-eksbuild.3 (above,
        # https://github.com/nvhuu99/order-system-deploy/blob/HEAD/pod_identity_agent.tf); the pre-flight checks EKS
        # offers it for 1.36.
        "eks-pod-identity-agent": "v1.3.9-eksbuild.3",
        # evidence: the 1.35 build v4.5.0-eksbuild.1, chart
        # aws-observability/helm-charts@amazon-cloudwatch-observability-4.5.0:charts/amazon-cloudwatch-observability/Chart.yaml
        # (no kubeVersion constraint); the pre-flight checks EKS offers it for 1.36.
        "amazon-cloudwatch-observability": "v4.5.0-eksbuild.1",
    },
}

#: The add-ons of the default minor (``KUBERNETES_VERSION``).
EKS_ADDONS = EKS_ADDONS_BY_KUBERNETES[KUBERNETES_VERSION]

#: The EKS-optimized Amazon Linux 2023 AMI release each node group runs, per Kubernetes minor (the node group's
#: ``release_version``). Without it the AMI only changes with the Kubernetes version or the launch template, and
#: then jumps to whatever is newest. Bumped monthly (PCI DSS 6.3.3: ``python3 tasks.py preflight node-ami`` fails
#: when a newer release is older than ``NODE_AMI_PATCH_DAYS``; docs/runbooks/upgrade.md); a bump rolls the nodes
#: in place (UpdateNodegroupVersion, ``max_unavailable`` at a time, PodDisruptionBudgets respected).
EKS_NODE_AMI_RELEASES: dict[str, str] = {
    # evidence: awslabs/amazon-eks-ami@158225113dac62583729bca127cce67b4211737a:CHANGELOG.md, "AMI Release
    # v20260714", Kubernetes 1.35: amazon-eks-node-al2023-x86_64-standard-1.35-v20260714, release version 1.35.6-20260714
    "1.35": "1.35.6-20260714",
    # evidence: awslabs/amazon-eks-ami@158225113dac62583729bca127cce67b4211737a:CHANGELOG.md, "AMI Release
    # v20260714", Kubernetes 1.36: amazon-eks-node-al2023-x86_64-standard-1.36-v20260714, release version 1.36.2-20260714
    "1.36": "1.36.2-20260714",
}

#: Days a pinned node AMI release may trail the newest published one before the pre-flight fails (PCI DSS 6.3.3:
#: critical patches within one month of release).
NODE_AMI_PATCH_DAYS = 30

# --- Helm charts (chart version, official repository) ----------------------------------------------
#: Each pin: the release tag and the chart index (index.yaml on the repository's gh-pages branch) that
#: publish it. tests/data/charts/<chart>/<version>/source.json records tag, commit and index digest, and
#: tests/test_k8s_schemas.py checks every release's values (and the CRDs the app uses) against that version.
HELM_CHARTS = {
    # evidence: aws/eks-charts@v0.0.240:stable/aws-load-balancer-controller/Chart.yaml (version 3.4.2, appVersion
    # v3.4.2), listed in https://aws.github.io/eks-charts/index.yaml. Newer: 3.4.3, 3.5.0.
    "aws-load-balancer-controller": ("https://aws.github.io/eks-charts", "3.4.2"),
    # evidence: kubernetes/autoscaler@cluster-autoscaler-chart-9.59.0:cluster-autoscaler/charts/cluster-autoscaler/Chart.yaml
    # (version 9.59.0, appVersion 1.35.0), listed in https://kubernetes.github.io/autoscaler/index.yaml.
    "cluster-autoscaler": ("https://kubernetes.github.io/autoscaler", "9.59.0"),
    # evidence: kubernetes-sigs/aws-ebs-csi-driver@helm-chart-aws-ebs-csi-driver-2.56.1:charts/aws-ebs-csi-driver/Chart.yaml
    # (version 2.56.1, appVersion 1.56.0), listed in https://kubernetes-sigs.github.io/aws-ebs-csi-driver/index.yaml.
    "aws-ebs-csi-driver": ("https://kubernetes-sigs.github.io/aws-ebs-csi-driver", "2.56.1"),
    # evidence: external-secrets/external-secrets@helm-chart-2.9.0:deploy/charts/external-secrets/Chart.yaml
    # (version 2.9.0, appVersion v2.9.0; serves external-secrets.io/v1), listed in
    # https://charts.external-secrets.io/index.yaml (gh-pages:index.yaml). Was 2.10.0: no such tag or index entry in the repository's
    # newest snapshot available to us (2026-08-08); only third-party notes mention it.
    "external-secrets": ("https://charts.external-secrets.io", "2.9.0"),
    # evidence: kubernetes-sigs/metrics-server@metrics-server-helm-chart-3.13.1:charts/metrics-server/Chart.yaml
    # (version 3.13.1, appVersion 0.8.1, for Kubernetes 1.31+), listed in
    # https://kubernetes-sigs.github.io/metrics-server/index.yaml. Was 3.14.0: in the newest snapshot
    # (2026-08-07) 3.14.0 was only an open pull request (#1846), neither tagged nor in the index.
    "metrics-server": ("https://kubernetes-sigs.github.io/metrics-server/", "3.13.1"),
}

#: cluster-autoscaler runs the image of the cluster's Kubernetes minor (its README: "We recommend using Cluster
#: Autoscaler with the Kubernetes control plane version for which it was meant"); chart 9.59.0 takes any of them
#: as ``image.tag``.
CLUSTER_AUTOSCALER_IMAGE_TAGS: dict[str, str] = {
    # evidence: kubernetes/autoscaler@cluster-autoscaler-1.35.0:cluster-autoscaler/version/version.go
    # (ClusterAutoscalerVersion = "1.35.0"), image registry.k8s.io/autoscaling/cluster-autoscaler:v1.35.0, the
    # default image.tag of chart 9.59.0. Patch releases v1.35.1 and v1.35.2 are tagged too.
    "1.35": "v1.35.0",
    # evidence: kubernetes/autoscaler@cluster-autoscaler-1.36.1:cluster-autoscaler/version/version.go
    # (ClusterAutoscalerVersion = "1.36.1", tagged 2026-07-22), image registry.k8s.io/autoscaling/cluster-autoscaler:v1.36.1.
    "1.36": "v1.36.1",
}
CLUSTER_AUTOSCALER_IMAGE_TAG = CLUSTER_AUTOSCALER_IMAGE_TAGS[KUBERNETES_VERSION]

#: The lowest Kubernetes minor each pinned chart release declares it runs on (none declares a ceiling; the
#: pre-flight's deprecated-API scan and EKS upgrade insights catch an API a new minor stops serving).
HELM_CHART_MIN_KUBERNETES: dict[str, str] = {
    # aws/eks-charts@v0.0.240:stable/aws-load-balancer-controller/README.md: "Chart version v1.5.0+ requires Kubernetes 1.22+"
    "aws-load-balancer-controller": "1.22",
    # kubernetes/autoscaler@cluster-autoscaler-chart-9.59.0:cluster-autoscaler/README.md: "1.34.x | 1.34.x | 9.51.0+"
    # (the image follows the minor: CLUSTER_AUTOSCALER_IMAGE_TAGS)
    "cluster-autoscaler": "1.34",
    # kubernetes-sigs/aws-ebs-csi-driver@helm-chart-aws-ebs-csi-driver-2.56.1:charts/aws-ebs-csi-driver/Chart.yaml
    # kubeVersion ">=1.17.0-0"
    "aws-ebs-csi-driver": "1.17",
    # external-secrets/external-secrets@helm-chart-2.9.0:deploy/charts/external-secrets/Chart.yaml kubeVersion
    # ">= 1.19.0-0". The project's own test matrix (docs/introduction/stability-support.md at that tag) lists 1.36 for
    # 2.9 and 1.35-1.36 for 2.8: 1.35 runs the external-secrets.io/v1 API both serve, but is outside 2.9's test matrix.
    "external-secrets": "1.19",
    # kubernetes-sigs/metrics-server@metrics-server-helm-chart-3.13.1:README.md compatibility matrix: 0.8.x
    # (the chart's appVersion 0.8.1) supports Kubernetes 1.31+
    "metrics-server": "1.31",
}

#: API version of the external-secrets CRDs served by the pinned chart.
EXTERNAL_SECRETS_API_VERSION = "external-secrets.io/v1"

# --- Data tier ------------------------------------------------------------------------------------
#: RDS PostgreSQL majors we accept and the oldest minor RDS still creates for each (AWS deprecation
#: notices: 15.4 ended 2025-03-31; 15.9-15.12 / 16.5-16.8 / 17.1-17.4 ended 2026-05-31).
POSTGRES_MIN_CREATABLE_MINOR = {15: 13, 16: 9, 17: 5}

#: Apache Kafka versions MSK supports for new provisioned clusters (3.5.1 to 3.8.x are past end of support).
MSK_KAFKA_VERSIONS = ("3.9.x", "3.9.x.kraft", "4.0.x.kraft", "4.1.x.kraft")

#: ElastiCache engines and versions, with their parameter group family. Every one supports IAM authentication
#: (Redis OSS 7.0+, Valkey 7.2+), the services' only way in (constructs_lib/cache.py).
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
