"""Custom Schemathesis checks and the configuration the fuzz runs share.

Imported by the in-process run (tests/test_fuzz_contract.py) and loaded by the CLI run
with `SCHEMATHESIS_HOOKS=tests.fuzz_checks`, so both apply the same checks.
"""

import json
import os
from collections import Counter
from dataclasses import dataclass
from typing import Any, ClassVar

import schemathesis
from requests.structures import CaseInsensitiveDict
from schemathesis import Case, CheckContext, Response

from api.resources import RESOURCES

PASSWORD = "fuzzing is believing"
DEFAULT_SEED = 20_260_101
OWNER_PATH_PARAMETER = "user_id"
OWNED_PREFIX = "/api/{user_id}/"
# The owner's state is read back through the list: any change bumps `updated_at` (and
# moves the item to the top) or changes `count`.
SNAPSHOT_QUERY = {"limit": 100, "sort": "-updated_at"}
# Operations by role, named from every declaration (a new resource is fuzzed alike).
# Conditional writes take If-Match; a write naming another resource's item (`references`)
# can be refused for a row the caller does not own.
CONDITIONAL_WRITES = tuple(
    f"{verb}_{resource.name}"
    for resource in RESOURCES
    for verb in ("replace", "update", "delete", *resource.toggles)
)
REFERENCING_WRITES = tuple(
    f"{verb}_{resource.name}"
    for resource in RESOURCES
    if resource.references
    for verb in ("create", "replace", "update")
)
CREATES = tuple(f"create_{resource.name}" for resource in RESOURCES)
LISTS = tuple(f"list_{resource.plural}" for resource in RESOURCES)
POSITIVE_DEFAULT_STATUSES = ("2xx", "3xx", "401", "403", "404", "409", "429", "5xx")


def fuzz_seed() -> int:
    """FUZZ_SEED, or the fixed seed CI uses (`make fuzz` passes a random one)."""
    return int(os.environ.get("FUZZ_SEED", DEFAULT_SEED))


def fuzz_examples(default: int) -> int:
    """FUZZ_MAX_EXAMPLES: examples per operation and phase (long campaigns raise it)."""
    return int(os.environ.get("FUZZ_MAX_EXAMPLES", default))


@dataclass(frozen=True)
class Account:
    """A registered built-in user and the access token its login returned."""

    user_id: str
    email: str
    token: str


def fuzz_config(
    owner: Account, intruder: Account, *, seed: int, max_examples: int
) -> dict[str, Any]:
    """A run's Schemathesis configuration (the shape of schemathesis.toml): every check,
    acting as `owner`, whose id fills `{user_id}`; `intruder` probes isolation."""
    bearer = {"bearer": owner.token}
    config: dict[str, Any] = {
        "seed": seed,
        "generation": {"max-examples": max_examples, "database": "none"},
        "checks": {
            "enabled": True,
            TenantIsolation.__name__: {
                "intruder_token": intruder.token,
                "intruder_id": intruder.user_id,
            },
        },
        "parameters": {f"path.{OWNER_PATH_PARAMETER}": owner.user_id},
        # Task routes take any bearer JWT; account routes name the login route (OAuth2).
        "auth": {"openapi": {"bearerAuth": bearer, "OAuth2PasswordBearer": bearer}},
        # Scenarios follow the contract's links (and Location headers). Dependency
        # inference would take `{user_id}` for a `User` resource nothing creates and start
        # no scenario at the task routes.
        "phases": {"stateful": {"inference": {"algorithms": ["location-headers"]}}},
        "operations": _operation_statuses(),
    }
    return config


