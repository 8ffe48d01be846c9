"""RDS, ElastiCache, MSK, Secrets Manager and ECR of a region (issue: data tier)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from regions.core import RegionCoreStack


def add_data_tier(stack: "RegionCoreStack") -> Any:
    """Not built yet: this layer's issue is open."""
    return None
