"""AWS at the edge: boto3 clients, publishing layers, deploying functions."""
