"""Run ``terraform init``, ``validate`` and ``plan`` on every AWS stack of one synthesized environment, in the
deploy order of the cdktf manifest, against the emulator. ``rehearse`` returns a ``Rehearsal`` whose
``lines()`` are the report: one line per stack, then what was stood in and what was supplied.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rehearsal import lookups as lookups_mod
from rehearsal.emulator import MotoServer, ProcessTracker, moto_version, seed
from rehearsal.provider import ProviderChoice, choose_provider, pinned_version
from rehearsal.workspace import PreparedStack, placeholder, prepare, state_with_outputs

#: Providers a stack may use and still be planned here (terraform's builtin provider serves remote state).
AWS_ONLY = frozenset({"aws"})
#: Scenario label of each reusable result (by content key), for the report.
_REUSE_LABELS: dict[str, str] = {}
INIT_TIMEOUT = 600.0
VALIDATE_TIMEOUT = 600.0
PLAN_TIMEOUT = 1200.0


# ------------------------------------------------------------------------------------------------------
# The synthesized environment
# ------------------------------------------------------------------------------------------------------


@dataclass
class SynthOutput:
    """A cdktf output folder: every stack's JSON and its declared dependencies, in deploy order."""

    outdir: Path
    stacks: dict[str, dict[str, Any]]
    dependencies: dict[str, list[str]]
    order: list[str]

    @classmethod
    def load(cls, outdir: Path) -> SynthOutput:
        manifest = json.loads((outdir / "manifest.json").read_text())
        stacks, deps = {}, {}
        for name, entry in manifest["stacks"].items():
            stacks[name] = json.loads((outdir / entry["synthesizedStackPath"]).read_text())
            deps[name] = list(entry.get("dependencies", []))
        return cls(outdir, stacks, deps, deploy_order(deps))

    def stack_dir(self, name: str) -> Path:
        return self.outdir / "stacks" / name

    def providers(self, name: str) -> set[str]:
        return set(self.stacks[name].get("terraform", {}).get("required_providers", {}))

    def upstream(self, name: str) -> set[str]:
        """Every stack ``name`` depends on, directly or through others."""
        seen: set[str] = set()
        todo = list(self.dependencies.get(name, []))
        while todo:
            dep = todo.pop()
            if dep not in seen:
                seen.add(dep)
                todo.extend(self.dependencies.get(dep, []))
        return seen


def deploy_order(dependencies: Mapping[str, list[str]]) -> list[str]:
    """Topological order (Kahn); among stacks that are ready together, by name. Raises on a cycle."""
    remaining = {name: set(deps) & set(dependencies) for name, deps in dependencies.items()}
    order: list[str] = []
    while remaining:
        ready = sorted(name for name, deps in remaining.items() if not deps)
        if not ready:
            raise ValueError(f"dependency cycle among {sorted(remaining)}")
        for name in ready:
            order.append(name)
            del remaining[name]
        for deps in remaining.values():
            deps.difference_update(ready)
    return order


# ------------------------------------------------------------------------------------------------------
# Results
# ------------------------------------------------------------------------------------------------------


@dataclass
class StackResult:
    name: str
    validate: str = "skipped"
    plan: str = "skipped"
    to_add: int | None = None
    to_change: int | None = None
    to_destroy: int | None = None
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    dropped: dict[str, int] = field(default_factory=dict)
    #: Set when the same JSON was already rehearsed (in another scenario of this run): whose result this is.
    reused_from: str = ""
    #: ``terraform show -json`` of the plan (``show_plans``): what the state would hold after apply.
    plan_json: Path | None = None
    #: ``time.perf_counter()`` when the job started and finished: the order the stacks really ran in.
    started_at: float = 0.0
    finished_at: float = 0.0
    #: Resources of other providers not planned (a stack rehearsed on its AWS part): ``{type: count}``.
    left_out: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.validate == "ok" and self.plan == "ok"

    def line(self, width: int) -> str:
        add = f"{self.to_add:4d} to add" if self.to_add is not None else "   - to add"
        when = f"same JSON as {self.reused_from}" if self.reused_from else f"{self.seconds:6.1f} s"
        part = (f"  (AWS part; not planned: {sum(self.left_out.values())} "
                f"{'/'.join(sorted({t.split('_')[0] for t in self.left_out}))} resources)") if self.left_out else ""
        return f"  {self.name:<{width}}  validate {self.validate:<7}  plan {self.plan:<7}  {add}  {when}{part}"


