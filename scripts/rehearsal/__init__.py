"""The offline plan rehearsal: ``terraform init``, ``validate`` and ``plan`` of every AWS stack against a local
AWS API emulator (moto server), so that Terraform itself judges the synthesized JSON on every test run.

Entry point: ``scripts/rehearse.py`` (``python3 tasks.py rehearse``); the tests use ``runner.rehearse``. Modules:
``provider`` (which aws provider, what a fallback may drop), ``emulator`` (moto lifecycle, process cleanup),
``lookups`` and ``seed`` (what the stacks find by name, and its stand-ins), ``workspace`` (the stack copy and
its override file, remote-state supplies), ``runner`` (order, parallel plans, the report).
"""
