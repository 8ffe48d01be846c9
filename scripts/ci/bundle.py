#!/usr/bin/env python3
"""The plan bundle: the files an apply uses, sealed by the plan job and verified before ``terraform apply``.

    python3 scripts/ci/bundle.py seal   --stack-dir DIR --out BUNDLE --stack S --environment E --commit SHA
    python3 scripts/ci/bundle.py verify --bundle BUNDLE --digest D --stack S --environment E --commit SHA --into DIR

``seal`` copies the stack's ``cdk.tf.json``, ``.terraform.lock.hcl``, ``tfplan`` and ``plan.txt`` into BUNDLE
with ``bundle.json``: the stack, environment and commit they were planned for and each file's SHA-256. The
bundle's digest is the SHA-256 of ``bundle.json``; the plan job prints it in the summary the approvers read and
passes it to the apply job as a job output (written by GitHub when the plan job ends: no later job of the run
can change it). ``verify`` recomputes everything from the downloaded artifact and refuses, before any
credential is used, a bundle whose digest is not the plan job's, a file that is not the one sealed, a missing
or extra file, or a bundle of another stack, environment or commit; then copies the files into DIR.

Exit status 0: verified (or sealed); 1: refused. Standard library only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

FILES = ("cdk.tf.json", ".terraform.lock.hcl", "tfplan", "plan.txt")
MANIFEST = "bundle.json"


class Refused(Exception):
    pass


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def seal(stack_dir: Path, out: Path, *, stack: str, environment: str, commit: str) -> str:
    """Copy the apply's files into ``out``, write the manifest; returns the digest."""
    out.mkdir(parents=True, exist_ok=True)
    files = {}
    for name in FILES:
        source = stack_dir / name
        if not source.is_file():
            raise Refused(f"{source} is missing: nothing to seal")
        shutil.copyfile(source, out / name)
        files[name] = sha256(out / name)
    manifest = {"stack": stack, "environment": environment, "commit": commit, "files": files}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return sha256(out / MANIFEST)


def find_manifest(bundle: Path) -> Path:
    """The one ``bundle.json`` under ``bundle`` (download-artifact may add a folder level)."""
    found = sorted(bundle.rglob(MANIFEST))
    if len(found) != 1:
        raise Refused(f"{bundle}: expected one {MANIFEST}, found {len(found)}")
    return found[0]


def verify(bundle: Path, *, digest: str, stack: str, environment: str, commit: str) -> Path:
    """The folder of a verified bundle; raises Refused with the first reason it is not the reviewed plan."""
    if len(digest) != 64:
        raise Refused(f"no plan digest from the plan job ({digest!r}): nothing to check the artifact against")
    manifest_path = find_manifest(bundle)
    folder = manifest_path.parent
    actual = sha256(manifest_path)
    if actual != digest:
        raise Refused(f"the artifact's {MANIFEST} has digest {actual[:16]}..., the plan job sealed {digest[:16]}...: "
                      f"this is not the plan the reviewers approved")
    manifest = json.loads(manifest_path.read_text())
    for key, want in (("stack", stack), ("environment", environment), ("commit", commit)):
        if manifest.get(key) != want:
            raise Refused(f"the bundle was planned for {key} {manifest.get(key)!r}, this apply is for {want!r}")
    files = manifest.get("files", {})
    if sorted(files) != sorted(FILES):
        raise Refused(f"the bundle lists {sorted(files)}, expected {sorted(FILES)}")
    present = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    extra = sorted(set(present) - set(FILES) - {MANIFEST})
    if extra:
        raise Refused(f"files in the artifact that the plan job did not seal: {extra}")
    for name, want in files.items():
        path = folder / name
        if not path.is_file():
            raise Refused(f"{name} is missing from the artifact")
        got = sha256(path)
        if got != want:
            raise Refused(f"{name} has SHA-256 {got[:16]}..., the plan job sealed {want[:16]}...: refusing to apply it")
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("seal", "verify"):
        p = sub.add_parser(name)
        p.add_argument("--stack", required=True)
        p.add_argument("--environment", required=True)
        p.add_argument("--commit", required=True)
    sub.choices["seal"].add_argument("--stack-dir", type=Path, required=True)
    sub.choices["seal"].add_argument("--out", type=Path, required=True)
    sub.choices["verify"].add_argument("--bundle", type=Path, required=True)
    sub.choices["verify"].add_argument("--digest", required=True)
    sub.choices["verify"].add_argument("--into", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        if args.command == "seal":
            digest = seal(args.stack_dir, args.out, stack=args.stack, environment=args.environment, commit=args.commit)
            print(f"{args.stack}: plan bundle sealed, digest sha256:{digest}")
            if os.environ.get("GITHUB_OUTPUT"):
                with open(os.environ["GITHUB_OUTPUT"], "a") as fh:
                    fh.write(f"digest={digest}\n")
            return 0
        folder = verify(args.bundle, digest=args.digest, stack=args.stack, environment=args.environment, commit=args.commit)
    except Refused as refused:
        print(f"::error title=plan bundle refused::{args.stack}: {refused}")
        return 1
    args.into.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        shutil.copyfile(folder / name, args.into / name)
    print(f"{args.stack}: the artifact is the plan sealed with digest sha256:{args.digest} (stack, environment, "
          f"commit {args.commit[:12]}, {len(FILES)} files checked)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
