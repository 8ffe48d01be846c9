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

The node side has the same problem: jsii ``require``s a package's ``lib/index.js``, which for the AWS
provider ``require``s all of its ~2,200 resource modules (~300 MB of JavaScript compiled, ~90 used). So the
first time a construct asks for a provider, ``load_derived_bindings`` hands the jsii kernel a *derived*
tarball of each provider package instead: the stock one with a lazy ``lib/index.js`` (same exports, each
module required on first access), built at install time by ``scripts/lazy_bindings.py`` into
``<venv>/.globalpay-bindings/<sha256 of the stock tarball>/``. Before use we hash the installed stock tarball
(which selects the artifact), and check the manifest's format, the generator's sha256 and the derived
tarball's sha256; the kernel loads a package once, so the bindings' own load of the stock tarball that
follows is a no-op. Anything that does not match: the stock bindings and one notice line on stderr (same
JSON, slower synth). ``GLOBALPAY_STOCK_BINDINGS=1`` asks for the stock bindings (tests compare both).

The bindings' argument checks stay, but the annotations they check against are evaluated once per
signature instead of once per call (``_get_type_hints`` below; not under ``GLOBALPAY_STOCK_BINDINGS=1``).
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.util
import json
import os
import sys
import types
import typing
from pathlib import Path
from typing import Any

AWS_PACKAGE = "cdktf_cdktf_provider_aws"
KUBERNETES_PACKAGE = "cdktf_cdktf_provider_kubernetes"
HELM_PACKAGE = "cdktf_cdktf_provider_helm"

#: Terraform provider versions the prebuilt bindings were generated from (see each package's README).
#: They are written into ``required_providers`` by the bindings themselves.
PROVIDER_PACKAGES = (AWS_PACKAGE, KUBERNETES_PACKAGE, HELM_PACKAGE)

#: ``1``: load the stock provider JavaScript (every module at start) instead of the derived bindings.
STOCK_BINDINGS_ENV = "GLOBALPAY_STOCK_BINDINGS"
#: Folder of the derived bindings; default ``<venv>/.globalpay-bindings`` (scripts/lazy_bindings.py).
BINDINGS_DIR_ENV = "GLOBALPAY_BINDINGS_DIR"
#: Manifest layout this module reads and scripts/lazy_bindings.py writes (its MANIFEST_FORMAT).
DERIVED_FORMAT = 1
_GENERATOR = Path(__file__).resolve().parent.parent / "scripts" / "lazy_bindings.py"


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
# Derived (lazy) provider JavaScript, verified before use.
# --------------------------------------------------------------------------------------------------


class DerivedMismatch(Exception):
    """Why the derived bindings of a package cannot be used (the reason is printed in the notice)."""


def bindings_root() -> Path:
    configured = os.environ.get(BINDINGS_DIR_ENV)
    return Path(configured) if configured else Path(sys.prefix) / ".globalpay-bindings"


