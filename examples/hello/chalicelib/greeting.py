"""App code beside app.py: shipped in the function zip."""

from pathlib import Path


def greeting() -> str:
    return (Path(__file__).parent / "greeting.yaml").read_text()
