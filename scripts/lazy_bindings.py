#!/usr/bin/env python
"""Derived provider bindings: the locked jsii tarballs of the provider packages with a lazy ``lib/index.js``.

    .venv/bin/python scripts/lazy_bindings.py build [--root DIR] [--no-warm]   (tasks.py install runs this)
    .venv/bin/python scripts/lazy_bindings.py check [--root DIR]               exit 1 unless every artifact verifies

Why: jsii loads a package by ``require``-ing its main file, and the provider packages' ``lib/index.js`` is one
eager ``require`` per resource module (about 2,200 for AWS, 110 for Kubernetes): every synth compiled ~300 MB
of JavaScript to use ~100 modules (prod: 89 AWS, 11 Kubernetes, 2 Helm). The derived tarball is the stock one,
member for member and byte for byte, except ``package/lib/index.js``, which this script generates from the
original: the same exports, in the same order, each a getter that ``require``s its module on first access
(then replaces itself by the value).

What is derived from what, and how it is checked:

- input: ``<package>/_jsii/*.jsii.tgz`` of the installed wheel. Its version must be the one pinned in
  ``Pipfile.lock`` (whose hashes pip checked when it installed the wheel) and its sha256 must equal the
  wheel's ``RECORD`` entry for that file; anything else refuses to derive.
- output: ``<root>/<sha256 of the input>/`` holding the derived ``*.lazy.jsii.tgz`` (deterministic: same
  member order and metadata, gzip without timestamp) and ``manifest.json`` (input and output sha256, the
  Pipfile.lock entry, this script's sha256, the original and generated index sha256).
- use: ``constructs_lib/providers.py`` hashes the installed tarball, finds its manifest, checks the format,
  this script's sha256 and the output's sha256, and only then asks the jsii kernel to load the derived tarball
  (the bindings' own load of the stock tarball is then a no-op of the kernel, which loads a package once).
  Any mismatch: the stock bindings, and one line on stderr.

The default root is ``<venv>/.globalpay-bindings`` (``GLOBALPAY_BINDINGS_DIR`` overrides it), so the artifacts
live and die with the virtual environment whose packages they were derived from. ``build`` finally warms jsii's
package cache with the derived tarballs (one kernel start), so the first synth does not pay their extraction.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import importlib.metadata
import io
import json
import os
import re
import shutil
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GENERATOR = Path(__file__).resolve()
PIPFILE_LOCK = ROOT / "Pipfile.lock"

sys.path.insert(0, str(ROOT))
# The checker's names: where artifacts live, which packages, how files are hashed (it imports no jsii).
from constructs_lib.providers import (  # noqa: E402
    BINDINGS_DIR_ENV,
    PROVIDER_PACKAGES,
    DerivedMismatch,
    sha256_file,
    stock_tarball,
)
from constructs_lib.providers import DERIVED_FORMAT as MANIFEST_FORMAT  # noqa: E402
from constructs_lib.providers import bindings_root as default_root  # noqa: E402

MANIFEST = "manifest.json"
INDEX_MEMBER = "package/lib/index.js"
GZIP_LEVEL = 6


class DeriveError(Exception):
    """The input is not what the derivation expects; nothing is written."""


def generator_sha256() -> str:
    return sha256_file(GENERATOR)


# --------------------------------------------------------------------------------------------------
# lib/index.js -> lazy lib/index.js
# --------------------------------------------------------------------------------------------------

_REQUIRE = re.compile(r'exports\.([A-Za-z_$][\w$]*) = require\("(\./[a-z0-9][a-z0-9-]*)"\);')
_DECLARE = re.compile(r"(?:exports\.[A-Za-z_$][\w$]* = )+void 0;")
_DECLARED_NAME = re.compile(r"exports\.([A-Za-z_$][\w$]*) = ")
_PASS = re.compile(
    r'"use strict";'
    r'|Object\.defineProperty\(exports, "__esModule", \{ value: true \}\);'
    r"|/\*\*|\s\*.*|\s\*/|//.*"  # comments, including the trailing source map
    r"|"
)


def parse_index(source: str) -> list[tuple[str, str]]:
    """``[(export name, relative module path)]`` of a cdktf-generated provider ``lib/index.js``, in order.

    Strict: a line of any other shape (a re-export, a helper, code) raises DeriveError, because a lazy
    version would not be the same module any more.
    """
    exports: list[tuple[str, str]] = []
    declared: list[str] = []
    for number, line in enumerate(source.splitlines(), 1):
        if match := _REQUIRE.fullmatch(line):
            exports.append((match[1], match[2]))
        elif _DECLARE.fullmatch(line):
            declared.extend(_DECLARED_NAME.findall(line))
        elif not _PASS.fullmatch(line):
            raise DeriveError(f"lib/index.js line {number} is not an export of a resource module: {line[:120]!r}")
    names = [name for name, _ in exports]
    if not exports:
        raise DeriveError("lib/index.js exports no module")
    if len(set(names)) != len(names):
        raise DeriveError("lib/index.js exports a name twice")
    if sorted(declared) != sorted(names):
        raise DeriveError("lib/index.js declares other names than it assigns")
    return exports


def lazy_index(source: str, origin: str) -> str:
    """The lazy equivalent of a provider ``lib/index.js``: same exports, same order, required on first use."""
    exports = parse_index(source)
    lines = [
        '"use strict";',
        f"// Derived by scripts/lazy_bindings.py (GlobalPay) from {origin}:",
        "// the same exports in the same order, each module required on first access instead of at load.",
        'Object.defineProperty(exports, "__esModule", { value: true });',
        "function lazy(name, path) {",
        "    Object.defineProperty(exports, name, {",
        "        configurable: true,",
        "        enumerable: true,",
        "        get() {",
        "            const value = require(path);",
        "            Object.defineProperty(exports, name, { value, configurable: true, enumerable: true, writable: true });",
        "            return value;",
        "        },",
        "    });",
        "}",
    ]
    lines += [f"lazy({json.dumps(name)}, {json.dumps(path)});" for name, path in exports]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------------
# Inputs: the installed wheel's tarball, checked against RECORD and Pipfile.lock
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Input:
    package: str  # import name, e.g. cdktf_cdktf_provider_aws
    dist: str  # distribution name, e.g. cdktf-cdktf-provider-aws
    version: str
    tarball: Path
    sha256: str
    lock_hashes: tuple[str, ...]


def installed_tarball(package: str) -> Path:
    """``<site-packages>/<package>/_jsii/<name>.jsii.tgz``, found as the checker finds it (without importing it)."""
    try:
        return stock_tarball(package)
    except (ModuleNotFoundError, DerivedMismatch) as error:
        raise DeriveError(f"{package}: {error}") from None


def _lock_entry(dist: str) -> dict:
    lock = json.loads(PIPFILE_LOCK.read_text())
    entry = lock.get("default", {}).get(dist)
    if not entry:
        raise DeriveError(f"{dist} is not in Pipfile.lock")
    return entry


def locked_input(package: str) -> Input:
    """The installed tarball of ``package``, after checking it is the one the lock and the wheel name."""
    tarball = installed_tarball(package)
    dist = importlib.metadata.distribution(package.replace("_", "-"))
    name = dist.metadata["Name"]
    entry = _lock_entry(name.lower().replace("_", "-"))
    if entry.get("version") != f"=={dist.version}":
        raise DeriveError(f"{name} {dist.version} is installed but Pipfile.lock pins {entry.get('version')}: "
                          "run python3 tasks.py install")
    relative = tarball.relative_to(Path(dist.locate_file("")))
    recorded = next((f for f in dist.files or () if Path(f) == relative), None)
    if recorded is None or recorded.hash is None or recorded.hash.mode != "sha256":
        raise DeriveError(f"{name}: no sha256 for {relative} in the wheel's RECORD")
    record_hex = base64.urlsafe_b64decode(recorded.hash.value + "=" * (-len(recorded.hash.value) % 4)).hex()
    actual = sha256_file(tarball)
    if actual != record_hex:
        raise DeriveError(f"{name}: {relative} does not match the wheel's RECORD (modified after install?)")
    return Input(package, name, dist.version, tarball, actual, tuple(entry.get("hashes", ())))


# --------------------------------------------------------------------------------------------------
# Derivation
# --------------------------------------------------------------------------------------------------


def derive_tarball(source: Path, target: Path) -> dict:
    """Write ``target``: ``source`` with a lazy ``package/lib/index.js``; return what the manifest records."""
    index: dict | None = None
    package_json: dict | None = None
    content = hashlib.sha256()

    class _Hashing(io.RawIOBase):
        def __init__(self, sink):
            self.sink = sink

        def writable(self) -> bool:
            return True

        def write(self, data) -> int:
            content.update(data)
            return self.sink.write(data)

    tmp = target.with_name(target.name + ".tmp")
    with open(tmp, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=GZIP_LEVEL, mtime=0) as gz, \
            tarfile.open(source, "r|gz") as src, \
            tarfile.open(fileobj=_Hashing(gz), mode="w|", format=tarfile.PAX_FORMAT) as out:
        for member in src:
            data = src.extractfile(member).read() if member.isfile() else None
            if member.name == "package/package.json":
                package_json = json.loads(data)
            if member.name == INDEX_MEMBER:
                original = data.decode("utf-8")
                lazy = lazy_index(original, f"lib/index.js of {source.name}").encode("utf-8")
                index = {"modules": len(parse_index(original)), "original_sha256": hashlib.sha256(data).hexdigest(),
                         "lazy_sha256": hashlib.sha256(lazy).hexdigest()}
                data = lazy
                member.size = len(data)
            out.addfile(member, io.BytesIO(data) if data is not None else None)
    if index is None or package_json is None:
        tmp.unlink()
        raise DeriveError(f"{source.name} has no {INDEX_MEMBER} or package.json")
    tmp.replace(target)
    return {"jsii": {"name": package_json["name"], "version": package_json["version"]}, "index": index,
            "content_sha256": content.hexdigest()}


def _manifest_ok(folder: Path, source: Input) -> bool:
    """An existing artifact for ``source`` made by this very script, whose output is intact."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
        return (manifest["format"] == MANIFEST_FORMAT and manifest["input"]["sha256"] == source.sha256
                and manifest["generator"]["sha256"] == generator_sha256()
                and sha256_file(folder / manifest["output"]["file"]) == manifest["output"]["sha256"])
    except (OSError, ValueError, KeyError, TypeError):
        return False


