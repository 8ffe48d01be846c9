"""ap-southeast-2 (Sydney): the guide's tertiary region."""

from constructs_lib.config import RegionSpec

REGION = RegionSpec(
    name="ap-southeast-2",
    vpc_cidr="10.2.0.0/16",
    azs=("ap-southeast-2a", "ap-southeast-2b", "ap-southeast-2c"),
)
