"""The one reader of a synthesis: every tool that reads ``cdktf.out``, and the policy's rules that span stacks, read
the stacks' Terraform JSON through this module.

    from constructs_lib.synthesis import Synthesis
    synthesis = Synthesis.load(Path("cdktf.out"))         # stacks/*/cdk.tf.json, parsed once
    for item in synthesis.of_type("aws_s3_bucket"): ...   # each with its stack, region and construct path
    synthesis.resolve(item.stack, item.config["topic_arn"])  # the resource a reference names, across stacks too

Used by the cost estimate (``scripts/cost.py``), the architecture pictures (``scripts/diagram.py``), the Security
Hub evaluation (``scripts/security_hub_pci.py``), the access model (``scripts/access_model.py``), the compliance
checklists (``scripts/compliance.py``), the tests (``tests/synth.py``) and the synth-time policy's rules that span
stacks (``constructs_lib/app_rules.py``, on the configurations in memory), so all of them agree on what a
resource's region is, how a Terraform reference (in-stack or cross-stack) is followed and in which order resources
are listed: stack, then resources before data sources, then type, then logical name, each sorted. The generated
pages are byte-identical on every run because nothing here depends on dictionary or hash order. It is plain Python
over JSON (no provider binding, no jsii), so the tools load it without the app.

What a resource is: a ``Item`` (stack, kind ``resource`` or ``data``, type, logical name, configuration as
Terraform reads it, region). The region is its AWS provider's: the stack's default provider, or the aliased one
its ``provider`` attribute names. Its construct path (``//.metadata.path``) is what the docs and the policy cite;
its Terraform address (``aws_x.name``, ``data.aws_x.name``) is what ``terraform state show`` takes in its stack.

How references are followed (``resolve``): ``${aws_x.name.attr}`` and ``${data.aws_x.name.attr}`` name an item of
the same stack; ``${data.terraform_remote_state.cross-stack-reference-input-<stack>.outputs.<output>}`` (cdktf's
cross-stack references) names the output ``<output>`` of the stack ``<stack>``, whose value is a reference there.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

#: A whole-string reference to an attribute of a resource or data source of the same stack.
REFERENCE = re.compile(r"^\$\{(data\.)?([a-z0-9_]+)\.([^.}\[]+)(?:\.[^}]*)?\}$")
#: A cdktf cross-stack reference: the remote state of the producing stack, one of its outputs.
CROSS_STACK = re.compile(r"^\$\{data\.terraform_remote_state\.cross-stack-reference-input-([^.}]+)\.outputs\.([^.}\[]+)\}$")


@dataclass(frozen=True)
class Item:
    """A resource or data source of one stack, with the region it lives in."""

    stack: str
    kind: str  # "resource" or "data"
    rtype: str
    name: str
    config: dict[str, Any]
    region: str

    @property
    def path(self) -> str:
        """The construct path (``globalpay-prod-us-east-1/network/vpc``): the stack, then the construct ids."""
        meta = self.config.get("//") if isinstance(self.config.get("//"), Mapping) else {}
        return (meta.get("metadata") or {}).get("path") or f"{self.stack}/{self.name}"

    @property
    def address(self) -> str:
        """The Terraform address inside its stack (``aws_vpc.network_vpc_1A2B3C4D``)."""
        return f"{self.rtype}.{self.name}" if self.kind == "resource" else f"data.{self.rtype}.{self.name}"


def provider_regions(stack: Mapping[str, Any]) -> tuple[str | None, dict[str, str]]:
    """The default AWS provider's region and ``{alias: region}`` of the aliased ones."""
    default, aliases = None, {}
    for provider in stack.get("provider", {}).get("aws", []) or []:
        if provider.get("alias"):
            aliases[provider["alias"]] = provider.get("region")
        else:
            default = provider.get("region")
    return default, aliases


