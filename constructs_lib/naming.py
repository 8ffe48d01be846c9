"""Names and tags, spelled once: every construct asks this helper instead of formatting strings."""

from __future__ import annotations

from dataclasses import dataclass

from constructs_lib.config import PROJECT, EnvironmentConfig


@dataclass(frozen=True)
class Naming:
    """``globalpay-<env>-...`` names for one environment (and, optionally, one region)."""

    env: str
    region: str = ""

    def name(self, *parts: str) -> str:
        """``name("kafka")`` -> ``globalpay-prod-kafka``."""
        return "-".join((PROJECT, self.env, *parts))

    def regional(self, *parts: str) -> str:
        """``regional("data")`` -> ``globalpay-prod-data-us-east-1`` (names that must be unique account-wide)."""
        return self.name(*parts, self.region)

    def path(self, *parts: str) -> str:
        """Secrets Manager style: ``path("database", "credentials")`` -> ``globalpay/prod/database/credentials``."""
        return "/".join((PROJECT, self.env, *parts))

    def alias(self, purpose: str) -> str:
        """KMS alias: ``alias("data")`` -> ``alias/globalpay-prod-data`` (the guide's aliases)."""
        return f"alias/{self.name(purpose)}"

    def stack(self, *parts: str) -> str:
        return self.name(*parts)


def default_tags(config: EnvironmentConfig) -> dict[str, str]:
    """Cost allocation tags every AWS resource carries (provider ``default_tags``)."""
    return {
        "Environment": config.environment_label.capitalize(),
        "Project": "GlobalPay",
        "CostCenter": config.cost.cost_center,
        "ManagedBy": "cdktf",
    }
