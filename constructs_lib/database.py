"""RDS PostgreSQL of one region (guide section 3): writer and/or read replicas, or the Aurora variant.

The topology is decided per *region*, never per role, so that a failover is a configuration change that
keeps every Terraform address and every DB identifier (see ``database_topology``):

* ``origin_region`` (us-east-1) holds ``globalpay-<env>-primary``, created here with the master user, and
  the same-region replica ``globalpay-<env>-replica-1`` in the region's second AZ.
* the other database region (whichever of primary/secondary is not the origin; eu-west-1) holds
  ``globalpay-<env>-replica-<geo>``: a cross-region replica of the origin's writer ARN (deterministic, no
  cross-stack reference) while the origin is the primary region; when ``primary_region`` names it, the
  same instance loses ``replicate_source_db`` (RDS promotes it in place) and gets writer settings.
* the tertiary region has no database.

A failback after a failover (``database.failback_step``, docs/runbooks/failback.md) goes through the same
addresses: the fenced old writer is released, retired (destroyed with a final snapshot, its log groups kept) and
re-seeded as a replica of the current writer under its old identifier, promoted back in a planned switch, and
the DR region's instance follows the same path until the original topology stands again.

**Fencing** (``database_fence``). A former writer that is neither the writer nor a replica now is *fenced*: its
region's database security group admits nobody (the services, and the other regions' subnets), its region's
writer parameter group sets ``default_transaction_read_only``, and its tags say why and who writes now.

The master password never appears in Terraform: an ephemeral Secrets Manager password goes to the writer's
write-only ``password_wo`` and to the credentials secret's ``secret_string_wo`` in the same apply. (RDS-
managed master passwords would be simpler but RDS refuses read replicas of such an instance.)

Upgrades (docs/runbooks/upgrade.md): replicas run ``replica_engine_version``, so a minor upgrade reaches them in
one change and the writer in the next (RDS upgrades replicas before their source); a major upgrade changes the
parameter group family, and the groups, named with their family, are replaced create-before-destroy: the new
group exists before the instances move to it, the old one goes after (``aws_rules`` AWS003, AWS004).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from cdktf import TerraformResourceLifecycle
from constructs import Construct

from constructs_lib.common import AccountContext, assume_role_policy, protected, security_group_rule
from constructs_lib.config import DatabaseConfig, EnvironmentConfig
from constructs_lib.database_audit import audit_parameters
from constructs_lib.naming import Naming
from constructs_lib.policy import suppress
from constructs_lib.providers import aws
from constructs_lib.secrets import EphemeralPassword

ENHANCED_MONITORING_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"


# ----------------------------------------------------------------------------------------------------
# Security groups shared by every data store
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DataStorePlacement:
    """Where a region's Redis and Kafka live and what protects them: the inputs both constructs share."""

    naming: Naming
    vpc_id: str
    #: The private subnets, one per AZ (the guide's cache subnet group and MSK client subnets).
    subnet_ids: Sequence[str]
    #: The only security group admitted as a client (the EKS worker nodes).
    client_security_group_id: str
    data_key_arn: str
    secrets_key_arn: str
    recovery_window_days: int
    log_retention_days: int


