"""``globalpay-<env>-<region>-keys``: the region's KMS keys (the guide's data and secrets keys).

A workspace of their own, applied before every core stack, because the origin region replicates the shared
secrets (database credentials, JWT and API keys) into every other region encrypted with *that* region's
secrets key: each region's key must exist before the origin's core stack runs, while the DR region's core
stack (the read replica) must run after the origin's. Keys are also the one resource whose loss destroys
everything encrypted with it: a small, rarely changed state of their own keeps them out of the blast radius
of everyday changes.
"""

from __future__ import annotations

from constructs import Construct

from constructs_lib.common import AccountContext
from constructs_lib.config import EnvironmentConfig
from constructs_lib.encryption import Encryption, KeyPair
from constructs_lib.naming import Naming
from regions.base import GlobalPayStack


def keys_stack_name(config: EnvironmentConfig, region: str) -> str:
    return Naming(config.name).stack(region, "keys")


class RegionKeysStack(GlobalPayStack):
    def __init__(self, scope: Construct, config: EnvironmentConfig, region: str, *, backend: str) -> None:
        super().__init__(scope, keys_stack_name(config, region), config=config, region=region, backend=backend)
        account = AccountContext(self, "account")
        # Construct id "encryption", as the keys had in the core stack: the same addresses in this state.
        self.encryption = Encryption(self, "encryption", naming=self.naming, region=region, account=account)
        self.keys: KeyPair = self.encryption.keys