def build_one(source: Input, root: Path, *, force: bool = False) -> tuple[Path, bool]:
    """(artifact folder, whether it was (re)built) for one provider package."""
    folder = root / source.sha256
    if not force and _manifest_ok(folder, source):
        return folder, False
    work = Path(tempfile.mkdtemp(prefix=f".{source.sha256[:12]}-", dir=root))
    work.chmod(0o755)
    try:
        output = work / source.tarball.name.replace(".jsii.tgz", ".lazy.jsii.tgz")
        derived = derive_tarball(source.tarball, output)
        manifest = {
            "format": MANIFEST_FORMAT,
            "package": source.package,
            "generator": {"file": "scripts/lazy_bindings.py", "sha256": generator_sha256()},
            "input": {
                "dist": source.dist, "version": source.version,
                "file": f"{source.package}/_jsii/{source.tarball.name}",
                "sha256": source.sha256, "size": source.tarball.stat().st_size,
                "checked_against": "the installed wheel's RECORD; the version pinned in Pipfile.lock",
                "pipfile_lock_hashes": list(source.lock_hashes),
            },
            "jsii": derived["jsii"],
            "index": derived["index"],
            "output": {"file": output.name, "sha256": sha256_file(output), "size": output.stat().st_size,
                       "content_sha256": derived["content_sha256"]},
        }
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        if folder.exists():
            shutil.rmtree(folder)
        work.rename(folder)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return folder, True


