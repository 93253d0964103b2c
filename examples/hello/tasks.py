from lambda_tasks.tasks import ns  # noqa: F401  (`invoke build` in this directory; noxfile.py is the Nox twin)
