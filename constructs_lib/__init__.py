"""GlobalPay's construct library: one module per concern, the typed config, and the provider bindings.

Importing the package prepares the jsii runtime before any binding starts it: the Node.js end-of-life banner
is silenced (Node 20 is what the platform has) and the kernel runs under ``scripts/jsii-node``, which caps
its heap near the live set (see that script). Both respect values the caller already set.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_NODE", str(Path(__file__).resolve().parent.parent / "scripts" / "jsii-node"))