@dataclass
class Rehearsal:
    label: str
    provider: ProviderChoice
    emulator: str
    results: list[StackResult]
    skipped: dict[str, str]
    seeded: list[dict[str, Any]]
    unsupported: list[str]
    remote_notes: list[str]
    seconds: float

    @property
    def ok(self) -> bool:
        return not self.unsupported and bool(self.results) and all(r.ok for r in self.results)

    def lines(self, *, verbose: bool = False) -> Iterator[str]:
        yield f"rehearsal {self.label}: provider {self.provider.describe()}; emulator {self.emulator}"
        drops = sorted({k for r in self.results for k in r.dropped})
        if self.provider.is_fallback:
            listed = ", ".join(f"{d.resource_type}.{d.attribute} (added in {d.introduced_in})" for d in self.provider.drops)
            yield f"  fallback provider may drop only: {listed or 'nothing'}; dropped: " + (
                ", ".join(f"{k} x{sum(r.dropped.get(k, 0) for r in self.results)}" for k in drops) or "nothing")
        for obj in self.seeded:
            what = ", ".join(f"{k}={v}" for k, v in obj.items() if k in ("name", "domain"))
            yield f"  stand-in: {obj['kind']} {what} in {obj['region']} ({obj.get('why', 'looked up by name')})"
        for note in self.remote_notes:
            yield f"  remote state: {note}"
        for problem in self.unsupported:
            yield f"  UNSUPPORTED LOOKUP: {problem}"
        width = max((len(r.name) for r in self.results), default=20)
        for result in self.results:
            yield result.line(width)
            for error in result.errors:
                yield "      error: " + error.replace("\n", "\n             ")
            if verbose:
                for warning in result.warnings:
                    yield "      warning: " + warning.replace("\n", "\n               ")
        for name, why in self.skipped.items():
            yield f"  {name:<{width}}  not rehearsed: {why}"
        failed = [r.name for r in self.results if not r.ok]
        warnings = sum(len(r.warnings) for r in self.results)
        verdict = "ok" if self.ok else f"FAILED ({', '.join(failed) or 'lookups'})"
        yield (f"rehearsal {self.label}: {verdict}: {sum(r.ok for r in self.results)}/{len(self.results)} stacks "
               f"validate and plan, {sum(r.to_add or 0 for r in self.results)} resources to add, "
               f"{warnings} warning(s){'' if verbose or not warnings else ' (--verbose lists them)'}, {self.seconds:.0f} s")


# ------------------------------------------------------------------------------------------------------
# Terraform
# ------------------------------------------------------------------------------------------------------


def _diagnostic(d: Mapping[str, Any]) -> str:
    text = d.get("summary", "")
    if d.get("detail"):
        text += f": {d['detail']}"
    where = d.get("address") or d.get("snippet", {}).get("context")
    rng = d.get("range")
    if where or rng:
        text += " [" + ", ".join(x for x in (where, f"{rng['filename']}:{rng['start']['line']}" if rng else None) if x) + "]"
    return " ".join(text.split()) if len(text) > 400 else text


class Terraform:
    def __init__(self, binary: str, cli_config: Path, tracker: ProcessTracker) -> None:
        self.binary = binary
        self.tracker = tracker
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TF_"))}
        env.update({"TF_CLI_CONFIG_FILE": str(cli_config), "TF_IN_AUTOMATION": "1", "TF_INPUT": "0",
                    "CHECKPOINT_DISABLE": "1", "AWS_EC2_METADATA_DISABLED": "true"})
        self.env = env

    def __call__(self, cwd: Path, *args: str, timeout: float) -> subprocess.CompletedProcess:
        return self.tracker.run([self.binary, *args], cwd=cwd, env=self.env, timeout=timeout)


