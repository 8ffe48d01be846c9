"""eu-west-1 (Ireland): the guide's secondary region, failover target for the database and DNS."""

from constructs_lib.config import RegionSpec

REGION = RegionSpec(
    name="eu-west-1",
    vpc_cidr="10.1.0.0/16",
    azs=("eu-west-1a", "eu-west-1b", "eu-west-1c"),
)