class DataStoreSecurityGroup(Construct):
    """A security group that admits only the EKS nodes' group, on the given ports, and allows no egress.

    Data stores never open connections (RDS/ElastiCache/MSK replication runs on AWS's own network), so the
    group has no egress rule at all (Terraform removes AWS's default allow-all rule on creation).

    ``peer_sources``: ``(label, cidr)`` of the *other* regions' EKS private subnets, for a store that pods
    of other regions reach over the transit gateway (only PostgreSQL: one writer for every region). A
    security group cannot reference a group of another region (inter-region transit gateway peering has
    no security group referencing), so those rules name the peer private subnets, never a VPC or 0.0.0.0/0.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        description: str,
        vpc_id: str,
        client_security_group_id: str,
        ports: Sequence[tuple[int, str]],
        peer_sources: Sequence[tuple[str, str]] = (),
        tags: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(scope, id)
        self.group = aws.security_group.SecurityGroup(
            self, "group", name=name, description=description, vpc_id=vpc_id, tags={"Name": name, **(tags or {})},
        )
        self.id: str = self.group.id
        for port, purpose in ports:
            security_group_rule(
                self, f"ingress-{port}", security_group_id=self.group.id,
                description=f"{purpose} from the EKS worker nodes", ports=port, peer_group_id=client_security_group_id,
            )
            for label, cidr in peer_sources:
                security_group_rule(
                    self, f"ingress-{port}-{label}", security_group_id=self.group.id,
                    description=f"{purpose} from {label} (EKS private subnet, via transit gateway)", ports=port, cidr=cidr,
                )


# ----------------------------------------------------------------------------------------------------
# Topology
# ----------------------------------------------------------------------------------------------------


def geo(region: str) -> str:
    """``eu-west-1`` -> ``eu``: the suffix of the guide's ``globalpay-prod-replica-eu``."""
    return region.split("-")[0]


@dataclass(frozen=True)
class InstanceSpec:
    """One RDS instance of a region.

    ``construct_id`` is the Terraform address contract (never derived from a role). ``created_as_writer``:
    the instance was created with the master user (the origin's primary, until a failback re-seeds it).
    ``replicate_from``: the source's ARN, in-region too (the provider refuses a bare identifier once
    ``db_subnet_group_name`` is set: "replicate_source_db must be an ARN"); empty for a writer.

    ``fenced``: a former writer that must refuse writes (``fence_note`` says why, in its tags). ``released``:
    deletion protection off, so that the next failback step can retire it. ``present`` false: a failback step
    retired it; its log groups (audit evidence) stay.
    """

    construct_id: str
    identifier: str
    instance_class: str
    writer: bool
    created_as_writer: bool = False
    replicate_from: str = ""
    same_region_source: bool = False
    availability_zone: str = ""
    fenced: bool = False
    fence_note: str = ""
    released: bool = False
    present: bool = True
    #: ``database.switch_id``: names the final snapshot of a released instance.
    switch_id: str = ""

    @property
    def final_snapshot_identifier(self) -> str:
        """``<identifier>-final``; a released instance's names its switch, so that a later failback never meets
        the snapshot of an earlier one (RDS refuses to delete an instance whose final snapshot name is taken)."""
        if self.released and self.switch_id:
            return f"{self.identifier}-final-{self.switch_id}"
        return f"{self.identifier}-final"


def database_regions(config: EnvironmentConfig) -> tuple[str, ...]:
    """The regions with a database: the origin and the other of primary/secondary (its DR replica)."""
    d = config.database
    out = [d.origin_region]
    if d.cross_region_replica:
        other = config.secondary_region if config.primary_region == d.origin_region else config.primary_region
        if other != d.origin_region:
            out.append(other)
    return tuple(out)


def database_fence(config: EnvironmentConfig, region: str) -> str:
    """Why ``region``'s database refuses every client ("" when it does not): the origin region from the failover
    until its old writer is retired, the DR region from the fence before the switchback until the original
    topology. A fenced region's database security group admits nobody and its writer parameter group makes
    every transaction read-only. (While the origin holds only the replica re-seeded from the DR writer, its
    group admits the services' subnets again: the replica is read-only by nature, and it is where an operator
    sees that it caught up.) The text goes into tags (RDS and EC2 allow letters, digits, spaces and
    _ . : / = + - @)."""
    d = config.database
    if region not in database_regions(config) or d.engine != "postgres":
        return ""
    origin, dr = d.origin_region, config.database_dr_region
    if dr not in database_regions(config):
        return ""  # no replica elsewhere: the origin's writer is the only one, whatever Route 53 says
    naming = Naming(config.name, region)
    since = f"since switch {d.switch_id}" if d.switch_id else "since the failover"
    if region == origin and config.primary_region != origin and d.failback_step not in ("reseed-origin", "fence-dr"):
        return f"writes refused {since} - the writer is {naming.name(f'replica-{geo(dr)}')} in {dr}"
    if region == dr and d.failback_step in ("fence-dr", "switchback", "release-dr", "retire-dr"):
        return f"writes refused {since} - the writer is {naming.name('primary')} in {origin}"
    return ""