def _operation_statuses() -> list[dict[str, Any]]:
    """Per operation, the statuses valid data may get besides Schemathesis' defaults:
    rules of state no schema can state.

    - 412: a well-formed If-Match naming another version (RFC 9110 §13.1.1).
    - 422 on a create: retrying with an Idempotency-Key used before for another body (the
      Idempotency-Key draft; the fuzzer reuses keys across examples).
    - 422 on a list: a `cursor` is an opaque token only a previous page can make (and only
      for its sort, without `offset`); tests/test_list_query.py covers real cursors.
    - 422 on a referencing write: the id names no item of the caller's (another user's
      or a missing one, indistinguishably).
    """
    extra: dict[str, set[str]] = {}
    for operations, status in (
        (CONDITIONAL_WRITES, "412"),
        (CREATES, "422"),
        (LISTS, "422"),
        (REFERENCING_WRITES, "422"),
    ):
        for operation in operations:
            extra.setdefault(operation, set()).add(status)
    by_statuses: dict[tuple[str, ...], list[str]] = {}
    for operation, statuses in extra.items():
        by_statuses.setdefault(tuple(sorted(statuses)), []).append(operation)
    return [
        {
            "include-operation-id": operations,
            "checks": {
                "positive_data_acceptance": {
                    "expected-statuses": [*POSITIVE_DEFAULT_STATUSES, *statuses]
                }
            },
        }
        for statuses, operations in by_statuses.items()
    ]


@schemathesis.check
class TenantIsolation:
    """After each successful request on someone's data (`/api/{user_id}/...`), a second
    user repeats it: with the owner's path (403), and with their own path but the owner's
    item (404). Neither may reveal the owner's items or change anything the owner has."""

    # How often each operation was probed, for tests to see that the check was not idle.
    probed: ClassVar[Counter[str]] = Counter()

    def __init__(self, intruder_token: str, intruder_id: str) -> None:
        self.intruder_token = intruder_token
        self.intruder_id = intruder_id

    def after_response(self, ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
        """None when checked; True (skipped) unless the owner's request succeeded."""
        owner = case.path_parameters.get(OWNER_PATH_PARAMETER)
        authorization = case.headers.get("Authorization")
        if (
            not case.path.startswith(OWNED_PREFIX)
            or not 200 <= response.status_code < 300
            or not isinstance(owner, str)
            or owner == self.intruder_id
            or authorization is None
        ):
            return True
        before = _owners_page(case, owner, authorization)
        assert before is not None, "the owner cannot list their own items"
        same_path = self._as_intruder(case, owner)
        assert same_path.status_code == 403, _unexpected("the owner's path", same_path)
        _assert_no_item_of(before, same_path)
        if case.method != "POST":  # a create on their own path only makes the intruder's item
            own_path = self._as_intruder(case, self.intruder_id)
            if case.path.count("{") > 1:  # an item: it must not exist for anyone else
                assert own_path.status_code == 404, _unexpected("the owner's item", own_path)
            _assert_no_item_of(before, own_path)
        after = _owners_page(case, owner, authorization)
        assert after == before, f"the owner's items changed after another user's requests: {after}"
        self.probed[case.operation.label] += 1
        return None

    def _as_intruder(self, case: Case[Any], user_id: str) -> Response:
        headers = CaseInsensitiveDict(case.headers)
        headers["Authorization"] = f"Bearer {self.intruder_token}"
        probe = case.derive(headers=headers)
        probe.path_parameters[OWNER_PATH_PARAMETER] = user_id
        return probe.call()


def _owners_page(case: Case[Any], owner: str, authorization: str) -> dict[str, Any] | None:
    """The owner's collection, most recently changed first, as the owner sees it."""
    collection = "/".join(case.path.split("/")[:4])  # /api/{user_id}/<plural>
    listing = case.operation.schema[collection]["GET"].Case(
        path_parameters={OWNER_PATH_PARAMETER: owner},
        headers={"Authorization": authorization},
        query=dict(SNAPSHOT_QUERY),
    )
    response = listing.call()
    if response.status_code != 200:
        return None
    page: dict[str, Any] = response.json()
    return page


def _assert_no_item_of(owners_page: dict[str, Any], response: Response) -> None:
    body = response.text_lossy()
    for items in owners_page.values():
        for item in items if isinstance(items, list) else ():
            # Items by id; entries without one (a facet's `{name, count}`) as written.
            trace = item["id"] if "id" in item else json.dumps(item, separators=(",", ":"))
            assert trace not in body, _unexpected("an item of the owner's in the body", response)


def _unexpected(what: str, response: Response) -> str:
    return (
        f"another user's request ({what}) answered {response.status_code}: "
        f"{response.text_lossy()[:500]}"
    )