def _run_stack(tf: Terraform, prepared: PreparedStack, result: StackResult, *, show_plan: bool = False) -> None:
    cwd = prepared.directory
    init = tf(cwd, "init", "-input=false", "-no-color", timeout=INIT_TIMEOUT)
    if init.returncode != 0:
        result.validate = "failed"
        result.errors.append("terraform init: " + " ".join((init.stderr or init.stdout).split())[-1500:])
        return
    validate = tf(cwd, "validate", "-json", "-no-color", timeout=VALIDATE_TIMEOUT)
    try:
        report = json.loads(validate.stdout)
    except json.JSONDecodeError:
        report = {"valid": False, "diagnostics": [{"summary": (validate.stderr or validate.stdout)[-1500:]}]}
    result.warnings += [_diagnostic(d) for d in report.get("diagnostics", []) if d.get("severity") == "warning"]
    if not report.get("valid"):
        result.validate = "failed"
        result.errors += [_diagnostic(d) for d in report.get("diagnostics", []) if d.get("severity") != "warning"]
        return
    result.validate = "ok"
    plan = tf(cwd, "plan", "-input=false", "-lock=false", "-json", "-out=rehearsal.tfplan", timeout=PLAN_TIMEOUT)
    errors, warnings = [], []
    for raw in plan.stdout.splitlines():
        try:
            message = json.loads(raw)
        except json.JSONDecodeError:
            continue
        if message.get("type") == "diagnostic":
            diag = message.get("diagnostic", {})
            (errors if diag.get("severity") == "error" else warnings).append(_diagnostic(diag))
        elif message.get("type") == "change_summary":
            changes = message.get("changes", {})
            result.to_add, result.to_change, result.to_destroy = changes.get("add"), changes.get("change"), changes.get("remove")
    result.warnings += warnings
    if plan.returncode != 0 or errors:
        result.plan = "failed"
        result.errors += errors or [" ".join(plan.stderr.split())[-1500:] or f"terraform plan exited {plan.returncode}"]
        return
    result.plan = "ok"
    if show_plan:
        shown = tf(cwd, "show", "-json", "rehearsal.tfplan", timeout=PLAN_TIMEOUT)
        if shown.returncode == 0:
            result.plan_json = cwd / "rehearsal.plan.json"
            result.plan_json.write_text(shown.stdout)
        else:
            result.errors.append("terraform show: " + " ".join(shown.stderr.split())[-500:])


# ------------------------------------------------------------------------------------------------------
# The rehearsal
# ------------------------------------------------------------------------------------------------------


def aws_stacks(synth: SynthOutput) -> tuple[list[str], dict[str, str]]:
    """(stacks to rehearse in deploy order, {skipped stack: why}). A stack that also uses the kubernetes or helm
    provider is rehearsed on its AWS resources (``workspace.aws_part``) when it has any, else skipped."""
    chosen, skipped = [], {}
    for name in synth.order:
        others = synth.providers(name) - AWS_ONLY
        has_aws = any(t.startswith("aws_") for t in synth.stacks[name].get("resource", {}))
        if others and not has_aws:
            skipped[name] = (f"uses the {', '.join(sorted(others))} provider(s): there is no Kubernetes API to plan "
                             "against here (chart values and CRD schemas are checked by tests/test_k8s_schemas.py)")
        else:
            chosen.append(name)
    return chosen, skipped


