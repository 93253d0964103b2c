from dateutil.parser import isoparse


def greet(name: str, greeting: str) -> str:
    year = isoparse("2026-12-01T00:00:00Z").year
    return f"{greeting}, {name} ({year})"
