"""The delivery pipeline's own tools (.github/workflows/, docs/runbooks/pipeline.md).

The modules that run on the pipeline's runners (guard, bundle, assess, report) use the standard library
only: the apply jobs run them with the runner's ``python3``, before and without the project's .venv.
"""
