"""EKS cluster, node group, OIDC provider and IRSA roles of a region (issue: EKS)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from regions.core import RegionCoreStack


def add_compute(stack: "RegionCoreStack") -> Any:
    """Not built yet: this layer's issue is open."""
    return None