def sha256_file(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def stock_tarball(package: str) -> Path:
    """The jsii tarball the bindings of ``package`` load (``<package>/_jsii/*.jsii.tgz``)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"provider bindings {package!r} are not installed (run the README's install step)")
    found = sorted(Path(next(iter(spec.submodule_search_locations)), "_jsii").glob("*.jsii.tgz"))
    if len(found) != 1:
        raise DerivedMismatch(f"{len(found)} jsii tarballs in {package}/_jsii")
    return found[0]


def verify_derived(package: str, root: Path, generator_sha256: str) -> tuple[Path, str, str]:
    """(derived tarball, jsii name, jsii version) of ``package``, or DerivedMismatch saying what differs."""
    stock = stock_tarball(package)
    digest = sha256_file(stock)
    folder = root / digest
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
    except FileNotFoundError:
        raise DerivedMismatch("no derived artifact for the installed tarball") from None
    except (OSError, ValueError) as error:
        raise DerivedMismatch(f"unreadable manifest ({type(error).__name__})") from None
    try:
        if manifest["format"] != DERIVED_FORMAT:
            raise DerivedMismatch(f"manifest format {manifest['format']!r}, expected {DERIVED_FORMAT}")
        if manifest["package"] != package or manifest["input"]["sha256"] != digest:
            raise DerivedMismatch("manifest names another input")
        if manifest["generator"]["sha256"] != generator_sha256:
            raise DerivedMismatch("made by another version of scripts/lazy_bindings.py")
        name, version, file = manifest["jsii"]["name"], manifest["jsii"]["version"], manifest["output"]["file"]
        expected = manifest["output"]["sha256"]
    except (KeyError, TypeError):
        raise DerivedMismatch("incomplete manifest") from None
    if not isinstance(file, str) or Path(file).name != file:
        raise DerivedMismatch("manifest output is not a file of the artifact folder")
    output = folder / file
    try:
        actual = sha256_file(output)
    except OSError:
        raise DerivedMismatch("derived tarball missing") from None
    if actual != expected:
        raise DerivedMismatch("derived tarball checksum mismatch")
    return output, name, version


#: package -> "derived <tarball>" or "stock: <reason>", once the first provider was asked for.
_SOURCES: dict[str, str] = {}


def load_derived_bindings() -> dict[str, str]:
    """Load the verified derived JavaScript of every provider package into the jsii kernel (once).

    Returns what each package runs: ``derived <tarball>`` or ``stock: <reason>``. A package whose derived
    artifact does not verify keeps the stock bindings; all such packages share one notice line on stderr.
    """
    if _SOURCES:
        return dict(_SOURCES)
    if os.environ.get(STOCK_BINDINGS_ENV) == "1":
        _SOURCES.update({package: f"stock: {STOCK_BINDINGS_ENV}=1" for package in PROVIDER_PACKAGES})
        return dict(_SOURCES)
    root = bindings_root()
    try:
        generator = sha256_file(_GENERATOR)
    except OSError:
        generator = "missing"
    verified: dict[str, tuple[Path, str, str]] = {}
    for package in PROVIDER_PACKAGES:
        try:
            if f"{package}._jsii" in sys.modules:
                raise DerivedMismatch("its stock assembly was loaded first")
            verified[package] = verify_derived(package, root, generator)
        except DerivedMismatch as mismatch:
            _SOURCES[package] = f"stock: {mismatch}"
    if verified:
        import cdktf._jsii  # noqa: F401  (the providers' dependencies load first, as in their own _jsii)
        import constructs._jsii  # noqa: F401
        import jsii

        for package, (tarball, name, version) in verified.items():
            try:
                jsii.load(name, version, str(tarball))
            except Exception as error:  # e.g. jsii's package cache is full: its stock load is the next try
                _SOURCES[package] = f"stock: the kernel could not load the derived tarball: {(str(error).splitlines() or [type(error).__name__])[0][:200]}"
                continue
            _SOURCES[package] = f"derived {tarball}"
    stock = [f"{package} ({source.removeprefix('stock: ')})" for package, source in _SOURCES.items()
             if source.startswith("stock")]
    if stock:
        print(f"notice: stock provider bindings (every JavaScript module loaded) for {', '.join(stock)}: "
              f"same output, slower synth; python3 tasks.py install rebuilds them in {root}",
              file=sys.stderr, flush=True)
    return dict(_SOURCES)


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


# --------------------------------------------------------------------------------------------------
# The bindings' own argument checks, without re-evaluating the same annotations every call.
#
# Every generated binding method starts with ``typing.get_type_hints(_typecheckingstub__<hash>)`` and
# typeguard checks of its arguments against the result. Those stubs are module-level functions whose
# annotations never change once their module is imported, yet ``get_type_hints`` evaluates them anew on each
# of the ~3,600 calls of a prod synth (~0.9 s of CPU). We keep the checks and remember the hints: for a stub
# (and only a stub, called with no other argument) the first result is returned again. Callers only read it.
# --------------------------------------------------------------------------------------------------

_STUB_PREFIX = "_typecheckingstub__"
_STUB_HINTS: dict[Any, dict[str, Any]] = {}


def _get_type_hints(obj: Any, globalns: Any = None, localns: Any = None, include_extras: bool = False) -> dict[str, Any]:
    if globalns is None and localns is None and not include_extras and isinstance(obj, types.FunctionType) \
            and obj.__name__.startswith(_STUB_PREFIX):
        hints = _STUB_HINTS.get(obj)
        if hints is None:
            hints = _STUB_HINTS[obj] = _stdlib_get_type_hints(obj)
        return hints
    return _stdlib_get_type_hints(obj, globalns, localns, include_extras)


_stdlib_get_type_hints = getattr(typing.get_type_hints, "__wrapped_stdlib__", typing.get_type_hints)
_get_type_hints.__wrapped_stdlib__ = _stdlib_get_type_hints  # type: ignore[attr-defined]
_get_type_hints.__doc__ = _stdlib_get_type_hints.__doc__
if os.environ.get(STOCK_BINDINGS_ENV) != "1":  # the stock bindings, exactly as shipped, for comparison
    typing.get_type_hints = _get_type_hints


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
        if not _SOURCES:
            load_derived_bindings()
        loaded = _Module(importlib.import_module(f"{self._package}.{module}"))
        setattr(self, module, loaded)
        return loaded

    def __repr__(self) -> str:
        return f"<provider bindings {self._package}>"


if os.environ.get("GLOBALPAY_EAGER_PROVIDERS") == "1":
    load_derived_bindings()
    for _name in PROVIDER_PACKAGES:
        importlib.import_module(_name)
else:
    for _name in PROVIDER_PACKAGES:
        _register_bare_package(_name)

aws = _Bindings(AWS_PACKAGE)
kubernetes = _Bindings(KUBERNETES_PACKAGE)
helm = _Bindings(HELM_PACKAGE)

__all__ = ["PROVIDER_PACKAGES", "aws", "helm", "kubernetes", "load_derived_bindings"]
