"""Surprises on the newcomer's path (issue 27), found by walking it with real projects: each one fixed, and
checked here where the unit is small enough; through the real command line in test_deploy_outcome.py."""

from __future__ import annotations

import pytest

from lambda_tasks.assemble.split import Budget, Unit, pack
from lambda_tasks.errors import LimitError

MB = 1_048_576


@pytest.mark.parametrize("slim", [False, True])
def test_a_size_error_advises_slim_only_when_it_is_off(slim):
    """pandas + pyarrow with slim = true: pyarrow alone is 52 MiB zipped; the error must not say "set slim = true"
    to a project that has it."""
    with pytest.raises(LimitError) as caught:
        pack([Unit("pyarrow", 52 * MB, 161 * MB), Unit("numpy", 13 * MB, 42 * MB)],
             Budget(5, 50 * MB, 250 * MB, 250 * MB, s3=False, slim=slim))
    message = str(caught.value)
    assert message.startswith("pyarrow alone is 52.0 MiB zipped")
    assert "set s3_bucket" in message
    assert ("set slim = true" in message) is not slim