def database_topology(
    config: EnvironmentConfig, region: str, account_id: str, azs: Sequence[str], partition: str = "aws"
) -> tuple[InstanceSpec, ...]:
    """The RDS instances of ``region`` (empty outside ``database_regions``), for the configuration's point of the
    failover / failback sequence (``primary_region``, ``database.failback_step``; table in docs/data-tier.md).

    A cross-region source is the other region's instance ARN spelled from its identifier and the account id,
    not a reference to the other region's stack (which would couple the two workspaces' states).
    """
    d = config.database
    if region not in database_regions(config):
        return ()
    origin, dr = d.origin_region, config.database_dr_region
    step = d.failback_step
    # Failed over: the writer moved to the DR region's replica (none without a cross-region replica).
    failed_over = config.primary_region != origin and dr in database_regions(config)
    names = Naming(config.name, region)
    primary_id, dr_id = names.name("primary"), names.name(f"replica-{geo(dr)}")
    origin_arn = f"arn:{partition}:rds:{origin}:{account_id}:db:{primary_id}"
    dr_arn = f"arn:{partition}:rds:{dr}:{account_id}:db:{dr_id}"
    switch = d.switch_id
    note = database_fence(config, region)

    if region == origin:
        released = step == "release-origin"
        if step == "retire-origin":
            primary = InstanceSpec("primary", primary_id, d.instance_class, writer=False, present=False)
        elif step in ("reseed-origin", "fence-dr"):
            primary = InstanceSpec("primary", primary_id, d.replica_instance_class, writer=False, replicate_from=dr_arn)
        elif step in ("switchback", "release-dr", "retire-dr"):
            # Promoted in place at the switchback: a writer, but not the one created with the master user.
            primary = InstanceSpec("primary", primary_id, d.instance_class, writer=True)
        elif failed_over:  # fenced until a failback step retires it
            primary = InstanceSpec(
                "primary", primary_id, d.instance_class, writer=False, created_as_writer=True, fenced=True,
                fence_note=note, released=released, switch_id=switch,
            )
        else:
            primary = InstanceSpec("primary", primary_id, d.instance_class, writer=True, created_as_writer=True)
        specs = [primary]
        if d.same_region_replica:
            # The same-region replica follows the old writer out and comes back with the original topology.
            present = step in ("", "release-origin")
            specs.append(InstanceSpec(
                "replica-1", names.name("replica-1"), d.replica_instance_class, writer=False,
                replicate_from=origin_arn, same_region_source=True, availability_zone=azs[1],
                released=released, present=present, switch_id=switch,
            ))
        return tuple(specs)
    construct_id = f"replica-{geo(region)}"
    if step in ("fence-dr", "switchback", "release-dr"):
        spec = InstanceSpec(
            construct_id, dr_id, d.instance_class, writer=False, fenced=True,
            fence_note=note, released=step == "release-dr", switch_id=switch,
        )
    elif step == "retire-dr":
        spec = InstanceSpec(construct_id, dr_id, d.instance_class, writer=False, present=False)
    elif failed_over:  # promoted in place (RDS keeps identifier and address)
        spec = InstanceSpec(construct_id, dr_id, d.instance_class, writer=True)
    else:
        spec = InstanceSpec(construct_id, dr_id, d.replica_instance_class, writer=False, replicate_from=origin_arn)
    return (spec,)


def writer_region(config: EnvironmentConfig) -> str:
    """Where the database writer runs: the primary region when it holds a database (after a failover, the
    promoted replica), else the origin region."""
    return config.primary_region if config.primary_region in database_regions(config) else config.database.origin_region


def postgres_family(engine: str, engine_version: str) -> str:
    """``postgres15`` / ``aurora-postgresql15``: parameter group family of the configured major."""
    return f"{engine}{engine_version.split('.')[0]}"


