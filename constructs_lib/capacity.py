"""What a region's node group can schedule, against what the services may ask for at their HPA maxima.

The validator (``validation._capacity``) refuses a configuration whose node group, at its maximum size, cannot
hold every service at its HPA maximum plus the pods a rolling update adds (``max_surge`` of each Deployment, all
at once: a ConfigMap change, a failover for instance, rolls every service together), next to the add-ons' own
pods. Requests, not usage, are what the scheduler places: a pod that does not fit stays Pending, whatever the
nodes' actual load. Pure Python, no provider bindings: it runs before anything is synthesized.

Where each figure comes from is written next to it. A figure for a pod this platform installs with a chart is
the chart's default request at the pinned version; where a chart sets no request the pod counts zero (the
scheduler counts it zero too).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from constructs_lib.config import ClusterConfig, ServiceConfig


@dataclass(frozen=True)
class InstanceShape:
    """An EC2 instance type as the scheduler sees it."""

    vcpus: int
    memory_mib: int
    #: Pods the VPC CNI can address without prefix delegation: ENIs x (IPv4 addresses per ENI - 1) + 2.
    max_pods: int
    #: Baseline CPU per vCPU of a burstable (T) type, as a fraction; None for a fixed-performance type.
    burstable_baseline: float | None = None


#: vCPUs and memory: Amazon EC2 instance types (https://aws.amazon.com/ec2/instance-types/); ENIs and addresses
#: per ENI: awslabs/amazon-eks-ami@81fec2e895854f599974fe4d3d72f61c0a9aaffa:nodeadm/internal/kubelet/instance-info.jsonl
#: (t3.xlarge, m5.xlarge, m6i.xlarge, m7i.xlarge, t3.2xlarge: 4 ENIs x 15 addresses -> 58 pods); T3 baseline:
#: EC2 User Guide, "Key concepts for burstable performance instances" (t3.xlarge and t3.2xlarge: 40% per vCPU).
INSTANCE_SHAPES: dict[str, InstanceShape] = {
    "t3.xlarge": InstanceShape(vcpus=4, memory_mib=16384, max_pods=58, burstable_baseline=0.40),
    "t3.2xlarge": InstanceShape(vcpus=8, memory_mib=32768, max_pods=58, burstable_baseline=0.40),
    "m5.xlarge": InstanceShape(vcpus=4, memory_mib=16384, max_pods=58),
    "m6i.xlarge": InstanceShape(vcpus=4, memory_mib=16384, max_pods=58),
    "m7i.xlarge": InstanceShape(vcpus=4, memory_mib=16384, max_pods=58),
}

#: Memory the kubelet evicts below (nodeadm's evictionHard memory.available), MiB:
#: awslabs/amazon-eks-ami@81fec2e895854f599974fe4d3d72f61c0a9aaffa:nodeadm/internal/kubelet/config.go.
EVICTION_HARD_MIB = 100


def kube_reserved_cpu_millis(vcpus: int) -> int:
    """CPU the EKS AL2023 AMI reserves for the kubelet and runtime: 6% of the first core, 1% of the second, 0.5%
    of the third and fourth, 0.25% of every further one (nodeadm ``getCPUMillicoresToReserve``, same file)."""
    total = vcpus * 1000
    reserved = 0.0
    for start, end, share in ((0, 1000, 0.06), (1000, 2000, 0.01), (2000, 4000, 0.005), (4000, total, 0.0025)):
        if total > start:
            reserved += (min(total, end) - start) * share
    return int(reserved)


def kube_reserved_memory_mib(max_pods: int) -> int:
    """Memory the AMI reserves: 11 MiB per pod it can host plus 255 MiB (nodeadm ``getMemoryMebibytesToReserve``)."""
    return 11 * max_pods + 255


@dataclass(frozen=True)
class Requests:
    cpu_millis: int
    memory_mib: int

    def __add__(self, other: Requests) -> Requests:
        return Requests(self.cpu_millis + other.cpu_millis, self.memory_mib + other.memory_mib)

    def __mul__(self, n: int) -> Requests:
        return Requests(self.cpu_millis * n, self.memory_mib * n)


#: Pods every node runs (DaemonSets of the managed add-ons and the charts), with their requests.
PER_NODE_SYSTEM_PODS: dict[str, Requests] = {
    # aws/eks-charts@v0.0.235:stable/aws-vpc-cni/values.yaml: resources.requests.cpu 25m (the network-policy agent
    # container sets none)
    "aws-node": Requests(25, 0),
    # the EKS kube-proxy add-on's DaemonSet requests 100m CPU; no stored copy of its manifest was available, so
    # this is a budget, not a transcription (check: kubectl -n kube-system get ds kube-proxy -o jsonpath='{..requests}')
    "kube-proxy": Requests(100, 0),
    # budget for the eks-pod-identity-agent DaemonSet (AWS publishes no chart for the add-on)
    "eks-pod-identity-agent": Requests(25, 32),
    # kubernetes-sigs/aws-ebs-csi-driver@helm-chart-aws-ebs-csi-driver-2.56.1:charts/aws-ebs-csi-driver/values.yaml
    # node.resources.requests 10m / 40Mi, the default of each of its three containers (templates/_node.tpl)
    "ebs-csi-node": Requests(3 * 10, 3 * 40),
    # aws-observability/helm-charts@amazon-cloudwatch-observability-4.5.0:charts/amazon-cloudwatch-observability/values.yaml:
    # agent.resources.requests 250m / 128Mi, containerLogs.fluentBit.resources.requests 50m / 25Mi
    "cloudwatch-agent": Requests(250, 128),
    "fluent-bit": Requests(50, 25),
}

#: Pods the cluster runs once (Deployments of the add-ons): (requests of one pod, replicas).
CLUSTER_SYSTEM_PODS: dict[str, tuple[Requests, int]] = {
    # 2 replicas (the EKS add-on's default) of the upstream CoreDNS manifest's requests, 100m / 70Mi
    # (kubernetes/kubernetes cluster/addons/dns/coredns/coredns.yaml.base)
    "coredns": (Requests(100, 70), 2),
    # kubernetes-sigs/metrics-server@metrics-server-helm-chart-3.13.1:charts/metrics-server/values.yaml requests
    # 100m / 200Mi, 2 replicas (constructs_lib/addons.py)
    "metrics-server": (Requests(100, 200), 2),
    # ebs-csi-controller: 2 replicas (values.yaml controller.replicaCount), 6 containers x 10m / 40Mi
    # (controller.resources, the sidecars' default: templates/controller.yaml)
    "ebs-csi-controller": (Requests(6 * 10, 6 * 40), 2),
    # the CloudWatch agent operator: manager.resources.requests 100m / 64Mi (chart 4.5.0 values.yaml)
    "amazon-cloudwatch-observability-controller-manager": (Requests(100, 64), 1),
    # aws-load-balancer-controller 3.4.2 (2 replicas, constructs_lib/addons.py), cluster-autoscaler 9.59.0 and
    # external-secrets 2.9.0 (controller, webhook, cert-controller) set no requests ("resources: {}" in each chart's
    # values.yaml at its pinned tag): zero CPU and memory, as for the scheduler, but a pod slot each.
    "aws-load-balancer-controller": (Requests(0, 0), 2),
    "cluster-autoscaler": (Requests(0, 0), 1),
    "external-secrets": (Requests(0, 0), 3),
}


def cpu_millis(quantity: str) -> int:
    """``500m`` -> 500, ``2`` -> 2000 (the validator has refused any other form before this runs)."""
    m = re.fullmatch(r"(\d+)(m?)", quantity)
    if not m:
        raise ValueError(f"not a CPU quantity: {quantity!r}")
    return int(m[1]) if m[2] else int(m[1]) * 1000


def memory_mib(quantity: str) -> int:
    m = re.fullmatch(r"(\d+)(Ki|Mi|Gi|Ti)?", quantity)
    if not m:
        raise ValueError(f"not a memory quantity: {quantity!r}")
    factor = {None: 1 / 1024**2, "Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "Ti": 1024**2}[m[2]]
    return math.ceil(int(m[1]) * factor)


#: Nodes a managed node group update (a new AMI release or Kubernetes version) takes down at a time (the node
#: group's ``update_config``, constructs_lib/cluster.py).
NODE_UPDATE_MAX_UNAVAILABLE = 1

#: The Deployments' rolling update adds up to this share of the replicas (``max_surge`` in workloads.py).
ROLLOUT_SURGE_PERCENT = 25


def surge_pods(replicas: int) -> int:
    """Pods a rolling update adds on top of ``replicas`` (Kubernetes rounds a percentage surge up)."""
    return math.ceil(replicas * ROLLOUT_SURGE_PERCENT / 100)


@dataclass(frozen=True)
class CapacityReport:
    """The node group's room against the services' demand, per resource."""

    instance_type: str
    nodes: int
    #: Per node, what pods may request after the AMI's reservations and the DaemonSets.
    node_cpu_millis: int
    node_memory_mib: int
    node_pods: int
    #: The services at their HPA maxima plus a rollout surge of each, and the add-ons' cluster-wide pods.
    demand: Requests
    demand_pods: int
    #: Nodes the demand needs (the largest of CPU, memory and pod slots).
    nodes_needed: int

    @property
    def fits(self) -> bool:
        return self.nodes >= self.nodes_needed

    def summary(self) -> str:
        return (f"{self.nodes} x {self.instance_type} offer {self.nodes * self.node_cpu_millis / 1000:g} vCPU, "
                f"{self.nodes * self.node_memory_mib / 1024:.0f} GiB and {self.nodes * self.node_pods} pod slots to pods; "
                f"the services at their HPA maxima with a {ROLLOUT_SURGE_PERCENT}% rollout surge and the add-ons request "
                f"{self.demand.cpu_millis / 1000:g} vCPU, {self.demand.memory_mib / 1024:.0f} GiB and {self.demand_pods} pods: "
                f"{self.nodes_needed} nodes needed")


def schedulable_per_node(instance_type: str) -> tuple[int, int, int]:
    """(CPU millicores, memory MiB, pod slots) pods may request on one node of ``instance_type``."""
    shape = INSTANCE_SHAPES[instance_type]
    daemons = Requests(0, 0)
    for requests in PER_NODE_SYSTEM_PODS.values():
        daemons = daemons + requests
    cpu = shape.vcpus * 1000 - kube_reserved_cpu_millis(shape.vcpus) - daemons.cpu_millis
    memory = shape.memory_mib - kube_reserved_memory_mib(shape.max_pods) - EVICTION_HARD_MIB - daemons.memory_mib
    pods = shape.max_pods - len(PER_NODE_SYSTEM_PODS)
    return cpu, memory, pods


def service_demand(services: Sequence[ServiceConfig]) -> tuple[Requests, int]:
    """Requests and pod count of every service at its HPA maximum plus its rollout surge."""
    total, pods = Requests(0, 0), 0
    for s in services:
        n = s.max_replicas + surge_pods(s.max_replicas)
        total = total + Requests(cpu_millis(s.cpu_request), memory_mib(s.memory_request)) * n
        pods += n
    return total, pods


def capacity(cluster: ClusterConfig, services: Sequence[ServiceConfig]) -> CapacityReport:
    """The node group at ``node_max_size`` of its smallest instance type (a mixed group may get that one) against
    the services' demand. Instance types without a known shape are not judged (the caller checks that first)."""
    itype = min(cluster.node_instance_types, key=lambda t: INSTANCE_SHAPES[t].vcpus)
    cpu, memory, slots = schedulable_per_node(itype)
    demand, pods = service_demand(services)
    for requests, replicas in CLUSTER_SYSTEM_PODS.values():
        demand = demand + requests * replicas
        pods += replicas
    needed = max(math.ceil(demand.cpu_millis / cpu), math.ceil(demand.memory_mib / memory), math.ceil(pods / slots))
    return CapacityReport(itype, cluster.node_max_size, cpu, memory, slots, demand, pods, needed)


def vcpu_quota_needed(cluster: ClusterConfig, azs: int) -> int:
    """On-Demand vCPUs a region needs: the node group at its maximum, plus what a managed node group update adds
    while it replaces nodes ("the larger of up to twice the number of Availability Zones ... or the maximum
    unavailable", EKS User Guide, "Managed node update behavior", scale up phase), of the largest instance type."""
    itype = max(cluster.node_instance_types, key=lambda t: INSTANCE_SHAPES[t].vcpus)
    surge = max(2 * azs, NODE_UPDATE_MAX_UNAVAILABLE)
    return (cluster.node_max_size + surge) * INSTANCE_SHAPES[itype].vcpus
