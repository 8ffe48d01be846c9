"""What a plan would put into Terraform state that is a credential: the check behind "no secret in state".

A plan's JSON (``terraform show -json``) says what the state will hold after apply: every resource's and
data source's attributes, sensitive ones marked in ``after_sensitive`` / ``sensitive_values``. Write-only
arguments (``*_wo``) and ephemeral values never appear there. A finding is:

* a credential argument (``CREDENTIAL_ATTRIBUTES``) that is set, known in the plan or known only at apply
  (a secret read back from Secrets Manager into ``auth_token``, a literal password): it will be in state;
* a data source or resource type that holds a secret value by design (``SECRET_TYPES``);
* any value the provider marks sensitive (``after_sensitive``) that is set, known or known only at apply,
  whatever its name: the provider knows its credentials better than a list of names does. Write-only arguments
  are marked sensitive too but are always null in the plan, so they never count.

Tokens nobody can use (the EKS certificate authority, a resource's own ARN) are not sensitive and not flagged.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

#: Types that store a secret value in state whatever their arguments.
SECRET_TYPES = frozenset({
    "data.aws_secretsmanager_secret_version", "data.aws_ssm_parameter", "data.aws_kms_secrets",
    "random_password", "tls_private_key", "aws_iam_access_key",
})
#: Arguments that are credentials when set (their write-only ``*_wo`` variants never reach state).
CREDENTIAL_ATTRIBUTES = frozenset({"password", "master_password", "auth_token", "secret_string", "secret_binary",
                                   "private_key", "passwords", "client_secret"})


def _get(value: Any, key: str) -> Any:
    return value.get(key) if isinstance(value, Mapping) else None


def _is_set(value: Any, unknown: Any) -> bool:
    return value not in (None, "", [], {}) or unknown is True


def _sensitive_set(sensitive: Any, after: Any, unknown: Any, path: str) -> Iterator[str]:
    """Paths (``passwords``, ``authentication_mode[0].passwords``) marked sensitive whose value is set."""
    if sensitive is True:
        if _is_set(after, unknown):
            yield path
    elif isinstance(sensitive, Mapping):
        for key, marked in sensitive.items():
            yield from _sensitive_set(marked, _get(after, key), _get(unknown, key), f"{path}.{key}" if path else key)
    elif isinstance(sensitive, list):
        for i, marked in enumerate(sensitive):
            item = after[i] if isinstance(after, list) and i < len(after) else None
            unknown_item = unknown[i] if isinstance(unknown, list) and i < len(unknown) else None
            yield from _sensitive_set(marked, item, unknown_item, f"{path}[{i}]")


def secret_findings(plan: Mapping[str, Any]) -> list[str]:
    """Every credential the planned state would hold, as ``address: reason`` lines."""
    findings = []
    for change in plan.get("resource_changes", []):
        body = change.get("change", {})
        actions = body.get("actions", [])
        if actions == ["delete"]:
            continue
        rtype = change["type"] if change.get("mode") == "managed" else f"data.{change['type']}"
        address = change["address"]
        if rtype in SECRET_TYPES:
            findings.append(f"{address}: {rtype} keeps its secret value in state")
        after, unknown = body.get("after") or {}, body.get("after_unknown") or {}
        for attr in CREDENTIAL_ATTRIBUTES:
            if _is_set(_get(after, attr), _get(unknown, attr)):
                findings.append(f"{address}: {attr} is stored in state (the write-only {attr}_wo is not)")
        for path in _sensitive_set(body.get("after_sensitive") or {}, after, unknown, ""):
            if path not in CREDENTIAL_ATTRIBUTES:  # reported above, with the write-only hint
                findings.append(f"{address}: {path} is marked sensitive and would be stored in state")
    return sorted(set(findings))