def scaled_shared_buffers(d: DatabaseConfig, memory_gib: dict[str, float], instance_class: str) -> int:
    """shared_buffers (8 kB pages) for ``instance_class``: the writer's ratio of memory, kept for a replica.

    The configured page count is sized for the writer class; a replica with half the memory gets half.
    """
    writer = memory_gib[d.instance_class]
    return max(16, int(d.shared_buffers_8kb_pages * memory_gib[instance_class] / writer))


# ----------------------------------------------------------------------------------------------------
# Construct
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DatabaseProps:
    """Inputs of a region's database. ``instances`` come from ``database_topology``.

    ``master_password``: the ephemeral password of the writer created in this region (required when an
    instance has ``created_as_writer``). ``log_retention_days``: CloudWatch retention of the exported logs.
    ``global_cluster_identifier`` (Aurora only): the global database joining the regions' clusters.
    """

    config: DatabaseConfig
    naming: Naming
    account: AccountContext
    region: str
    vpc_id: str
    subnet_ids: Sequence[str]
    client_security_group_id: str
    data_key_arn: str
    log_retention_days: int
    instances: Sequence[InstanceSpec]
    instance_memory_gib: dict[str, float] = field(default_factory=dict)
    master_password: EphemeralPassword | None = None
    aurora_origin: bool = False
    #: ``(label, cidr)`` of the other regions' EKS private subnets (their pods use this region's writer).
    peer_client_sources: Sequence[tuple[str, str]] = ()
    #: ``database_fence``: why this region's database admits no client; default "" (it admits them).
    fence_note: str = ""


@dataclass
class DatabaseOutputs:
    """What later layers need: identifiers (alarms), the writer's address (secrets), the security group."""

    instance_identifiers: list[str]
    #: The instances that replicate from another (RDS instance engine; Aurora replicas are cluster members).
    replica_identifiers: list[str]
    writer_identifier: str
    writer_address: str
    writer_fqn: str
    port: int
    security_group_id: str
    cluster_identifier: str = ""
    #: The writer's ``DbiResourceId`` (``cluster-...`` for Aurora): the resource of ``rds-db:connect``.
    writer_resource_id: str = ""


