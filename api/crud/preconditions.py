"""ETags from row versions, and the conditional headers that use them (RFC 9110 §13)."""

from api.errors import PreconditionRequired

ANY = "*"


def etag(version: int) -> str:
    return f'"{version}"'


def _tags(header: str) -> list[str]:
    return [tag.strip() for tag in header.split(",") if tag.strip()]


def if_match_versions(header: str | None, *, required: bool) -> list[int] | None:
    """Versions an `If-Match` allows: None for no condition (or `*`, which any existing
    item meets). Weak tags never match, as the strong comparison requires."""
    if header is None:
        if required:
            raise PreconditionRequired("Send `If-Match` with the ETag you last read.")
        return None
    tags = _tags(header)
    if ANY in tags:
        return None
    # Tags that are none of ours match no version: 412 if the item exists, and 404 if it
    # does not, as without the header (RFC 9110 §13.2.1).
    return [int(tag[1:-1]) for tag in tags if _is_version_tag(tag)]


def none_match(header: str | None, version: int) -> bool:
    """True when `If-None-Match` matches the current version (weak comparison): 304."""
    if header is None:
        return False
    tags = [tag.removeprefix("W/") for tag in _tags(header)]
    return ANY in tags or etag(version) in tags


def _is_version_tag(tag: str) -> bool:
    inner = tag[1:-1]
    quoted = len(tag) >= 3 and tag[0] == tag[-1] == '"'
    return quoted and inner.isascii() and inner.isdigit() and len(inner) < 18
