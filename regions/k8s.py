"""``globalpay-<env>-<region>-k8s``: everything that talks to the Kubernetes API of one region's cluster.

Why a separate workspace (DESIGN.md, "Stacks"): the kubernetes and helm providers must be configured from a
cluster that already exists. This stack reads the cluster endpoint, CA and IRSA role ARNs from the core
stack through cdktf cross-stack references, which synthesize to ``terraform_remote_state``; no provider here
is configured from a resource of this stack's own state. Both providers authenticate with ``exec``
(``aws eks get-token``), so no token is ever stored in state and it is fresh on every run.

Deploy it after its core stack (cdktf orders them by the cross-stack references), as the cluster's admin
role (``cluster.admin_role_name``): the cluster grants nobody else access (access entries, API mode).
"""

from __future__ import annotations

from cdktf import Fn
from constructs import Construct

from constructs_lib import irsa
from constructs_lib.addons import AddonsProps, ClusterAddons
from constructs_lib.config import EnvironmentConfig
from constructs_lib.providers import aws, helm, kubernetes
from constructs_lib.workloads import GlobalPayWorkloads, HpaSettings, WorkloadsProps
from regions.base import GlobalPayStack
from regions.core import RegionCoreStack, core_stack_name

#: Client authentication API of ``aws eks get-token`` (v1alpha1 was removed from kubectl/client-go).
EXEC_API_VERSION = "client.authentication.k8s.io/v1beta1"


def k8s_stack_name(config: EnvironmentConfig, region: str) -> str:
    return f"{core_stack_name(config, region)}-k8s"


class KubernetesStack(GlobalPayStack):
    def __init__(self, scope: Construct, config: EnvironmentConfig, core: RegionCoreStack, *, backend: str) -> None:
        region = core.region
        super().__init__(scope, k8s_stack_name(config, region), config=config, region=region, backend=backend)
        compute = core.compute
        if compute is None:
            raise ValueError(f"{core.stack_name} has no compute layer: the -k8s stack needs its cluster")

        # ---- Providers: endpoint and CA from the core stack's remote state, short-lived tokens via exec.
        exec_config = {
            "api_version": EXEC_API_VERSION,
            "command": "aws",
            "args": ["eks", "get-token", "--cluster-name", core.cluster_name, "--region", region, "--output", "json"],
        }
        host = compute.endpoint
        ca = Fn.base64decode(compute.certificate_authority_data)
        self.kubernetes_provider = kubernetes.provider.KubernetesProvider(
            self, "kubernetes", host=host, cluster_ca_certificate=ca, exec=[exec_config]
        )
        self.helm_provider = helm.provider.HelmProvider(
            self, "helm", kubernetes={"host": host, "cluster_ca_certificate": ca, "exec": exec_config}
        )

        # The account id at apply time (image URIs): never a literal in the JSON.
        caller = aws.data_aws_caller_identity.DataAwsCallerIdentity(self, "caller")

        self.addons = ClusterAddons(
            self,
            "addons",
            AddonsProps(
                cluster_name=core.cluster_name,
                region=region,
                vpc_id=core.network.vpc_id,
                data_key_arn=core.keys.data_key_arn,
                load_balancer_controller_role_arn=compute.role_arn(irsa.LOAD_BALANCER_CONTROLLER),
                cluster_autoscaler_role_arn=compute.role_arn(irsa.CLUSTER_AUTOSCALER),
                ebs_csi_role_arn=compute.role_arn(irsa.EBS_CSI_CONTROLLER),
                external_secrets_role_arn=compute.role_arn(irsa.EXTERNAL_SECRETS),
                provider=self.helm_provider,
            ),
        )

        w = config.workloads
        self.workloads = GlobalPayWorkloads(
            self,
            "workloads",
            WorkloadsProps(
                env=config.name,
                environment_label=config.environment_label,
                region=region,
                account_id=caller.account_id,
                app_role_arn=compute.role_arn(irsa.app_service_account(w.namespace)),
                vpc_cidr=core.network.vpc_cidr,
                certificate_arn=self._certificate_arn(config, region),
                waf_acl_arn=self._waf_acl_arn(core),
                api_hostname=config.edge.api_hostname,
                health_check_path=config.edge.health_check_path,
                load_balancer_name=self.naming.name("api"),
                services=w.services,
                database_peer_cidrs=tuple(r.vpc_cidr for r in config.regions if r.name != region),
                # Where the services find Redis and Kafka of their region (remote state of the core stack).
                extra_config={
                    "REDIS_HOST": core.data.cache.primary_endpoint,
                    "REDIS_PORT": str(core.data.cache.port),
                    "REDIS_TLS": "true",
                    "KAFKA_BROKERS": core.data.kafka.bootstrap_brokers_sasl_scram,
                    "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
                },
                namespace=w.namespace,
                log_level=w.log_level,
                database_secret_name=self.naming.path("database", "credentials"),
                hpa=HpaSettings(
                    min_replicas=w.hpa_min_replicas,
                    max_replicas=w.hpa_max_replicas,
                    cpu_utilization=w.hpa_cpu_utilization,
                    memory_utilization=w.hpa_memory_utilization,
                ),
                # CRDs (external-secrets) and webhooks (load balancer controller) exist before the workloads.
                depends_on=list(self.addons.releases.values()),
            ),
        )

    def _certificate_arn(self, config: EnvironmentConfig, region: str) -> str:
        """The configured ACM certificate, else the ISSUED one for the API hostname in this region."""
        configured = config.edge.certificate_arns.get(region)
        if configured:
            return configured
        cert = aws.data_aws_acm_certificate.DataAwsAcmCertificate(
            self, "api-certificate", domain=config.edge.api_hostname, statuses=["ISSUED"], most_recent=True
        )
        return cert.arn

    def _waf_acl_arn(self, core: RegionCoreStack) -> str:
        """The core stack's regional web ACL (issue 5) when it exposes one, else a lookup by its fixed name.

        The lookup keeps this stack synthesizable before the edge layer exists; once ``core.edge.waf_acl_arn``
        is there the ARN arrives by remote state and the data source disappears from the JSON.
        """
        edge = getattr(core, "edge", None)
        arn = getattr(edge, "waf_acl_arn", None) if edge is not None else None
        if arn:
            return arn
        acl = aws.data_aws_wafv2_web_acl.DataAwsWafv2WebAcl(self, "waf-acl", name=self.naming.name("waf"), scope="REGIONAL")
        return acl.arn
