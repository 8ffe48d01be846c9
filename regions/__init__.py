"""The workspaces: region data (one module per region) and the stack classes that build them."""

from __future__ import annotations

from constructs_lib.config import RegionSpec
from regions import ap_southeast_2, eu_west_1, us_east_1

#: Every region GlobalPay runs in, in the guide's order (primary, secondary, tertiary).
REGION_SPECS: dict[str, RegionSpec] = {
    spec.name: spec for spec in (us_east_1.REGION, eu_west_1.REGION, ap_southeast_2.REGION)
}
