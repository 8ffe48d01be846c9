#!/usr/bin/env python3
"""Terraform dependency lock files: one committed per stack, used read-only by every plan and apply.

    python3 tasks.py locks --check     # every stack of a prod and a staging synth has its lock file, as written here
    python3 tasks.py locks --update    # (re)write locks/<stack>.terraform.lock.hcl from PROVIDERS

``locks/<stack>.terraform.lock.hcl`` (``<stack>`` without ``globalpay-<env>-``: prod and staging have the same
stacks and providers) lists exactly the providers the stack requires, at the versions the provider bindings
pin, with the hashes below. ``main.py`` copies each into its stack folder of the synth output, where
``terraform init -lockfile=readonly`` (the pipeline) refuses a provider package whose hash is not listed and a
lock file that does not match the configuration. The ``zh:`` hashes are the SHA-256 sums of the release zips
(HashiCorp's ``terraform-provider-<name>_<version>_SHA256SUMS``, the same for everyone, every platform:
linux and darwin, amd64 and arm64, included); the ``h1:`` hashes are of the unpacked packages of the platforms
that recorded them. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCKS = ROOT / "locks"
LOCK_FILE = ".terraform.lock.hcl"
HEADER = ('# This file is maintained automatically by "terraform init".\n'
          "# Manual edits may be lost in future updates.\n")


@dataclass(frozen=True)
class ProviderHashes:
    address: str
    version: str
    hashes: tuple[str, ...]
    evidence: str


#: The hashes of every provider version the bindings pin (Pipfile.lock: cdktf-cdktf-provider-aws 21.22.1 is
#: hashicorp/aws 6.25.0, -kubernetes 12.1.1 is 2.38.0, -helm 12.1.2 is 3.1.1). A new provider version fails
#: ``--check`` until its hashes are written here with their evidence.
PROVIDERS: dict[str, ProviderHashes] = {p.address: p for p in (
    ProviderHashes(
        "registry.terraform.io/hashicorp/aws", "6.25.0",
        (
            "h1:+hGrZFOwhO5Wa60cy9tntT0qkBf81rHJIF2ErJ5JkQg=", "h1:0XEc9eHELD/BtPNybqkzzaS3bYp2HSv9LwAfaGyCpOU=",
            "h1:4/MVfJTHXMUw0znz+eTdWdScMZkLiMZ0IkY4wPzx5Bc=", "h1:5Y+OtKRotuCIjbVW6rYrGIU1u8+zK5zyvar9t7L6aqc=",
            "h1:67vo1NVFcVzi0BcCd7uEOc5thGm22JE7xb7ph/XwUxI=", "h1:PQ3jzG6VNrfS35adtrBeLnVTnJef3f2t5SUV7XNikgo=",
            "h1:QAcpv9yoqEtVaBVyQ3hHsTc558AchV5/8lfAGoqmUkA=", "h1:QJEljz77aB459tng0v+5xIdV6mkmCM4RZO6ztk3pOEA=",
            "h1:RB3r7K1PgJ6S3J0l4u5/nB7G/inM2goPWY+QHesxuGo=", "h1:UT4pxGbPuANnxyCeDn5/Ybr476EkyxcsYsU+q0iYt/Q=",
            "h1:Uv/PPkYgnjKcsesOVWiTHaY/1R5/OgH1UYnXvtu0K58=", "h1:XuB0R/84+T3iEUVh5EHBQ+P+FdmgrC9DxQ0BmaNttS0=",
            "h1:p/zt5FRJNZg6oqJmh+ZCMx/Fn7kjefz1sCdbZaarunw=", "h1:v9FRXpj8ZndNpDmiJX3mDwGvGw8WMCatv/7vlp50U2E=",
            "zh:0f9621f719ec2051eabb94ca59aa4f13574487fbc1517b183293431c9d388e38",
            "zh:2ffbedb2e3afcd82da8bfc540bd74e9611527bdafd00d6d1885f62e7d13bac74",
            "zh:30fb4ab8b4af19da7b9ce95cb41fa9399f81383e1adc91801b770e7eeab651c3",
            "zh:377cbaffe3ec8aa5bb594071df0e91f17ac9292a325ed73cebd69fe78c51f7ec",
            "zh:3b65f5c98e03f1bfc5b71fa69521e785552ff9656860b25e211287910874037d",
            "zh:4478fab7b111c40a9a2a9db6ec5331618cc8e5a8b591f651095c77b87e9f22b1",
            "zh:4fdaa559c57aed5d24fa3d5cb59fed59e1e689c21d038fd336a3ba93b258803f",
            "zh:7a751ecd0f2654746dd4041d0f6d894c3a1876a152ba4bb7805ec2c715259065",
            "zh:866725b83f8d5587dab0559ac208ee6c181746871faa99ce551b535e19c7bb6a",
            "zh:9b12af85486a96aedd8d7984b0ff811a4b42e3d88dad1a3fb4c0b580d04fa425",
            "zh:b16e3e2a8ccba4ceeeee961c708ef572c4a65e0001eaf09d08fa14cef01ab179",
            "zh:dc897b2037bbb7f8d6456a4aa1ed82cbd4daddb173a184efdfe8c03a57557771",
            "zh:de2344f23c980093a46dda3185f9052cda950d1b8ca9cf3c6e16b8c45fa23779",
            "zh:ef538ec8a917715a1804c6735d44b756c32972d4fab71e15df87a59eb75dd57c",
            "zh:f25cdfdac6798e7de4a1d3dd577a97c1ca200a12317a1fd5a4b9ea54cb05e868",
        ),
        "github.com/ministryofjustice/opg-modernising-lpa commit 2b1470c4dac5 (2025-12-08), "
        "terraform/account/.terraform.lock.hcl (14 h1 + 15 zh); the same 15 zh in "
        "github.com/milindpatle/Three-tier-project infra/terraform/.terraform.lock.hcl (commit 64735f9746b4)",
    ),
    ProviderHashes(
        "registry.terraform.io/hashicorp/helm", "3.1.1",
        (
            "h1:s68EnUScdj1dXoXrNBaH/AIk18R2ryKeHY5H0ETfUws=",
            "zh:1a6d5ce931708aec29d1f3d9e360c2a0c35ba5a54d03eeaff0ce3ca597cd0275",
            "zh:3411919ba2a5941801e677f0fea08bdd0ae22ba3c9ce3309f55554699e06524a",
            "zh:81b36138b8f2320dc7f877b50f9e38f4bc614affe68de885d322629dd0d16a29",
            "zh:95a2a0a497a6082ee06f95b38bd0f0d6924a65722892a856cfd914c0d117f104",
            "zh:9d3e78c2d1bb46508b972210ad706dd8c8b106f8b206ecf096cd211c54f46990",
            "zh:a79139abf687387a6efdbbb04289a0a8e7eaca2bd91cdc0ce68ea4f3286c2c34",
            "zh:aaa8784be125fbd50c48d84d6e171d3fb6ef84a221dbc5165c067ce05faab4c8",
            "zh:afecd301f469975c9d8f350cc482fe656e082b6ab0f677d1a816c3c615837cc1",
            "zh:c54c22b18d48ff9053d899d178d9ffef7d9d19785d9bf310a07d648b7aac075b",
            "zh:db2eefd55aea48e73384a555c72bac3f7d428e24147bedb64e1a039398e5b903",
            "zh:ee61666a233533fd2be971091cecc01650561f1585783c381b6f6e8a390198a4",
            "zh:f569b65999264a9416862bca5cd2a6177d94ccb0424f3a4ef424428912b9cb3c",
        ),
        "github.com/milindpatle/Three-tier-project infra/terraform/.terraform.lock.hcl (commit 64735f9746b4)",
    ),
    ProviderHashes(
        "registry.terraform.io/hashicorp/kubernetes", "2.38.0",
        (
            "h1:1OF0rDUteVdoX04BrtmTc0T4NOo6+D0utmK6hM0EzZw=",
            "zh:0af928d776eb269b192dc0ea0f8a3f0f5ec117224cd644bdacdc682300f84ba0",
            "zh:1be998e67206f7cfc4ffe77c01a09ac91ce725de0abaec9030b22c0a832af44f",
            "zh:326803fe5946023687d603f6f1bab24de7af3d426b01d20e51d4e6fbe4e7ec1b",
            "zh:4a99ec8d91193af961de1abb1f824be73df07489301d62e6141a656b3ebfff12",
            "zh:5136e51765d6a0b9e4dbcc3b38821e9736bd2136cf15e9aac11668f22db117d2",
            "zh:63fab47349852d7802fb032e4f2b6a101ee1ce34b62557a9ad0f0f0f5b6ecfdc",
            "zh:924fb0257e2d03e03e2bfe9c7b99aa73c195b1f19412ca09960001bee3c50d15",
            "zh:b63a0be5e233f8f6727c56bed3b61eb9456ca7a8bb29539fba0837f1badf1396",
            "zh:d39861aa21077f1bc899bc53e7233262e530ba8a3a2d737449b100daeb303e4d",
            "zh:de0805e10ebe4c83ce3b728a67f6b0f9d18be32b25146aa89116634df5145ad4",
            "zh:f569b65999264a9416862bca5cd2a6177d94ccb0424f3a4ef424428912b9cb3c",
            "zh:faf23e45f0090eef8ba28a8aac7ec5d4fdf11a36c40a8d286304567d71c1e7db",
        ),
        "github.com/milindpatle/Three-tier-project infra/terraform/.terraform.lock.hcl (commit 64735f9746b4)",
    ),
)}


def provider_address(source: str) -> str:
    """``aws`` / ``hashicorp/aws`` / ``registry.terraform.io/hashicorp/aws`` -> the full address."""
    parts = source.split("/")
    if len(parts) == 1:
        parts = ["hashicorp", *parts]
    if len(parts) == 2:
        parts = ["registry.terraform.io", *parts]
    return "/".join(parts).lower()


def lock_text(required_providers: dict[str, dict[str, str]], table: dict[str, ProviderHashes] = PROVIDERS) -> str:
    """The lock file Terraform would write for these ``required_providers`` (exact version constraints)."""
    blocks = []
    for name, spec in sorted(required_providers.items(), key=lambda kv: provider_address(kv[1].get("source", kv[0]))):
        address = provider_address(spec.get("source", name))
        constraint = spec.get("version", "")
        known = table.get(address)
        if known is None:
            raise KeyError(f"{address}: no hashes recorded in scripts/ci/locks.py PROVIDERS")
        if constraint != known.version:
            raise KeyError(f"{address}: the stacks require {constraint!r}, PROVIDERS records {known.version}: "
                           f"add the hashes of {constraint} (with their evidence)")
        lines = [f'provider "{address}" {{', f'  version     = "{known.version}"', f'  constraints = "{constraint}"',
                 "  hashes = [", *(f'    "{h}",' for h in sorted(known.hashes)), "  ]", "}"]
        blocks.append("\n".join(lines) + "\n")
    return HEADER + "".join("\n" + b for b in blocks)


def stack_key(stack: str) -> str:
    """``globalpay-prod-us-east-1-keys`` -> ``us-east-1-keys`` (the same lock file for every environment)."""
    parts = stack.split("-", 2)
    return parts[2] if len(parts) == 3 and parts[0] == "globalpay" else stack


def committed_lock(stack: str, locks: Path = LOCKS) -> Path:
    return locks / f"{stack_key(stack)}{LOCK_FILE}"


def stacks_of(outdir: Path) -> dict[str, dict]:
    return {d.name: json.loads((d / "cdk.tf.json").read_text()) for d in sorted((outdir / "stacks").iterdir())
            if (d / "cdk.tf.json").is_file()}


def install(outdir: Path, locks: Path = LOCKS) -> list[str]:
    """Copy each stack's committed lock file into its folder of a synth output; returns the stacks without one."""
    missing = []
    for stack in stacks_of(outdir):
        source = committed_lock(stack, locks)
        if source.is_file():
            shutil.copyfile(source, outdir / "stacks" / stack / LOCK_FILE)
        else:
            missing.append(stack)
    return missing


