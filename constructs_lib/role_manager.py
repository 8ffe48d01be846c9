"""The role manager: a Lambda function in the database's VPC that keeps the services' PostgreSQL roles, run by
the deploy (PCI DSS 7.2.1, 7.2.2, 8.2.2).

Why a Lambda function invoked by Terraform: the roles must exist before the services start and change with the
configuration, in the same reviewed plan, without anyone holding the master login. The writer is private (no
route from a CI runner to the database subnets is needed: the function runs there) and the function reads the
master credentials itself, from the region's replica of the secret, so nothing secret passes through Terraform:
its input is the plan of roles and grants (``constructs_lib.access.database_plan``) and the writer's address, its
result (kept in state) names roles and tables only. ``aws_lambda_invocation`` runs it whenever that input
changes (or the function's code does), after the writer and the credentials exist.

Every database region has the function (same addresses on both sides of a failover); only the writer region's
core stack invokes it: after a failover, the promoted replica's region runs it against the promoted instance,
whose roles came with the replication (a no-op, or the changes of that plan).

The package is built here, deterministically: this project's ``postgres_roles.py`` and the pure-Python driver
``pg8000`` with its dependencies, from the installed distributions pinned in Pipfile.lock (their files as each
wheel's RECORD lists them), stored uncompressed with fixed timestamps and modes, so the same lock gives the
same bytes and the same synthesized JSON on every machine.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from cdktf import AssetType, TerraformAsset
from constructs import Construct

from constructs_lib import postgres_roles
from constructs_lib.common import AccountContext, assume_role_policy, policy_document, protected, security_group_rule
from constructs_lib.naming import Naming
from constructs_lib.providers import aws

#: AWS Lambda's Python 3.13 runtime (Amazon Linux 2023; deprecation 2029-06-30, Lambda developer guide,
#: "Lambda runtimes"). The package is pure Python, so any 3.x runtime runs it; this is the newest whose
#: identifier the pinned provider's API client knows.
LAMBDA_RUNTIME = "python3.13"
HANDLER = "postgres_roles.handler"
#: pg8000 and what it needs (pg8000 1.31.6 requires scramp and python-dateutil; scramp requires asn1crypto;
#: python-dateutil 4.0.0 requires tzdata). ``tests/test_postgres_roles.py`` checks the list is closed.
PACKAGED_DISTRIBUTIONS = ("pg8000", "scramp", "asn1crypto", "python-dateutil", "tzdata")
#: Files of the role manager itself, at the root of the package.
PACKAGED_SOURCES = (Path(postgres_roles.__file__), postgres_roles.CA_BUNDLE)
#: Installer bookkeeping that differs between pip versions: never packaged.
SKIPPED_METADATA = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
#: A run takes seconds; the limit covers a cold start in a VPC and a lock held by another run.
TIMEOUT_SECONDS = 300


def _distribution_files(name: str) -> list[tuple[str, bytes]]:
    dist = metadata.distribution(name)
    out = []
    for entry in dist.files or ():
        path = str(entry)
        if path.startswith("..") or "__pycache__" in path or path.endswith(".pyc"):
            continue
        if ".dist-info/" in path and path.rsplit("/", 1)[-1] in SKIPPED_METADATA:
            continue
        out.append((path, Path(dist.locate_file(entry)).read_bytes()))
    return out


@cache
def package_bytes() -> bytes:
    """The function's zip: sorted entries, stored, fixed date and mode (byte-identical for the same inputs)."""
    files: dict[str, bytes] = {}
    for name in PACKAGED_DISTRIBUTIONS:
        files.update(_distribution_files(name))
    for source in PACKAGED_SOURCES:
        files[source.name] = source.read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for path in sorted(files):
            info = zipfile.ZipInfo(path, date_time=ZIP_DATE)
            info.create_system = 3
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[path])
    return buffer.getvalue()


def package_file() -> tuple[Path, str]:
    """The zip on disk (a content-addressed file in the temporary folder) and its ``source_code_hash``."""
    data = package_bytes()
    digest = hashlib.sha256(data)
    folder = Path(tempfile.gettempdir()) / "globalpay-role-manager"
    folder.mkdir(exist_ok=True)
    path = folder / f"{digest.hexdigest()}.zip"
    if not path.exists() or path.stat().st_size != len(data):
        partial = folder / f".{digest.hexdigest()}.{os.getpid()}"
        partial.write_bytes(data)
        partial.replace(path)
    return path, base64.b64encode(digest.digest()).decode()


@dataclass(frozen=True)
class RoleManagerProps:
    """The function of one database region and, in the writer's region, its invocation."""

    naming: Naming
    account: AccountContext
    region: str
    vpc_id: str
    vpc_cidr: str
    #: The isolated database subnets (the function needs no route out: Secrets Manager is a VPC endpoint).
    subnet_ids: Sequence[str]
    database_security_group_id: str
    port: int
    #: Key of the function's log group (the region's data key) and of the master credentials (secrets key).
    data_key_arn: str
    secrets_key_arn: str
    log_retention_days: int
    #: Name of the master credentials secret (its replica in this region is what the function reads).
    master_secret_name: str
    #: Run it here: this region holds the writer (default False: the function waits for a failover).
    invoke: bool = False
    #: The database admits the function (default True). False where the region's database is fenced
    #: (``database.database_fence``): a fenced former writer admits nobody, and there is nothing to run there.
    database_reachable: bool = True
    #: ``constructs_lib.access.database_plan`` (only read when ``invoke``).
    plan: Mapping[str, Any] = field(default_factory=dict)
    writer_address: str = ""
    database_name: str = ""
    #: What must exist before the run: the writer instance (or cluster), the credentials' value.
    invoke_after: Sequence[Any] = ()


