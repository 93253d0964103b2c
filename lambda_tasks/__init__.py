"""Build, split, publish and deploy Python apps for AWS Lambda, without Docker."""

__version__ = "0.1.0"