def problems(outdir: Path, locks: Path = LOCKS) -> list[str]:
    """What is wrong with the committed lock files for the stacks of a synth output (empty: nothing)."""
    found = []
    for stack, config in stacks_of(outdir).items():
        path = committed_lock(stack, locks)
        try:
            expected = lock_text(config["terraform"].get("required_providers", {}))
        except KeyError as error:
            found.append(f"{stack}: {error.args[0]}")
            continue
        if not path.is_file():
            found.append(f"{stack}: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} is missing")
        elif path.read_text() != expected:
            found.append(f"{stack}: {path.name} differs from the providers the stack requires (python3 tasks.py locks --update)")
    return found


def update(outdir: Path, locks: Path = LOCKS) -> list[Path]:
    locks.mkdir(exist_ok=True)
    written = []
    for stack, config in stacks_of(outdir).items():
        path = committed_lock(stack, locks)
        text = lock_text(config["terraform"].get("required_providers", {}))
        if not path.is_file() or path.read_text() != text:
            path.write_text(text)
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("outdirs", nargs="+", type=Path, help="synth output folders (prod, staging)")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true")
    mode.add_argument("--update", action="store_true")
    args = parser.parse_args(argv)
    status = 0
    for outdir in args.outdirs:
        if args.update:
            for path in update(outdir):
                print(f"wrote {path.relative_to(ROOT)}")
        for problem in problems(outdir):
            print(problem, file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
