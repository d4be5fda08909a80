"""The OpenAPI contract: valid, complete, and the API honours it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import yaml
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.services import api_key_create, tenant_create
from accounts.signup import user_create
from botpresto.devtools.standin import StandIn
from config.wsgi import application


def _api_routes(patterns: list[Any], prefix: str = "") -> Iterator[str]:
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _api_routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern) and route.startswith("api/v1/"):
            yield route


def test_it_the_schema_is_valid_openapi_3(tmp_path: Path) -> None:
    # --validate checks it against the OpenAPI 3 meta-schema; --fail-on-warn refuses guesses.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))
    schema = yaml.safe_load((tmp_path / "schema.yml").read_text())
    assert schema["openapi"].startswith("3.")


def test_it_the_schema_covers_every_endpoint(client: Any) -> None:
    schema = yaml.safe_load(client.get("/api/v1/schema/").content)
    documented = {path.removeprefix("/") for path in schema["paths"]}
    own = {"api/v1/schema/", "api/v1/docs/", "api/v1/redoc/"}
    for route in set(_api_routes(get_resolver().url_patterns)) - own:
        as_openapi = route.replace("<uuid:bot_id>", "{bot_id}").replace("<int:key_id>", "{key_id}")
        assert as_openapi in documented, f"{route} is not in the schema"


def test_it_the_docs_load_their_assets_from_this_service(client: Any) -> None:
    page = client.get("/api/v1/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/" in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page), "an asset comes from another host"


def test_it_every_error_is_documented_with_one_body(client: Any) -> None:
    schema = yaml.safe_load(client.get("/api/v1/schema/").content)
    for path, item in schema["paths"].items():
        for operation in item.values():
            assert "401" in operation["responses"], path
            assert operation["responses"]["400"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/Error"
            }


@pytest.fixture
def api_key(transactional_db: None, standin: StandIn, settings: Any) -> str:
    # transactional_db: the WSGI app closes the connection at each request's start, which
    # would end the test's own transaction on PostgreSQL.
    user = user_create(email="fuzz@example.com", password="a long pass phrase", email_verified=True)
    tenant = tenant_create(name="Fuzz", owner=user)
    settings.ALLOW_PRIVATE_UPSTREAMS = True  # generated URLs must not send us resolving DNS
    return api_key_create(tenant=tenant, name="fuzz", created_by=user).plaintext


schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", application)


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_it_the_api_answers_generated_requests_without_a_server_error(case: Any, api_key: str) -> None:
    # No 5xx, and every answer as documented (status, content type, body). Not checked: that a
    # documented request is accepted (connect needs a token or an endpoint URL, a rule a schema
    # cannot state) and that unknown query parameters are refused (they are ignored, as usual).
    case.call_and_validate(
        headers={"Authorization": f"Bearer {api_key}"},
        checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
    )
