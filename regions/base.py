"""What every GlobalPay workspace has: its AWS provider with the cost tags, its backend, its Terraform pin."""

from __future__ import annotations

from cdktf import LocalBackend, S3Backend, TerraformStack
from constructs import Construct

from constructs_lib import versions
from constructs_lib.config import EnvironmentConfig
from constructs_lib.naming import Naming, default_tags
from constructs_lib.providers import aws


def state_key(stack_name: str) -> str:
    """Each workspace has its own state object: ``<stack>/terraform.tfstate``."""
    return f"{stack_name}/terraform.tfstate"


class GlobalPayStack(TerraformStack):
    """A Terraform workspace of one environment.

    ``backend`` is ``"s3"`` (the environment's state bucket, encrypted with the state key, S3-native
    locking) or ``"local"`` (a state file next to the stack, for trying ``terraform plan`` without the
    bucket, and for the bootstrap stack that creates the bucket).
    """

    def __init__(self, scope: Construct, name: str, *, config: EnvironmentConfig, region: str, backend: str) -> None:
        super().__init__(scope, name)
        self.stack_name = name
        self.config = config
        self.region = region
        self.naming = Naming(config.name, region, config.aws_account_id)
        self.provider = self.aws_provider(region)
        self.add_override("terraform.required_version", versions.TERRAFORM_REQUIRED_VERSION)
        if backend == "s3":
            # state.use_replica (break glass while state.region is down): the replica bucket, its region and its
            # key; cross-stack references read their producers' state from the same place.
            bucket, state_region = ((config.state_replica_bucket, config.state.replica_region) if config.state.use_replica
                                    else (config.state_bucket, config.state.region))
            S3Backend(
                self,
                bucket=bucket,
                key=state_key(name),
                region=state_region,
                encrypt=True,
                kms_key_id=f"arn:aws:kms:{state_region}:{config.aws_account_id}:{config.state_key_alias}",
            )
            # S3-native locking (Terraform >= 1.11); cdktf 0.21's S3Backend has no field for it yet.
            self.add_override("terraform.backend.s3.use_lockfile", True)
        else:
            # Outside cdktf.out: a synth replaces that folder whole and must never take a state file with it.
            # Terraform runs in cdktf.out/stacks/<name>/, so this is the project root.
            LocalBackend(self, path=f"../../../terraform.{name}.tfstate")

    def aws_provider(self, region: str, alias: str | None = None):
        """The AWS provider for ``region``; every resource it creates carries the cost allocation tags."""
        return aws.provider.AwsProvider(
            self,
            f"aws-{alias}" if alias else "aws",
            region=region,
            alias=alias,
            default_tags=[{"tags": default_tags(self.config)}],
        )
