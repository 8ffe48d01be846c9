#!/usr/bin/env python3
"""Guards of the apply path, run by the workflows before anything is planned for a deploy or applied.

    python3 scripts/ci/guard.py head                   # this run's commit is the current head of main
    python3 scripts/ci/guard.py freeze --environment prod
    python3 scripts/ci/guard.py runner --environment prod --mode deploy --kubernetes true

``head``: a deploy applies only the newest ``main``. GitHub re-runs an old run (or one failed job of it) with
that run's commit and workflow files; the guard asks GitHub for the head of the branch (``GITHUB_TOKEN``,
``contents: read``) and refuses when it is not ``GITHUB_SHA``. The newer run of the same concurrency group
deploys the head instead.

``freeze``: ``environments/<env>.freeze`` (committed; its text says who froze deploys, why and until when)
stops every deploy of that environment, while a failover or failback is applied step by step by hand
(docs/runbooks/failover.md). Plans and drift checks still run.

``runner``: the job runs where its trust level belongs. Stacks without kubernetes/helm run on GitHub-hosted
runners (a fresh machine per job). The -addons/-apps stacks run on self-hosted runners, in one runner group
per trust level: ``pull-request`` (plans of pull requests), ``staging`` and ``prod`` (main's plans and applies
only). Each group's label is a repository variable; the guard refuses a label that is empty or shared by two
groups, and a runner that does not carry the group's marker (``GLOBALPAY_RUNNER_POOL`` and
``GLOBALPAY_RUNNER_EPHEMERAL=true``, set in the runner's ``.env`` when it is provisioned).

Exit status 0: go on; 1: refused (one ``::error`` line says why); 2: the guard cannot decide (bad input).
Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENVIRONMENTS = ROOT / "environments"
ENVIRONMENT_NAMES = ("prod", "staging")
#: The repository variable that names each self-hosted runner group's label.
POOL_LABEL_VARIABLES = {"pull-request": "PR_RUNNER_LABEL", "staging": "STAGING_RUNNER_LABEL", "prod": "PROD_RUNNER_LABEL"}
HOSTED = "github-hosted"


class Refused(Exception):
    """The guard says no; ``str()`` is the reason (one line)."""


# --------------------------------------------------------------------------------------------------
# head
# --------------------------------------------------------------------------------------------------


def branch_head(repository: str, branch: str, token: str, api: str = "https://api.github.com") -> str:
    """The commit the branch points at now, from the GitHub REST API (git/ref)."""
    request = urllib.request.Request(f"{api.rstrip('/')}/repos/{repository}/git/ref/heads/{branch}", headers={
        "Accept": "application/vnd.github+json", "Authorization": f"Bearer {token}", "X-GitHub-Api-Version": "2022-11-28",
        "User-Agent": "globalpay-pipeline-guard"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["object"]["sha"]


def check_head(run_sha: str, head_sha: str, branch: str = "main") -> str:
    if len(run_sha) != 40 or len(head_sha) != 40:
        raise ValueError(f"not a commit sha: run {run_sha!r}, head {head_sha!r}")
    if run_sha != head_sha:
        raise Refused(f"this run deploys {run_sha[:12]}, but {branch} is now at {head_sha[:12]}: a re-run of an old "
                      f"deploy never applies old code; the run for {head_sha[:12]} deploys (or start one: Actions -> deploy)")
    return f"{run_sha[:12]} is the head of {branch}"


# --------------------------------------------------------------------------------------------------
# freeze
# --------------------------------------------------------------------------------------------------


def freeze_file(environment: str, environments: Path = ENVIRONMENTS) -> Path:
    return environments / f"{environment}.freeze"


def check_freeze(environment: str, environments: Path = ENVIRONMENTS) -> str:
    if environment not in ENVIRONMENT_NAMES:
        raise ValueError(f"unknown environment {environment!r}")
    path = freeze_file(environment, environments)
    if path.is_file():
        reason = " ".join(path.read_text().split()) or "(no reason written)"
        raise Refused(f"deploys of {environment} are frozen by environments/{path.name}: {reason} -- the failover "
                      f"steps are applied by hand (docs/runbooks/failover.md); delete the file to deploy again")
    return f"{environment} is not frozen (no environments/{path.name})"


# --------------------------------------------------------------------------------------------------
# runner
# --------------------------------------------------------------------------------------------------


def expected_pool(environment: str, mode: str, kubernetes: bool) -> str:
    """``github-hosted`` or the self-hosted group a job of this kind must run in."""
    if environment not in ENVIRONMENT_NAMES or mode not in ("plan", "drift", "deploy"):
        raise ValueError(f"environment {environment!r} / mode {mode!r}")
    if not kubernetes:
        return HOSTED
    return "pull-request" if mode == "plan" else environment


def runner_label(environment: str, mode: str, kubernetes: bool, variables: Mapping[str, str]) -> str:
    """The ``runs-on`` label of a job (what stack.yml's expression computes)."""
    pool = expected_pool(environment, mode, kubernetes)
    return "ubuntu-24.04" if pool == HOSTED else variables.get(POOL_LABEL_VARIABLES[pool], "")


def check_runner(environment: str, mode: str, kubernetes: bool, *, label: str, variables: Mapping[str, str],
                 runner: Mapping[str, str]) -> str:
    """``variables``: the three label variables; ``runner``: RUNNER_ENVIRONMENT (runner.environment) and the
    runner's GLOBALPAY_RUNNER_POOL / GLOBALPAY_RUNNER_EPHEMERAL."""
    pool = expected_pool(environment, mode, kubernetes)
    where = runner.get("RUNNER_ENVIRONMENT", "")
    if pool == HOSTED:
        if where != HOSTED:
            raise Refused(f"{environment} {mode} job without kubernetes/helm must run on a GitHub-hosted runner, not {where or 'an unknown one'}")
        return "GitHub-hosted runner"
    labels = {p: variables.get(v, "").strip() for p, v in POOL_LABEL_VARIABLES.items()}
    wanted = labels[pool]
    if not wanted:
        raise Refused(f"repository variable {POOL_LABEL_VARIABLES[pool]} is empty: the {pool} runner group has no label")
    shared = sorted(p for p, other in labels.items() if p != pool and other == wanted)
    if shared:
        raise Refused(f"the {pool} runner label {wanted!r} is also the label of {', '.join(shared)}: one label per "
                      f"runner group and trust level (docs/runbooks/pipeline.md, Runners)")
    if label != wanted:
        raise Refused(f"a {environment} {mode} job asked for runner label {label!r}; only {wanted!r} "
                      f"({POOL_LABEL_VARIABLES[pool]}) may run it")
    if where != "self-hosted":
        raise Refused(f"label {wanted!r} reached a {where or 'unknown'} runner, not the self-hosted {pool} group")
    marker = runner.get("GLOBALPAY_RUNNER_POOL", "")
    if marker != pool:
        raise Refused(f"this runner belongs to {marker or 'no'} group (GLOBALPAY_RUNNER_POOL), not {pool!r}: "
                      f"it may not run {environment} {mode} jobs")
    if runner.get("GLOBALPAY_RUNNER_EPHEMERAL", "") != "true":
        raise Refused(f"the {pool} runner is not ephemeral (GLOBALPAY_RUNNER_EPHEMERAL=true, registered with "
                      f"--ephemeral): nothing may outlive a job that holds {environment} credentials")
    return f"self-hosted {pool} runner, label {wanted!r}, ephemeral"


# --------------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------------


def _flag(text: str) -> bool:
    if text not in ("true", "false"):
        raise argparse.ArgumentTypeError(f"expected true or false, not {text!r}")
    return text == "true"


def main(argv: list[str] | None = None, env: Mapping[str, str] | None = None,
         head: Callable[[str, str, str, str], str] = branch_head) -> int:
    env = os.environ if env is None else env
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="guard", required=True)
    p_head = sub.add_parser("head", help="refuse unless GITHUB_SHA is the head of the branch")
    p_head.add_argument("--branch", default="main")
    p_freeze = sub.add_parser("freeze", help="refuse while environments/<env>.freeze exists")
    p_freeze.add_argument("--environment", required=True)
    p_freeze.add_argument("--environments", type=Path, default=ENVIRONMENTS, help=argparse.SUPPRESS)
    p_runner = sub.add_parser("runner", help="refuse a runner of another trust level")
    p_runner.add_argument("--environment", required=True)
    p_runner.add_argument("--mode", required=True)
    p_runner.add_argument("--kubernetes", type=_flag, required=True)
    p_runner.add_argument("--label", default=None, help="the runs-on label the job got (default: computed)")
    args = parser.parse_args(argv)
    try:
        if args.guard == "head":
            run_sha = env.get("GITHUB_SHA", "")
            try:
                now = head(env.get("GITHUB_REPOSITORY", ""), args.branch, env.get("GITHUB_TOKEN", ""),
                           env.get("GITHUB_API_URL", "https://api.github.com"))
            except (urllib.error.URLError, KeyError, ValueError, OSError) as error:
                print(f"::error title=deploy guard::cannot read the head of {args.branch}: {error}")
                return 2
            message = check_head(run_sha, now, args.branch)
        elif args.guard == "freeze":
            message = check_freeze(args.environment, args.environments)
        else:
            variables = {v: env.get(v, "") for v in POOL_LABEL_VARIABLES.values()}
            label = args.label if args.label is not None else runner_label(args.environment, args.mode, args.kubernetes, variables)
            message = check_runner(args.environment, args.mode, args.kubernetes, label=label, variables=variables, runner=env)
    except Refused as refused:
        print(f"::error title=refused ({args.guard})::{refused}")
        return 1
    except ValueError as error:
        print(f"::error title=guard input ({args.guard})::{error}")
        return 2
    print(f"{args.guard}: {message}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