class Synthesis:
    """Every stack of one synthesis: ``stacks`` (name -> parsed ``cdk.tf.json``) and the items in them."""

    def __init__(self, stacks: Mapping[str, dict[str, Any]], outdir: Path | None = None) -> None:
        self.stacks: dict[str, dict[str, Any]] = dict(stacks)
        self.outdir = outdir

    @classmethod
    def load(cls, outdir: Path) -> Synthesis:
        """``outdir/stacks/*/cdk.tf.json``, every stack in name order (a folder without the file is skipped)."""
        folder = Path(outdir) / "stacks"
        if not folder.is_dir():
            raise FileNotFoundError(f"{outdir} is not a synth output (no stacks/ folder): run `python3 tasks.py synth`")
        stacks = {d.name: json.loads((d / "cdk.tf.json").read_text()) for d in sorted(folder.iterdir())
                  if (d / "cdk.tf.json").is_file()}
        return cls(stacks, Path(outdir))

    # --------------------------------------------------------------------------------------------------
    # Items
    # --------------------------------------------------------------------------------------------------

    @cached_property
    def items(self) -> list[Item]:
        """Every resource and data source, in a stable order: stack, resources before data, type, name."""
        items: list[Item] = []
        for stack_name in sorted(self.stacks):
            stack = self.stacks[stack_name]
            default, aliases = provider_regions(stack)
            for kind in ("resource", "data"):
                for rtype, entries in sorted((stack.get(kind) or {}).items()):
                    for name, config in sorted(entries.items()):
                        region = default or "?"
                        provider = config.get("provider")
                        if isinstance(provider, str) and provider.startswith("aws."):
                            region = aliases.get(provider.split(".", 1)[1], region)
                        items.append(Item(stack_name, kind, rtype, name, config, region))
        return items

    @cached_property
    def resources(self) -> list[Item]:
        """The resources (no data sources), in the order of ``items``."""
        return [i for i in self.items if i.kind == "resource"]

    @cached_property
    def _index(self) -> dict[tuple[str, str], list[Item]]:
        index: dict[tuple[str, str], list[Item]] = {}
        for item in self.items:
            index.setdefault((item.kind, item.rtype), []).append(item)
        return index

    @cached_property
    def _by_address(self) -> dict[tuple[str, str, str, str], Item]:
        return {(i.stack, i.kind, i.rtype, i.name): i for i in self.items}

    def of_type(self, rtype: str, kind: str = "resource") -> list[Item]:
        """Every item of ``rtype`` (resources by default; ``kind="data"`` for data sources), in order."""
        return list(self._index.get((kind, rtype), ()))

    def in_stack(self, stack: str, rtype: str, kind: str = "resource") -> list[Item]:
        return [i for i in self.of_type(rtype, kind) if i.stack == stack]

    def find(self, rtype: str, name: str, stack: str, kind: str = "resource") -> Item | None:
        """The item with this type and logical name in ``stack``."""
        return self._by_address.get((stack, kind, rtype, name))

    @property
    def stack_names(self) -> list[str]:
        return sorted(self.stacks)

    @property
    def environment(self) -> str:
        """The environment(s) of the stacks (``globalpay-<env>-...``)."""
        envs = {m[1] for s in self.stacks if (m := re.match(r"globalpay-([a-z0-9]+)-", s))}
        return ",".join(sorted(envs)) or "?"

    def stack_region(self, stack: str) -> str | None:
        """The region of the stack's default AWS provider."""
        return provider_regions(self.stacks[stack])[0]

    def regions(self) -> list[str]:
        """The regions the platform runs in: those with a VPC."""
        return sorted({i.region for i in self.of_type("aws_vpc")})

    # --------------------------------------------------------------------------------------------------
    # References
    # --------------------------------------------------------------------------------------------------

    def resolve(self, stack: str, expression: Any, *, _depth: int = 0) -> Item | None:
        """The item a whole-string reference of ``stack`` names (in-stack, or through a cross-stack output), or
        None for a literal, a partial expression or a reference to something this synthesis does not hold."""
        if not isinstance(expression, str) or _depth > 4:
            return None
        remote = CROSS_STACK.match(expression)
        if remote is not None:
            producer, output = remote.groups()
            value = ((self.stacks.get(producer) or {}).get("output") or {}).get(output, {})
            return self.resolve(producer, value.get("value") if isinstance(value, Mapping) else None, _depth=_depth + 1)
        match = REFERENCE.match(expression)
        if match is None:
            return None
        data, rtype, name = match.groups()
        return self.find(rtype, name, stack, "data" if data else "resource")

    def referenced(self, stack: str, value: Any, rtype: str) -> list[Item]:
        """Every ``rtype`` resource of ``stack`` that ``value`` (any nesting, references inside strings too) names."""
        text = value if isinstance(value, str) else json.dumps(value)
        names = sorted(set(re.findall(rf"\$\{{{re.escape(rtype)}\.([^.}}\[]+)", text)))
        return [item for name in names if (item := self.find(rtype, name, stack)) is not None]

    def walk(self, rtype: str, kind: str = "resource") -> Iterator[tuple[Item, dict[str, Any]]]:
        """``(item, config)`` of every item of ``rtype``: the pairs most readers loop over."""
        for item in self.of_type(rtype, kind):
            yield item, item.config
