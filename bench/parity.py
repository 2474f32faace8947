"""Before any load: both servers must answer the same requests with the same bodies."""

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any


def _get(url: str, token: str) -> tuple[int, str | None, Any]:
    """Status, ETag and parsed body (None for errors: their bodies may differ)."""
    headers = {"Authorization": f"Bearer {token}"}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (http://127.0.0.1 only)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 (as above)
            return response.status, response.headers.get("etag"), json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, None, None


def check(api: str, reference: str, data: Path) -> list[str]:
    """What differs between the two on a page and an item (empty: nothing)."""
    user, token, task_id = data.read_text().splitlines()[0].split("\t")
    paths = {
        "list": f"/api/{user}/tasks?limit=20",
        "get": f"/api/{user}/tasks/{task_id}",
        "403": "/api/someone-else/tasks",
    }
    differences = []
    for name, path in paths.items():
        ours, theirs = _get(api + path, token), _get(reference + path, token)
        if ours[0] != theirs[0]:
            differences.append(f"{name}: status {ours[0]} (API) vs {theirs[0]} (reference)")
        elif ours[2] is not None and ours[2] != theirs[2]:
            differences.append(f"{name}: bodies differ")
        if ours[1] != theirs[1]:
            differences.append("get: ETag differs")
    return differences
