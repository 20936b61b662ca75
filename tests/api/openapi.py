"""The OpenAPI schema the API serves, generated once per test run (``/api/schema/`` gives the same document,
whoever asks: tests/api/test_schema_contract.py::test_served_schema_is_the_fuzzed_one)."""

from functools import cache
from typing import Any

from drf_spectacular.generators import SchemaGenerator


@cache
def api_schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(public=True)
