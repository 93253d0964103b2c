"""The checks and rewrites between collect and split, one module each.

exclude (left out on purpose) · guard (secrets) · slim · bytecode · audit (ELF files) · strip · closure
(dependencies). Their order is build()'s, in ``lambda_tasks/assemble/__init__.py``.
"""
