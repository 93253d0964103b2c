"""A vendored package: copied to the top of the layer (python/hello_vendored/)."""


def signature() -> str:
    return "hello_vendored 1.0"
