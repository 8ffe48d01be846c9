"""WAF, Shield, alarms, dashboards, DR and cost controls of a region (issue: edge)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from regions.core import RegionCoreStack


def add_edge_and_observability(stack: "RegionCoreStack") -> Any:
    """Not built yet: this layer's issue is open."""
    return None
