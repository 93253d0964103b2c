from lambda_tasks.tasks import ns  # noqa: F401  (the bundled example: see [tool.lambda-tasks] in pyproject.toml)
