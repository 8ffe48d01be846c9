"""``globalpay-<env>-<region>-apps``: the GlobalPay services on one region's cluster.

Namespace, configuration, one service account per service, their SecretStores and ExternalSecrets,
Deployments, Services, PDBs, the HPA, the Ingress and the NetworkPolicies (``constructs_lib.workloads``); and
each service's permission to log in to the database writer (``rds-db:connect`` as its own PostgreSQL role,
``constructs_lib.identity.DatabaseConnectPolicy``), which follows the writer exactly like ``DATABASE_HOST``.
Applied after the region's ``-addons`` stack (CRDs at plan time, the load balancer controller's webhook) and
after the core stack of the region holding the database writer, whose address and resource id the services
get. The Ingress waits for its load balancer, so every stack that reads the ALB (the region's ``-edge`` stack,
the global stack) finds it.
"""

from __future__ import annotations

from constructs import Construct

from constructs_lib.access import identities
from constructs_lib.config import EnvironmentConfig
from constructs_lib.database import writer_region
from constructs_lib.identity import DatabaseConnectPolicy, DatabaseConnectProps
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
        naming = Naming(config.name, region)
        services = identities(naming, w.services)
        # The services' database login names the writer: its region and resource id, from its core stack.
        partition = aws.data_aws_partition.DataAwsPartition(self, "partition").partition
        DatabaseConnectPolicy(self, "database-login", DatabaseConnectProps(
            naming=naming,
            account_id=caller.account_id,
            partition=partition,
            roles={s.service: (core.service_role_names[s.service], s.postgres_role) for s in services if s.postgres_role},
            writer_region=writer_region(config),
            writer_resource_id=writer.data.database.writer_resource_id,
        ))
        self.workloads = GlobalPayWorkloads(self, "workloads", WorkloadsProps(
            env=config.name,
            environment_label=config.environment_label,
            region=region,
            account_id=caller.account_id,
            identities=services,
            service_role_arns=core.service_role_arns,
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
                # IAM database authentication: each pod signs a token for its own DATABASE_USER, over TLS.
                "DATABASE_AUTH_MODE": "iam",
                "DATABASE_SSLMODE": "verify-full",
                "REDIS_TLS": "true",
                # IAM authentication: the replication group id the token is signed for (each pod's REDIS_USER).
                "REDIS_AUTH_MODE": "iam",
                "REDIS_REPLICATION_GROUP_ID": data.cache.replication_group_id,
                # MSK IAM access control (SASL mechanism AWS_MSK_IAM, port 9098, TLS).
                "KAFKA_BROKERS": data.kafka.bootstrap_brokers_sasl_iam,
                "KAFKA_SASL_MECHANISM": "AWS_MSK_IAM",
            },
            namespace=w.namespace,
            log_level=w.log_level,
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