class PostgresDatabase(Construct):
    """Subnet group, parameter groups, security group, monitoring role, log groups and instances/cluster."""

    def __init__(self, scope: Construct, id: str, props: DatabaseProps) -> None:
        super().__init__(scope, id)
        self.props = props
        d, naming = props.config, props.naming
        self.subnet_group = aws.db_subnet_group.DbSubnetGroup(
            self,
            "subnet-group",
            name=naming.name("db-subnet-group"),
            description="Subnet group for GlobalPay databases (isolated database subnets)",
            subnet_ids=list(props.subnet_ids),
            tags={"Name": naming.name("db-subnet-group")},
        )
        # A fenced region admits nobody: no rule for the services of this region or of the others (the group's
        # description is ForceNew on AWS and stays as it is).
        fence = props.fence_note
        self.security_group = DataStoreSecurityGroup(
            self,
            "security-group",
            name=naming.name("database"),
            description="PostgreSQL from the EKS worker nodes only",
            vpc_id=props.vpc_id,
            client_security_group_id=props.client_security_group_id,
            ports=[] if fence else [(d.port, "PostgreSQL")],
            peer_sources=props.peer_client_sources,
            tags={"Fenced": fence} if fence else None,
        )
        self.monitoring_role = aws.iam_role.IamRole(
            self,
            "monitoring-role",
            name=naming.regional("rds-monitoring"),
            assume_role_policy=assume_role_policy("monitoring.rds.amazonaws.com", source_account=props.account.account_id),
        )
        # RDS validates the role's permissions when the instance is created: instances depend on the attachment,
        # not only on the role ARN (else "IAM role ARN value is invalid or does not include the required
        # permissions for: ENHANCED_MONITORING" on a first apply).
        self.monitoring_policy = aws.iam_role_policy_attachment.IamRolePolicyAttachment(
            self, "monitoring-policy", role=self.monitoring_role.name, policy_arn=ENHANCED_MONITORING_POLICY,
        )
        # Enhanced monitoring writes to this account-wide group; creating it ourselves encrypts it with our
        # key and bounds its retention (RDS would create it unencrypted, kept forever).
        self.os_metrics_log_group = aws.cloudwatch_log_group.CloudwatchLogGroup(
            self,
            "os-metrics-log-group",
            name="RDSOSMetrics",
            kms_key_id=props.data_key_arn,
            retention_in_days=props.log_retention_days,
            lifecycle=protected(),
        )
        if d.engine == "aurora-postgresql":
            self.outputs = self._aurora()
        else:
            self.outputs = self._instances()

    # -- RDS instances -----------------------------------------------------------------------------------

    def _parameter_group(
        self, construct_id: str, name: str, instance_class: str, *, read_only: bool = False
    ) -> aws.db_parameter_group.DbParameterGroup:
        """``read_only``: the writer group of a fenced region; every new transaction is read-only (a dynamic
        parameter: sessions pick it up at the next configuration reload, a reboot ends the ones already open)."""
        d = self.props.config
        buffers = scaled_shared_buffers(d, self.props.instance_memory_gib, instance_class)
        fence = [{"name": "default_transaction_read_only", "value": "1", "apply_method": "immediate"}] if read_only else []
        return aws.db_parameter_group.DbParameterGroup(
            self,
            construct_id,
            name=name,
            family=postgres_family(d.engine, d.engine_version),
            description=f"GlobalPay PostgreSQL parameters for {instance_class}",
            parameter=[
                # max_connections and shared_buffers are static: RDS only accepts pending-reboot for them.
                {"name": "max_connections", "value": str(d.max_connections), "apply_method": "pending-reboot"},
                {"name": "shared_buffers", "value": str(buffers), "apply_method": "pending-reboot"},
                {"name": "work_mem", "value": str(d.work_mem_kb), "apply_method": "immediate"},
                # PCI DSS 4.2.1: refuse unencrypted client connections (default 0 on PostgreSQL 15).
                {"name": "rds.force_ssl", "value": "1", "apply_method": "pending-reboot"},
                # PCI DSS 10.2: log connections and slow statements to CloudWatch; schema, role and cardholder
                # table changes through pgaudit, never a bind value (constructs_lib/database_audit.py).
                {"name": "log_min_duration_statement", "value": "1000", "apply_method": "immediate"},
                {"name": "log_connections", "value": "1", "apply_method": "immediate"},
                {"name": "log_disconnections", "value": "1", "apply_method": "immediate"},
                *fence,
                *audit_parameters(),
            ],
            tags={"Name": name},
            # Configuration, not data: a new family (a major upgrade) replaces the group, the new one first (its
            # name carries the family), then the instances move to it and the old one goes (aws_rules AWS003).
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
        )

    def _log_groups(self, construct_id: str, kind: str, identifier: str) -> list:
        """Pre-created export log groups: KMS-encrypted and with a bounded retention."""
        return [
            aws.cloudwatch_log_group.CloudwatchLogGroup(
                self,
                f"{construct_id}-log-{log}",
                name=f"/aws/rds/{kind}/{identifier}/{log}",
                kms_key_id=self.props.data_key_arn,
                retention_in_days=self.props.log_retention_days,
                lifecycle=protected(),  # PCI DSS 10.5: database audit logs (connections, DDL)
            )
            for log in self.props.config.log_exports
        ]

    def _instances(self) -> DatabaseOutputs:
        p, d, naming = self.props, self.props.config, self.props.naming
        family = postgres_family(d.engine, d.engine_version)
        writer_group = self._parameter_group("parameter-group", naming.name(family), d.instance_class,
                                             read_only=bool(p.fence_note))
        replica_group = self._parameter_group("replica-parameter-group", naming.name(family, "replica"), d.replica_instance_class)
        self.instances: dict[str, aws.db_instance.DbInstance] = {}
        self._by_identifier: dict[str, aws.db_instance.DbInstance] = {}
        present = [s for s in p.instances if s.present]
        for spec in p.instances:
            if not spec.present:
                # Retired by a failback step: the instance goes, its exported logs (audit evidence) stay.
                self._log_groups(spec.construct_id, "instance", spec.identifier)
                continue
            instance = self._instance(spec, replica_group if spec.replicate_from else writer_group)
            self.instances[spec.construct_id] = instance
            self._by_identifier[spec.identifier] = instance
        # The writer, else the first instance (a region of replicas or of a fenced former writer).
        spec = next((s for s in present if s.writer), present[0] if present else None)
        instance = self.instances[spec.construct_id] if spec else None
        #: The writer's resource (the first instance where the region has none): what runs against it waits for it.
        self.writer_resource = instance
        return DatabaseOutputs(
            instance_identifiers=[s.identifier for s in present],
            replica_identifiers=[s.identifier for s in present if s.replicate_from],
            writer_identifier=spec.identifier if spec else "",
            writer_address=instance.address if instance else "",
            writer_fqn=instance.fqn if instance else "",
            port=d.port,
            security_group_id=self.security_group.id,
            writer_resource_id=instance.resource_id if instance else "",
        )

    def _instance(self, spec: InstanceSpec, parameter_group) -> aws.db_instance.DbInstance:
        p, d = self.props, self.props.config
        log_groups = self._log_groups(spec.construct_id, "instance", spec.identifier)
        kwargs: dict = {}
        if spec.created_as_writer:
            assert p.master_password is not None, "the writer created in this region needs its master password"
            kwargs.update(
                username=d.master_username,
                password_wo=p.master_password.interpolation,
                password_wo_version=d.password_version,
                db_name=d.database_name,
            )
        if spec.replicate_from:
            # RDS writes no final snapshot of a replica; a promoted replica gets one (writer branch below).
            kwargs.update(replicate_source_db=spec.replicate_from, skip_final_snapshot=True,
                          backup_retention_period=d.replica_backup_retention_days, multi_az=False)
            if spec.availability_zone:
                kwargs["availability_zone"] = spec.availability_zone
        else:
            kwargs.update(
                multi_az=d.multi_az,
                backup_retention_period=d.backup_retention_days,
                skip_final_snapshot=False,
                final_snapshot_identifier=spec.final_snapshot_identifier,
            )
        if d.iops:
            kwargs.update(iops=d.iops, storage_throughput=d.storage_throughput_mbps)
        depends = [*log_groups, self.monitoring_policy]
        if spec.same_region_source:
            depends.append(self._by_identifier[spec.replicate_from.rsplit(":", 1)[-1]])
        tags = {"Name": spec.identifier, "Role": "fenced" if spec.fenced else "writer" if spec.writer else "replica"}
        if spec.fenced:
            tags["Fenced"] = spec.fence_note
        if spec.released:
            tags["Released"] = f"deletion protection off for the next failback step (switch {spec.switch_id})"
        instance = aws.db_instance.DbInstance(
            self,
            spec.construct_id,
            identifier=spec.identifier,
            instance_class=spec.instance_class,
            engine=d.engine,
            # Replicas take a minor upgrade a change before their source (validation._replica_engine_version).
            engine_version=d.replica_engine_version if spec.replicate_from else d.engine_version,
            auto_minor_version_upgrade=d.auto_minor_version_upgrade,
            allow_major_version_upgrade=d.allow_major_version_upgrade,
            allocated_storage=d.allocated_storage_gb,
            max_allocated_storage=d.max_allocated_storage_gb or None,
            storage_type=d.storage_type,
            storage_encrypted=True,
            # A same-region replica inherits its source's key and RDS refuses one named (aws_rules AWS001);
            # the attribute is optional and computed, so leaving it out plans no change.
            kms_key_id=None if spec.same_region_source else p.data_key_arn,
            port=d.port,
            db_subnet_group_name=self.subnet_group.name,
            vpc_security_group_ids=[self.security_group.id],
            parameter_group_name=parameter_group.name,
            publicly_accessible=False,
            backup_window=d.backup_window,
            maintenance_window=d.maintenance_window,
            enabled_cloudwatch_logs_exports=list(d.log_exports),
            deletion_protection=not spec.released,
            apply_immediately=d.apply_immediately,
            copy_tags_to_snapshot=True,
            delete_automated_backups=False,
            iam_database_authentication_enabled=True,
            performance_insights_enabled=True,
            performance_insights_kms_key_id=p.data_key_arn,
            performance_insights_retention_period=d.performance_insights_retention_days,
            database_insights_mode=d.database_insights_mode,
            monitoring_interval=d.monitoring_interval_seconds,
            monitoring_role_arn=self.monitoring_role.arn,
            ca_cert_identifier="rds-ca-rsa2048-g1",
            tags=tags,
            depends_on=depends,
            lifecycle=None if spec.released else protected(),
            **kwargs,
        )
        if spec.released:
            suppress(instance, "GP007", reason=(
                f"released by failback step for switch {spec.switch_id}: the next step retires it "
                "(final snapshot kept; docs/runbooks/failback.md)"))
        return instance

    # -- Aurora (the guide's CDK example) ----------------------------------------------------------------

    def _aurora(self) -> DatabaseOutputs:
        """One Aurora cluster per database region, joined by a global database created in the origin region.

        Cross-region Aurora PostgreSQL replication is only offered through a global database; which
        cluster writes is then decided by ``aws rds switchover-global-cluster`` / ``failover-global-cluster``,
        not by Terraform, so addresses and settings do not depend on ``primary_region``.
        """
        p, d, naming = self.props, self.props.config, self.props.naming
        family = postgres_family(d.engine, d.engine_version)
        origin = p.aurora_origin
        global_id = naming.name("global")
        cluster_params = aws.rds_cluster_parameter_group.RdsClusterParameterGroup(
            self,
            "cluster-parameter-group",
            name=naming.name(family, "cluster"),
            family=family,
            description="GlobalPay Aurora PostgreSQL cluster parameters",
            parameter=[
                {"name": "rds.force_ssl", "value": "1", "apply_method": "pending-reboot"},
                {"name": "log_min_duration_statement", "value": "1000", "apply_method": "immediate"},
                *audit_parameters(),
            ],
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
        )
        # Aurora sizes its own buffer cache from the instance class: shared_buffers is left to it.
        instance_params = aws.db_parameter_group.DbParameterGroup(
            self,
            "parameter-group",
            name=naming.name(family),
            family=family,
            description="GlobalPay Aurora PostgreSQL instance parameters",
            parameter=[
                {"name": "max_connections", "value": str(d.max_connections), "apply_method": "pending-reboot"},
                {"name": "work_mem", "value": str(d.work_mem_kb), "apply_method": "immediate"},
            ],
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
        )
        cluster_id = naming.name("aurora") if origin else naming.name("aurora", geo(p.region))
        log_groups = self._log_groups("cluster", "cluster", cluster_id)
        kwargs: dict = {}
        if origin:
            self.global_cluster = aws.rds_global_cluster.RdsGlobalCluster(
                self,
                "global-cluster",
                global_cluster_identifier=global_id,
                engine=d.engine,
                engine_version=d.engine_version,
                database_name=d.database_name,
                storage_encrypted=True,
                deletion_protection=True,
                lifecycle=protected(),
            )
            assert p.master_password is not None
            kwargs.update(
                global_cluster_identifier=self.global_cluster.id,
                master_username=d.master_username,
                master_password_wo=p.master_password.interpolation,
                master_password_wo_version=d.password_version,
                database_name=d.database_name,
            )
            lifecycle = protected()
        else:
            kwargs.update(global_cluster_identifier=global_id)
            lifecycle = protected(ignore_changes=["replication_source_identifier"])
        self.cluster = aws.rds_cluster.RdsCluster(
            self,
            "cluster",
            cluster_identifier=cluster_id,
            engine=d.engine,
            engine_version=d.engine_version,
            db_subnet_group_name=self.subnet_group.name,
            vpc_security_group_ids=[self.security_group.id],
            db_cluster_parameter_group_name=cluster_params.name,
            port=d.port,
            storage_encrypted=True,
            kms_key_id=p.data_key_arn,
            backup_retention_period=d.backup_retention_days,
            preferred_backup_window=d.backup_window,
            preferred_maintenance_window=d.maintenance_window,
            enabled_cloudwatch_logs_exports=[log for log in d.log_exports if log != "upgrade"] or ["postgresql"],
            deletion_protection=True,
            copy_tags_to_snapshot=True,
            skip_final_snapshot=False,
            final_snapshot_identifier=f"{cluster_id}-final",
            iam_database_authentication_enabled=True,
            allow_major_version_upgrade=d.allow_major_version_upgrade,
            tags={"Name": cluster_id},
            depends_on=log_groups,
            lifecycle=lifecycle,
            **kwargs,
        )
        identifiers = []
        members = []
        for i in range(d.aurora_instances):
            identifier = f"{cluster_id}-{i + 1}"
            identifiers.append(identifier)
            members.append(aws.rds_cluster_instance.RdsClusterInstance(
                self,
                f"instance-{i + 1}",
                identifier=identifier,
                cluster_identifier=self.cluster.id,
                instance_class=d.instance_class,
                engine=d.engine,
                engine_version=d.engine_version,
                db_subnet_group_name=self.subnet_group.name,
                db_parameter_group_name=instance_params.name,
                publicly_accessible=False,
                auto_minor_version_upgrade=d.auto_minor_version_upgrade,
                copy_tags_to_snapshot=True,
                performance_insights_enabled=True,
                performance_insights_kms_key_id=p.data_key_arn,
                performance_insights_retention_period=d.performance_insights_retention_days,
                monitoring_interval=d.monitoring_interval_seconds,
                monitoring_role_arn=self.monitoring_role.arn,
                ca_cert_identifier="rds-ca-rsa2048-g1",
                tags={"Name": identifier},
                depends_on=[self.monitoring_policy],
                lifecycle=protected(),
            ))
        # The cluster endpoint answers once an instance runs.
        self.writer_resource = members[0]
        return DatabaseOutputs(
            instance_identifiers=identifiers,
            replica_identifiers=[],
            writer_identifier=cluster_id,
            writer_address=self.cluster.endpoint,
            writer_fqn=self.cluster.fqn,
            port=d.port,
            security_group_id=self.security_group.id,
            cluster_identifier=cluster_id,
            writer_resource_id=self.cluster.cluster_resource_id,
        )


