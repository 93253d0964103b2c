"""What the project declares: requirements files (and, later, lock files and Chalice config)."""