def rehearse(
    outdir: Path,
    *,
    moto: MotoServer,
    workdir: Path,
    label: str = "",
    jobs: int = 2,
    provider: ProviderChoice | None = None,
    terraform: str = "terraform",
    registry: bool = True,
    account: str = "123456789012",
    progress: Callable[[str], None] | None = None,
    only: list[str] | None = None,
    reuse: dict[str, StackResult] | None = None,
    show_plans: bool = False,
) -> Rehearsal:
    """Rehearse every AWS stack of the synth output ``outdir``.

    ``reuse``: results by content (stack JSON, provider version, stand-ins) shared between the scenarios of one
    run: a stack whose JSON another scenario already rehearsed (the failover configuration leaves the keys and
    bootstrap stacks unchanged) is reported with that result instead of being planned again.
    ``show_plans``: keep ``terraform show -json`` of each plan (``StackResult.plan_json``).
    """
    started = time.perf_counter()
    synth = SynthOutput.load(outdir)
    names, skipped = aws_stacks(synth)
    if only is not None:
        names = [n for n in names if n in only]
    if not names:
        raise ValueError(f"no AWS stack to rehearse in {outdir}")
    workdir.mkdir(parents=True, exist_ok=True)
    pinned = pinned_version(synth.stacks[names[0]]) or "unknown"
    provider = provider or choose_provider(pinned, workdir.parent / "providers", terraform=terraform, registry=registry)
    cli_config = workdir / "cli.tfrc"
    cli_config.write_text(provider.cli_config())

    # Stand-ins for everything the stacks find by name, created before any plan.
    found = [lk for n in names for lk in lookups_mod.find_lookups(n, synth.stacks[n])]
    unsupported = [f"{lk.stack}: {lk.address}: no stand-in for this lookup type (scripts/rehearsal/lookups.py BY_NAME, seed.py)"
                   for lk in found if lk.kind == "unsupported"]
    moto.reset()
    plan = lookups_mod.seed_plan([lk for lk in found if lk.kind != "unsupported"])
    seeded = seed(moto, plan)["created"] if plan["objects"] else []
    for obj in seeded:
        obj["why"] = _why(obj)

    remote_dir = workdir / "remote-state"
    shutil.rmtree(remote_dir, ignore_errors=True)
    remote_dir.mkdir(parents=True)
    consumers: dict[str, list[str]] = {}
    prepared: dict[str, PreparedStack] = {}
    results = {n: StackResult(n) for n in names}
    for name in names:
        prepared[name] = prepare(name, synth.stack_dir(name), workdir, provider_version=provider.version,
                                 endpoint=moto.endpoint, drops=provider.drops, remote_state_dir=remote_dir,
                                 only_aws_part=bool(synth.providers(name) - AWS_ONLY))
        for i in prepared[name].remote_inputs:
            consumers.setdefault(i.producer, []).append(name)
    remote_notes: list[str] = []
    reuse_labels = _REUSE_LABELS
    # What consumers read from producers: every output of the producer as a placeholder of the output's form
    # (an ARN for ``.arn``, ``vpc-...`` for a VPC id): cross-stack outputs are attributes known only after
    # apply, so a plan of the producer could not give their values either.
    for producer in sorted(consumers):
        region = _stack_region(synth.stacks.get(producer, {}))
        outputs = {name: placeholder(out.get("value"), region=region, account=account)
                   for name, out in synth.stacks.get(producer, {}).get("output", {}).items()}
        (remote_dir / f"{producer}.tfstate").write_text(json.dumps(state_with_outputs(outputs), indent=2))
        readers = ", ".join(sorted(set(consumers[producer])))
        remote_notes.append(f"{producer} -> {readers}: {len(outputs)} outputs as placeholders of their form")

    tracker = ProcessTracker()
    tf = Terraform(terraform, cli_config, tracker)
    waits = {n: (synth.upstream(n) | set(producers_of(n, prepared))) & set(names) for n in names}

    # A stack's result depends on its JSON, the provider and the stand-ins it looks up (not on other stacks'
    # stand-ins: a scenario that adds one, e.g. organization mode's detectors, still reuses every other stack).
    seed_keys = {n: json.dumps(lookups_mod.seed_plan([lk for lk in found if lk.stack == n and lk.kind != "unsupported"]),
                               sort_keys=True) for n in names}

    def job(name: str) -> StackResult:
        t0 = time.perf_counter()
        result = results[name]
        result.started_at = t0
        result.dropped = prepared[name].dropped
        result.left_out = prepared[name].left_out
        key = hashlib.sha256(f"{provider.version}\n{seed_keys[name]}\n".encode() + (synth.stack_dir(name) / "cdk.tf.json").read_bytes()).hexdigest()
        earlier = reuse.get(key) if reuse is not None and not show_plans else None
        if earlier is not None:
            for attr in ("validate", "plan", "to_add", "to_change", "to_destroy", "errors", "warnings", "dropped",
                         "left_out"):
                setattr(result, attr, copy.deepcopy(getattr(earlier, attr)))
            result.reused_from = f"{earlier.name} ({reuse_labels[key]})"
        else:
            _run_stack(tf, prepared[name], result, show_plan=show_plans)
            if reuse is not None:
                reuse[key], reuse_labels[key] = result, label
        result.finished_at = time.perf_counter()
        result.seconds = result.finished_at - t0
        if progress:
            progress(result.line(max(len(n) for n in names)))
        return result

    done: set[str] = set()
    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    try:
        running: dict[Future, str] = {}
        pending = list(names)
        while pending or running:
            for name in [n for n in pending if waits[n] <= done]:
                pending.remove(name)
                running[pool.submit(job, name)] = name
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                done.add(running.pop(future))
                future.result()
    finally:
        # On an interruption: stop the running terraform first, so the workers return at once.
        tracker.stop()
        pool.shutdown(wait=True, cancel_futures=True)
    return Rehearsal(label, provider, f"moto {moto_version()} on {moto.endpoint}", [results[n] for n in names],
                     {k: v for k, v in skipped.items() if only is None}, seeded, unsupported, remote_notes,
                     time.perf_counter() - started)


def producers_of(name: str, prepared: Mapping[str, PreparedStack]) -> list[str]:
    """The producers ``name`` reads remote state from (it waits for their plans)."""
    return [i.producer for i in prepared[name].remote_inputs]


def _stack_region(stack: Mapping[str, Any]) -> str:
    return next((b.get("region", "") for b in stack.get("provider", {}).get("aws", []) if "alias" not in b), "us-east-1")


def _why(obj: Mapping[str, Any]) -> str:
    return {
        "route53_zone": "runbook prerequisite: the public hosted zone",
        "acm_certificate": "runbook prerequisite: an ISSUED ACM certificate",
        "iam_role": "runbook prerequisite: the cluster admin role",
        "load_balancer": "created by the AWS Load Balancer Controller from the Ingress of an earlier stack",
    }.get(obj["kind"], "looked up by name")
