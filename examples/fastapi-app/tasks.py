from lambda_tasks.tasks import ns  # noqa: F401  (lambda-tasks' build, verify, publish-layer, deploy)
