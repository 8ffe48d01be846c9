"""``globalpay-<env>-<region>-apps``: the GlobalPay services on one region's cluster.

Namespace, configuration, service account, SecretStore and ExternalSecret, Deployments, Services, PDBs, the
HPA, the Ingress and the NetworkPolicies (``constructs_lib.workloads``). Applied after the region's
``-addons`` stack (CRDs at plan time, the load balancer controller's webhook) and after the core stack of
the region holding the database writer, whose address the services get. The Ingress waits for its load
balancer, so every stack that reads the ALB (the region's ``-edge`` stack, the global stack) finds it.
"""

from __future__ import annotations

from constructs import Construct

from constructs_lib import irsa
from constructs_lib.config import EnvironmentConfig
from constructs_lib.naming import Naming
from constructs_lib.providers import aws
from constructs_lib.workloads import GlobalPayWorkloads, HpaSettings, WorkloadsProps
from regions.base import GlobalPayStack
from regions.cluster_access import kubernetes_provider
from regions.core import CoreOutputs
from regions.operations_layer import ALB_ACCESS_LOG_PREFIX, alb_name


def apps_stack_name(config: EnvironmentConfig, region: str) -> str:
    return Naming(config.name).stack(region, "apps")


class AppsStack(GlobalPayStack):
    def __init__(self, scope: Construct, config: EnvironmentConfig, core: CoreOutputs, writer: CoreOutputs, *, backend: str) -> None:
        """``core``: this region's core stack; ``writer``: the core stack holding the database writer (the
        primary region's after a failover, else ``database.origin_region``'s)."""
        region = core.region
        super().__init__(scope, apps_stack_name(config, region), config=config, region=region, backend=backend)
        if writer.data.database is None:
            raise ValueError(f"{writer.stack_name} holds no database writer")
        self.kubernetes_provider = kubernetes_provider(self, core)
        # The account id at apply time (image URIs): never a literal in the JSON.
        caller = aws.data_aws_caller_identity.DataAwsCallerIdentity(self, "caller")
        w, data = config.workloads, core.data
        self.workloads = GlobalPayWorkloads(self, "workloads", WorkloadsProps(
            env=config.name,
            environment_label=config.environment_label,
            region=region,
            account_id=caller.account_id,
            app_role_arn=core.compute.role_arn(irsa.app_service_account(w.namespace)),
            vpc_cidr=config.region(region).vpc_cidr,
            certificate_arn=self._certificate_arn(config, region),
            waf_acl_arn=core.operations.waf_acl_arn,
            api_hostname=config.edge.api_hostname,
            health_check_path=config.edge.health_check_path,
            load_balancer_name=alb_name(config.name),
            alb_access_log_bucket=core.operations.access_log_bucket_name,
            alb_access_log_prefix=ALB_ACCESS_LOG_PREFIX,
            services=w.services,
            database_peer_cidrs=tuple(r.vpc_cidr for r in config.regions if r.name != region),
            # Where the services find the data tier: Redis and Kafka of their region, the one writer.
            extra_config={
                "DATABASE_HOST": writer.data.database.writer_address,
                "DATABASE_PORT": str(config.database.port),
                "DATABASE_NAME": config.database.database_name,
                "REDIS_HOST": data.cache.primary_endpoint,
                "REDIS_PORT": str(data.cache.port),
                "REDIS_TLS": "true",
                # IAM authentication: the user, and the replication group id the token is signed for.
                "REDIS_AUTH_MODE": "iam",
                "REDIS_USER": data.cache.app_user,
                "REDIS_REPLICATION_GROUP_ID": data.cache.replication_group_id,
                "KAFKA_BROKERS": data.kafka.bootstrap_brokers_sasl_scram,
                "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            },
            namespace=w.namespace,
            log_level=w.log_level,
            database_secret_name=data.shared_secrets.database_credentials,
            hpa=HpaSettings(
                cpu_utilization=w.hpa_cpu_utilization,
                memory_utilization=w.hpa_memory_utilization,
            ),
        ))

    def _certificate_arn(self, config: EnvironmentConfig, region: str) -> str:
        """The configured ACM certificate, else the ISSUED one for the API hostname in this region (a
        documented prerequisite, docs/runbooks/deploy.md)."""
        configured = config.edge.certificate_arns.get(region)
        if configured:
            return configured
        cert = aws.data_aws_acm_certificate.DataAwsAcmCertificate(
            self, "api-certificate", domain=config.edge.api_hostname, statuses=["ISSUED"], most_recent=True
        )
        return cert.arn
