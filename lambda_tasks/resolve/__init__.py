"""Resolving the project's requirements into the target's wheels: ``resolver.resolve()`` (the cache of
resolutions, the installer, the checks) and the modules it uses. The package itself imports nothing, so that a
no-op build can read a cached resolution (``wheelhouse``, ``chalice_wheel``) without loading the installers."""
