"""OpenAPI schema glue: the API key scheme and the one error body on every operation."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.renderers import OpenApiJsonRenderer2, OpenApiYamlRenderer
from drf_spectacular.views import SpectacularAPIView
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

ERROR_STATUSES = {
    "400": "The request was understood but cannot be carried out; `detail` says why.",
    "401": "No API key, or a revoked or wrong one.",
    "404": "No such object in this key's tenant.",
}


class ApiKeyScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "accounts.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "An API key: `Authorization: Bearer bp_...`"}


def add_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Document the error body on every operation (one handler renders them all)."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = {
        "type": "object",
        "properties": {
            "code": {"type": "string"},
            "detail": {"type": "string"},
            "fields": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
        },
        "required": ["code", "detail", "fields"],
    }
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path, path_item in result.get("paths", {}).items():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            for status, description in ERROR_STATUSES.items():
                if status == "404" and "{" not in path:
                    continue  # only operations on one object can miss it
                responses.setdefault(status, {"description": description, "content": error})
    return result


class _YamlAsText(OpenApiYamlRenderer):
    media_type = "text/plain"


class SchemaView(SpectacularAPIView):
    """The schema as tools ask for it, and readable in a browser tab.

    A browser asks for text/html first and would be handed application/vnd.oai.openapi, which
    it saves as a file: it gets the YAML as text/plain (or, with ?format=json, application/json).
    """

    def perform_content_negotiation(self, request: Request, force: bool = False) -> tuple[BaseRenderer, str]:
        if "text/html" in request.META.get("HTTP_ACCEPT", ""):
            if request.query_params.get("format") == "json":
                return OpenApiJsonRenderer2(), OpenApiJsonRenderer2.media_type
            return _YamlAsText(), _YamlAsText.media_type
        negotiated: tuple[BaseRenderer, str] = super().perform_content_negotiation(request, force)
        return negotiated