def build(root: Path, packages: tuple[str, ...] = PROVIDER_PACKAGES, *, force: bool = False) -> dict[str, Path]:
    root.mkdir(parents=True, exist_ok=True)
    built: dict[str, Path] = {}
    for package in packages:
        source = locked_input(package)
        folder, fresh = build_one(source, root, force=force)
        built[package] = folder
        manifest = json.loads((folder / MANIFEST).read_text())
        state = "derived" if fresh else "up to date"
        print(f"{package} {source.version}: {state}, {manifest['index']['modules']} modules loaded on first use "
              f"({folder.relative_to(root)}/{manifest['output']['file']})", flush=True)
    # Artifacts of inputs no longer installed (an upgraded wheel) are removed.
    keep = {folder.name for folder in built.values()}
    for stale in root.iterdir():
        if stale.is_dir() and stale.name not in keep and len(stale.name) == 64 and packages == PROVIDER_PACKAGES:
            shutil.rmtree(stale)
    return built


def warm(root: Path) -> None:
    """Load the derived tarballs once through the project's own check, so jsii caches their extraction."""
    os.environ[BINDINGS_DIR_ENV] = str(root)
    from constructs_lib import providers

    sources = providers.load_derived_bindings()
    missing = [package for package, source in sources.items() if not source.startswith("derived")]
    if missing:
        raise DeriveError(f"the derived bindings of {', '.join(missing)} do not verify")


def check(root: Path) -> int:
    failures = 0
    for package in PROVIDER_PACKAGES:
        try:
            source = locked_input(package)
        except DeriveError as error:
            print(f"{package}: {error}")
            failures += 1
            continue
        ok = _manifest_ok(root / source.sha256, source)
        failures += not ok
        print(f"{package}: {'ok' if ok else 'missing or stale (python3 tasks.py install rebuilds it)'}")
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("build", "check"))
    parser.add_argument("--root", type=Path, default=None, help="artifact folder (default: <venv>/.globalpay-bindings)")
    parser.add_argument("--force", action="store_true", help="derive again even when the artifact is up to date")
    parser.add_argument("--no-warm", action="store_true", help="do not load the derived tarballs into jsii's cache")
    args = parser.parse_args(argv)
    root = (args.root or default_root()).resolve()
    if args.command == "check":
        return check(root)
    try:
        build(root, force=args.force)
        if not args.no_warm:
            warm(root)
    except DeriveError as error:
        print(f"derived provider bindings not built: {error} (the synth will use the stock bindings)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
