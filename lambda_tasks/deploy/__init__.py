"""Deploying to Lambda: publish layers, create or update the functions (the functions x regions matrix), roles,
versions and aliases, what AWS would refuse checked first. Uses ``aws`` for boto3 and ``push`` for images."""
