"""The one module that imports Terraform provider bindings.

Every construct reaches the AWS, Kubernetes and Helm bindings through the three names exported here
(``aws``, ``kubernetes``, ``helm``), e.g. ``aws.vpc.Vpc`` or ``helm.release.Release``. Nothing else in
the project imports ``cdktf_cdktf_provider_*``: a move to the community fork (CDK Terrain, ``cdktn``)
changes the package names below and nothing else.

Why the indirection: the prebuilt bindings' package ``__init__`` imports every one of its modules
(about 1,500 for AWS), which costs 10-20 s on a 2-core machine, while this app uses a few dozen. We
register a bare package object in ``sys.modules`` (same name, same ``__path__``, same spec) so that
Python skips the package ``__init__``, then import a resource module the first time a construct asks
for it. The jsii assembly is still loaded in full by each module's ``from .._jsii import *``, so every
type check jsii does is unchanged and the synthesized JSON is byte-identical to an eager import
(``GLOBALPAY_EAGER_PROVIDERS=1`` restores the eager import; the benchmark and a test compare both).
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
import sys
import types
import typing
from typing import Any

AWS_PACKAGE = "cdktf_cdktf_provider_aws"
KUBERNETES_PACKAGE = "cdktf_cdktf_provider_kubernetes"
HELM_PACKAGE = "cdktf_cdktf_provider_helm"

#: Terraform provider versions the prebuilt bindings were generated from (see each package's README).
#: They are written into ``required_providers`` by the bindings themselves.
PROVIDER_PACKAGES = (AWS_PACKAGE, KUBERNETES_PACKAGE, HELM_PACKAGE)


def _register_bare_package(name: str) -> None:
    """Put a package object for ``name`` in ``sys.modules`` without running its ``__init__``."""
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None or spec.submodule_search_locations is None:
        raise ModuleNotFoundError(f"provider bindings {name!r} are not installed (run the README's install step)")
    package = types.ModuleType(name)
    package.__path__ = list(spec.submodule_search_locations)
    package.__spec__ = spec
    package.__file__ = spec.origin
    package.__package__ = name
    package.__loader__ = spec.loader
    sys.modules[name] = package


# --------------------------------------------------------------------------------------------------
# Nested blocks as plain dicts, type-checked all the way down.
#
# The bindings turn a dict into its struct only one level deep; a dict inside a list (every Terraform
# nested block is a list) reaches jsii untouched, and a snake_case key there is silently dropped. Calls
# made through the names below convert every dict the type hints say is a struct into that struct, at
# any depth, so ``rule=[{"apply_server_side_encryption_by_default": {...}}]`` works and a misspelled key
# raises TypeError at synth instead of vanishing.
# --------------------------------------------------------------------------------------------------


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls.__init__)


def _struct_in(hint: Any) -> type | None:
    if isinstance(hint, type):
        return hint if hasattr(hint, "__jsii_name_mapping__") else None
    for arg in typing.get_args(hint):
        found = _struct_in(arg)
        if found is not None:
            return found
    return None


def _convert(value: Any, hint: Any) -> Any:
    if hint is None or not isinstance(value, (dict, list, tuple)):
        return value
    struct = _struct_in(hint)
    if struct is None:
        return value
    if isinstance(value, dict):
        return _build(struct, value)
    return [_build(struct, item) if isinstance(item, dict) else item for item in value]


def _build(cls: type, kwargs: dict[str, Any]) -> Any:
    hints = _hints(cls)
    return cls(**{key: _convert(val, hints.get(key)) for key, val in kwargs.items()})


class _Factory:
    """Calls a binding class with nested dicts converted; every other attribute is the class's own."""

    __slots__ = ("cls",)

    def __init__(self, cls: type) -> None:
        self.cls = cls

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        hints = _hints(self.cls)
        return self.cls(*args, **{key: _convert(val, hints.get(key)) for key, val in kwargs.items()})

    def __getattr__(self, name: str) -> Any:
        return getattr(self.cls, name)


class _Module:
    """A bindings module whose jsii classes are wrapped in ``_Factory``."""

    def __init__(self, module: types.ModuleType) -> None:
        self._module = module

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._module, name)
        if isinstance(value, type) and hasattr(value, "__jsii_type__"):
            value = _Factory(value)
        setattr(self, name, value)
        return value


class _Bindings:
    """Attribute access imports the resource module on first use: ``aws.s3_bucket.S3Bucket``."""

    def __init__(self, package: str) -> None:
        self._package = package

    def __getattr__(self, module: str) -> Any:
        if module.startswith("_"):
            raise AttributeError(module)
        loaded = _Module(importlib.import_module(f"{self._package}.{module}"))
        setattr(self, module, loaded)
        return loaded

    def __repr__(self) -> str:
        return f"<provider bindings {self._package}>"


if os.environ.get("GLOBALPAY_EAGER_PROVIDERS") == "1":
    for _name in PROVIDER_PACKAGES:
        importlib.import_module(_name)
else:
    for _name in PROVIDER_PACKAGES:
        _register_bare_package(_name)

aws = _Bindings(AWS_PACKAGE)
kubernetes = _Bindings(KUBERNETES_PACKAGE)
helm = _Bindings(HELM_PACKAGE)

__all__ = ["PROVIDER_PACKAGES", "aws", "helm", "kubernetes"]
