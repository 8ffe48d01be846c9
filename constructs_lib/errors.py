"""The one error type the configuration layer raises: a field and the rule it breaks."""

from __future__ import annotations


class ConfigError(Exception):
    """A configuration value that cannot be deployed. ``str()`` is the one line the CLI prints."""

    def __init__(self, field: str, rule: str) -> None:
        # Field paths can carry user-typed keys: escape control characters so the message stays one line.
        field = field.encode("unicode_escape").decode("ascii") if not field.isprintable() else field
        rule = " ".join(rule.split()) if not rule.isprintable() else rule
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule
