"""Infrastructure as code for the built artifacts: CloudFormation, SAM and Terraform JSON (``invoke package``)."""
