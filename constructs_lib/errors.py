"""The one error type the configuration layer raises: a field and the rule it breaks."""

from __future__ import annotations

from collections.abc import Sequence


class ConfigError(Exception):
    """A configuration value that cannot be deployed. ``str()`` is the one line the CLI prints.

    ``errors`` lists every error the exception stands for: ``[self]`` here, every one of them in
    ``ConfigErrors``. Callers print ``error.errors`` to report a whole file's mistakes in one run.
    """

    def __init__(self, field: str, rule: str) -> None:
        # Field paths can carry user-typed keys: escape control characters so the message stays one line.
        field = field.encode("unicode_escape").decode("ascii") if not field.isprintable() else field
        rule = " ".join(rule.split()) if not rule.isprintable() else rule
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule
        self.errors: list[ConfigError] = [self]


class ConfigErrors(ConfigError):
    """Several errors found in one pass (every bad key and type of an overrides file), in file order.

    It is a ``ConfigError`` whose ``field``, ``rule`` and ``str()`` are the first error's, so a caller that
    only knows ``ConfigError`` still prints a true one-line message; ``errors`` holds all of them.
    """

    def __init__(self, errors: Sequence[ConfigError]) -> None:
        if not errors:
            raise ValueError("ConfigErrors needs at least one error")
        first = errors[0]
        super().__init__(first.field, first.rule)
        self.errors = list(errors)
