"""Which hashicorp/aws provider the rehearsal runs, and what it may drop when that is not the pinned one.

Order of preference:

1. the pinned version (the one the synthesized ``required_providers`` names), from a local filesystem mirror;
2. the pinned version from the registry (a user's machine): installed once into ``.rehearsal/providers``, which
   is an unpacked filesystem mirror for every later ``terraform init``;
3. the newest version in a local filesystem mirror (the build machines here carry 5.100.0 and no registry).

Only in case 3 may attributes the older provider does not know be removed from the rehearsal's copies of the
stacks, and only those in ``COMPAT_DROPS``; anything else unknown fails ``terraform validate`` as it should.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROVIDER = "registry.terraform.io/hashicorp/aws"
PLATFORM = "linux_amd64" if os.uname().machine in ("x86_64", "amd64") else "linux_arm64"

#: Where terraform looks for plugins without configuration (Linux), plus the build machines' /opt mirror.
#: ``GLOBALPAY_TF_PROVIDER_MIRROR`` (a folder holding ``registry.terraform.io/``) comes first.
IMPLIED_MIRRORS = (
    "~/.terraform.d/plugins",
    "~/.local/share/terraform/plugins",
    "/usr/local/share/terraform/plugins",
    "/usr/share/terraform/plugins",
    "/opt/tf-plugins",
)


@dataclass(frozen=True)
class CompatDrop:
    """An argument the pinned provider has and an older fallback provider does not."""

    resource_type: str
    attribute: str
    introduced_in: str
    evidence: str


#: The only attributes a fallback provider run may drop. Each entry names the provider release that
#: introduced the argument (its CHANGELOG.md entry); a run on that version or newer drops nothing.
COMPAT_DROPS: tuple[CompatDrop, ...] = (
    CompatDrop(
        "aws_eks_cluster", "deletion_protection", "6.9.0",
        "terraform-provider-aws CHANGELOG.md, 6.9.0 (2025-08-14): resource/aws_eks_cluster: Add `deletion_protection` argument (#43779)",
    ),
)


def version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version)[:3])


@dataclass
class ProviderChoice:
    """The provider every stack of one rehearsal is initialized with."""

    version: str
    pinned: str
    #: The filesystem mirror folder (holds ``registry.terraform.io/``).
    mirror: Path
    #: How it was found, for the report: "local mirror /opt/tf-plugins", "registry (cached in ...)".
    source: str
    fallback_reason: str = ""
    drops: tuple[CompatDrop, ...] = field(default_factory=tuple)

    @property
    def is_fallback(self) -> bool:
        return self.version != self.pinned

    def describe(self) -> str:
        text = f"hashicorp/aws {self.version} from {self.source}"
        if self.is_fallback:
            text += f" (pinned {self.pinned}: {self.fallback_reason})"
        return text

    def cli_config(self, plugin_cache: Path | None = None) -> str:
        """A Terraform CLI configuration that installs the aws provider from the chosen mirror only."""
        lines = [
            "provider_installation {",
            "  filesystem_mirror {",
            f"    path    = {json.dumps(str(self.mirror))}",
            f'    include = ["{PROVIDER}"]',
            "  }",
            "  direct {",
            f'    exclude = ["{PROVIDER}"]',
            "  }",
            "}",
        ]
        if plugin_cache is not None:
            lines.append(f"plugin_cache_dir = {json.dumps(str(plugin_cache))}")
        return "\n".join(lines) + "\n"


def mirror_candidates(extra: Iterable[str | Path] = ()) -> Iterator[Path]:
    seen: set[Path] = set()
    env = os.environ.get("GLOBALPAY_TF_PROVIDER_MIRROR")
    for raw in (*([env] if env else []), *extra, *IMPLIED_MIRRORS):
        path = Path(raw).expanduser()
        if path not in seen and (path / PROVIDER).is_dir():
            seen.add(path)
            yield path


def mirrored_versions(mirror: Path) -> list[str]:
    """aws provider versions a filesystem mirror holds for this platform (unpacked or packed layout)."""
    root = mirror / PROVIDER
    versions = {d.name for d in root.iterdir() if d.is_dir() and (d / PLATFORM).is_dir()}
    versions |= {m.group(1) for f in root.glob(f"terraform-provider-aws_*_{PLATFORM}.zip")
                 if (m := re.match(r"terraform-provider-aws_(.+)_" + PLATFORM, f.stem))}
    return sorted(versions, key=version_tuple)


def _install_from_registry(pinned: str, cache: Path, terraform: str, timeout: float) -> tuple[bool, str]:
    """Install ``pinned`` from the registry into ``cache`` (an unpacked mirror). (ok, reason if not)."""
    if (cache / PROVIDER / pinned / PLATFORM).is_dir():
        return True, ""
    probe = cache.parent / "registry-probe"
    shutil.rmtree(probe, ignore_errors=True)
    probe.mkdir(parents=True)
    (probe / "main.tf.json").write_text(json.dumps(
        {"terraform": {"required_providers": {"aws": {"source": "hashicorp/aws", "version": pinned}}}}))
    (probe / "cli.tfrc").write_text("provider_installation {\n  direct {}\n}\n")
    env = {**os.environ, "TF_CLI_CONFIG_FILE": str(probe / "cli.tfrc"), "CHECKPOINT_DISABLE": "1",
           "TF_IN_AUTOMATION": "1"}
    env.pop("TF_PLUGIN_CACHE_DIR", None)
    try:
        done = subprocess.run([terraform, "init", "-input=false", "-no-color", "-backend=false"], cwd=probe, env=env,
                              capture_output=True, text=True, timeout=timeout, check=False, start_new_session=True)
    except subprocess.TimeoutExpired:
        return False, f"the registry did not answer within {timeout:.0f} s"
    installed = probe / ".terraform" / "providers" / PROVIDER / pinned / PLATFORM
    if done.returncode != 0 or not installed.is_dir():
        lines = [line.strip() for line in (done.stdout + done.stderr).splitlines() if line.strip()]
        reason = next((line for line in lines if "could not connect" in line or "no such host" in line),
                      lines[-1] if lines else f"terraform init exited {done.returncode}")
        shutil.rmtree(probe, ignore_errors=True)
        return False, f"not installable from the registry ({reason})"
    target = cache / PROVIDER / pinned
    target.mkdir(parents=True, exist_ok=True)
    shutil.move(str(installed), str(target / PLATFORM))
    shutil.rmtree(probe, ignore_errors=True)
    return True, ""


def choose_provider(pinned: str, cache: Path, *, terraform: str = "terraform", registry: bool = True,
                    registry_timeout: float = 300.0, mirrors: Iterable[str | Path] = ()) -> ProviderChoice:
    """The pinned provider when it can be had, else the newest mirrored one with its compatibility drops."""
    candidates = list(mirror_candidates(mirrors))
    for mirror in candidates:
        if pinned in mirrored_versions(mirror):
            return ProviderChoice(pinned, pinned, mirror, f"local mirror {mirror}")
    reason = "not in a local mirror"
    if registry:
        ok, why = _install_from_registry(pinned, cache, terraform, registry_timeout)
        if ok:
            return ProviderChoice(pinned, pinned, cache, f"the registry (cached in {cache})")
        reason = f"not in a local mirror, {why}"
    best: tuple[tuple[int, ...], str, Path] | None = None
    for mirror in candidates:
        for version in mirrored_versions(mirror):
            if best is None or version_tuple(version) > best[0]:
                best = (version_tuple(version), version, mirror)
    if best is None:
        raise ProviderUnavailable(
            f"hashicorp/aws {pinned} is {reason}, and no local filesystem mirror holds any aws provider "
            f"(looked in {', '.join(str(Path(m).expanduser()) for m in IMPLIED_MIRRORS)}; set GLOBALPAY_TF_PROVIDER_MIRROR)"
        )
    _, version, mirror = best
    drops = tuple(d for d in COMPAT_DROPS if version_tuple(version) < version_tuple(d.introduced_in))
    return ProviderChoice(version, pinned, mirror, f"local mirror {mirror}", fallback_reason=reason, drops=drops)


class ProviderUnavailable(RuntimeError):
    pass


def apply_drops(stack: dict[str, Any], drops: Iterable[CompatDrop]) -> dict[str, int]:
    """Remove the listed attributes from a stack copy; ``{"type.attribute": resources changed}``."""
    dropped: dict[str, int] = {}
    for drop in drops:
        for config in stack.get("resource", {}).get(drop.resource_type, {}).values():
            if drop.attribute in config:
                del config[drop.attribute]
                key = f"{drop.resource_type}.{drop.attribute}"
                dropped[key] = dropped.get(key, 0) + 1
    return dropped


def pinned_version(stack: dict[str, Any]) -> str | None:
    """The aws provider version a synthesized stack requires (cdktf writes an exact version)."""
    spec = stack.get("terraform", {}).get("required_providers", {}).get("aws")
    return spec.get("version") if spec else None