def credentials_secret_value(config: DatabaseConfig, password: EphemeralPassword, writer_fqn: str) -> str:
    """``secret_string_wo`` of ``database/credentials``: the guide's JSON, built at apply time.

    Written as one raw Terraform expression (``writer_fqn``: the writer resource's address, e.g.
    ``aws_db_instance.x``): cdktf's ``Fn.jsonencode`` would escape the ephemeral reference into a literal
    string. The result is ephemeral (it holds the password): Terraform accepts it only in a write-only argument.
    """
    fields = {
        "username": json.dumps(config.master_username),
        "password": password.ref,
        "engine": json.dumps("postgres"),
        # No instance in the origin region (a failback step retired it): the value is only written when
        # password_version changes, which a switch never does (docs/runbooks/rotate-secrets.md).
        "host": f"{writer_fqn}.address" if writer_fqn else json.dumps(""),
        "port": str(config.port),
        "dbname": json.dumps(config.database_name),
    }
    return json_expression(fields)


def json_expression(fields: dict[str, str]) -> str:
    """``${jsonencode({k = <expr>, ...})}`` from already-rendered Terraform expressions (values not quoted)."""
    body = ", ".join(f"{json.dumps(k)} = {v}" for k, v in fields.items())
    return "${jsonencode({" + body + "})}"