class RoleManager(Construct):
    """``data/role-manager``: log group, role, security group, function and (writer region) invocation."""

    def __init__(self, scope: Construct, id: str, props: RoleManagerProps) -> None:
        super().__init__(scope, id)
        naming, account, region = props.naming, props.account, props.region
        name = naming.name("role-manager")
        self.log_group = aws.cloudwatch_log_group.CloudwatchLogGroup(
            self,
            "log-group",
            name=f"/aws/lambda/{name}",
            kms_key_id=props.data_key_arn,
            retention_in_days=props.log_retention_days,
            lifecycle=protected(),
        )
        secret_arn = account.arn("secretsmanager", region, f"secret:{props.master_secret_name}-??????")
        self.role = aws.iam_role.IamRole(
            self,
            "role",
            name=naming.regional("role-manager"),
            description="GlobalPay role manager: reads the master credentials, manages the services' PostgreSQL roles",
            # aws:SourceAccount: Lambda sets it when it assumes an execution role (AWS's own sample trust policy
            # for Lambda, aws/agent-toolkit-for-aws, lambda-trust-policy.json, pins it the same way).
            assume_role_policy=assume_role_policy("lambda.amazonaws.com", source_account=account.account_id),
        )
        self.policy = aws.iam_role_policy.IamRolePolicy(
            self,
            "policy",
            name="role-manager",
            role=self.role.id,
            policy=policy_document([
                {
                    "Sid": "ReadTheMasterCredentials",
                    "Effect": "Allow",
                    "Action": "secretsmanager:GetSecretValue",
                    "Resource": secret_arn,
                },
                {
                    "Sid": "DecryptThemThroughSecretsManager",
                    "Effect": "Allow",
                    "Action": "kms:Decrypt",
                    "Resource": props.secrets_key_arn,
                    "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}},
                },
                {
                    "Sid": "WriteOwnLogs",
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                    "Resource": f"{self.log_group.arn}:*",
                },
                {
                    # Active tracing: the function's runs are in X-Ray (through the VPC's X-Ray endpoint).
                    "Sid": "WriteOwnTraces",
                    "Effect": "Allow",
                    "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                    "Resource": "*",
                },
                {
                    # What Lambda needs to attach the function to the VPC (the actions of the AWS-managed
                    # AWSLambdaVPCAccessExecutionRole); EC2 offers no narrower resource for the describe calls
                    # and the network interfaces do not exist before Lambda creates them.
                    "Sid": "AttachToTheVpc",
                    "Effect": "Allow",
                    "Action": ["ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
                               "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses",
                               "ec2:UnassignPrivateIpAddresses"],
                    "Resource": "*",
                },
            ]),
        )
        self.security_group = aws.security_group.SecurityGroup(
            self,
            "security-group",
            name=naming.name("role-manager"),
            description="GlobalPay role manager: PostgreSQL to the database, HTTPS to the VPC endpoints",
            vpc_id=props.vpc_id,
            tags={"Name": naming.name("role-manager")},
        )
        security_group_rule(self, "egress-database", security_group_id=self.security_group.id,
                            description="PostgreSQL to the database", ports=props.port,
                            peer_group_id=props.database_security_group_id, egress=True)
        security_group_rule(self, "egress-endpoints", security_group_id=self.security_group.id,
                            description="HTTPS to the VPC endpoints (Secrets Manager)", ports=443,
                            cidr=props.vpc_cidr, egress=True)
        if props.invoke and not props.database_reachable:
            raise ValueError(f"{props.region}: the role manager cannot run against a fenced database")
        self.database_ingress = security_group_rule(
            self, "database-ingress", security_group_id=props.database_security_group_id,
            description="PostgreSQL from the role manager", ports=props.port, peer_group_id=self.security_group.id,
        ) if props.database_reachable else None
        path, source_hash = package_file()
        asset = TerraformAsset(self, "package", path=str(path), type=AssetType.FILE)
        self.function = aws.lambda_function.LambdaFunction(
            self,
            "function",
            function_name=name,
            description="Keeps the GlobalPay services' PostgreSQL roles and grants as configured",
            role=self.role.arn,
            runtime=LAMBDA_RUNTIME,
            handler=HANDLER,
            filename=asset.path,
            source_code_hash=source_hash,
            timeout=TIMEOUT_SECONDS,
            memory_size=256,
            # One run at a time (the database holds an advisory lock as well).
            reserved_concurrent_executions=1,
            vpc_config={"subnet_ids": list(props.subnet_ids), "security_group_ids": [self.security_group.id]},
            tracing_config={"mode": "Active"},
            logging_config={"log_format": "JSON", "log_group": self.log_group.name},
            depends_on=[self.log_group, self.policy],
        )
        self.source_code_hash = source_hash
        self.invocation = None
        if props.invoke:
            event = {
                "plan": dict(props.plan),
                "host": props.writer_address,
                "port": props.port,
                "database": props.database_name,
                "secret_id": props.master_secret_name,
            }
            self.invocation = aws.lambda_invocation.LambdaInvocation(
                self,
                "invocation",
                function_name=self.function.function_name,
                input=json.dumps(event, sort_keys=True),
                # A new package runs again even when the plan did not change.
                triggers={"package": source_hash},
                depends_on=[self.function, *([self.database_ingress] if self.database_ingress else []), *props.invoke_after],
            )
