"""Pushing the built OCI image to a registry (ECR) through the registry HTTP API."""
