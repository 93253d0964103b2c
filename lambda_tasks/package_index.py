"""Whether the package index has a project: asked only to advise in an error (PEP 503/691 simple API)."""

from __future__ import annotations

import base64
import functools
import re
from collections.abc import Callable
from urllib import parse

DEFAULT_INDEX = "https://pypi.org/simple/"


class PackageIndex:
    """The index pip would use. ``url`` None: not to be asked, for the reason in ``why_not``. With ``find``, both
    are found on first use (reading pip's configuration takes longer than an app-only build: only for advice)."""

    def __init__(self, url: str | None = None, why_not: str = "", timeout: float = 3.0, *,
                 find: Callable[[], tuple[str | None, str]] | None = None) -> None:
        self._given = (url, why_not)
        self._find = find
        self.timeout = timeout

    @functools.cached_property
    def _where(self) -> tuple[str | None, str]:
        return self._find() if self._find is not None else self._given

    @property
    def url(self) -> str | None:
        return self._where[0]

    @property
    def why_not(self) -> str:
        return self._where[1]

    def has(self, name: str) -> bool | None:
        """Whether the index lists project ``name``; None when it could not be asked (offline, an error)."""
        if self.url is None:
            return None
        # lazy: urllib.request (~3 ms with http.client): the index is asked only for advice in an error
        from urllib import error, request

        canonical = re.sub(r"[-_.]+", "-", name).lower()
        parts = parse.urlsplit(self.url.rstrip("/") + f"/{canonical}/")
        headers = {"Accept": "application/vnd.pypi.simple.v1+json, text/html;q=0.1"}
        if parts.username is not None:  # credentials in the URL go in a header, never in what is said
            user = parse.unquote(parts.username)
            secret = parse.unquote(parts.password or "")
            headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()
            parts = parts._replace(netloc=(parts.hostname or "") + (f":{parts.port}" if parts.port else ""))
        try:
            with request.urlopen(request.Request(parts.geturl(), headers=headers), timeout=self.timeout) as answer:
                return bool(200 <= answer.status < 300)
        except error.HTTPError as failure:
            return False if failure.code == 404 else None
        except (OSError, ValueError):
            return None
