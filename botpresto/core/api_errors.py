"""The one way the API renders errors: ``{"code": ..., "detail": ..., "fields": {...}}``."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt
from django.views.defaults import page_not_found
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler

from botpresto.core.errors import ApplicationError


def _messages(errors: Any) -> list[str]:
    """A field's errors as a flat list of messages (a list field's item errors come nested by index)."""
    if isinstance(errors, dict):
        return [message for value in errors.values() for message in _messages(value)]
    if isinstance(errors, list):
        return [message for value in errors for message in _messages(value)]
    return [str(errors)]


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Every API error reads ``{"code": ..., "detail": ..., "fields": {...}}``."""
    fields: dict[str, Any]
    if isinstance(exc, ApplicationError):
        fields = {exc.field: [exc.message]} if exc.field else {}
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
        return Response(
            {"code": exc.code, "detail": exc.message, "fields": fields}, status=exc.http_status, headers=headers
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        raw = detail if isinstance(detail, dict) else {"non_field_errors": detail}
        fields = {name: _messages(errors) for name, errors in raw.items()}
        message = next((m for errors in fields.values() for m in errors), "Invalid input.")
        response.data = {"code": "invalid", "detail": str(message), "fields": fields}
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else "error"
        response.data = {"code": code, "detail": str(exc.detail), "fields": {}}
    return response


@csrf_exempt  # an unknown URL has nothing to protect, and an API client sends no CSRF cookie
def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """404 in the API's error body, for an /api/ URL no endpoint serves.

    This route matches every /api/ URL, so CommonMiddleware no longer adds a missing slash: a
    GET of an endpoint without its slash is redirected here, and another method is told the URL.
    """
    path = request.path_info
    if settings.APPEND_SLASH and not path.endswith("/") and _served(f"{path}/"):
        if request.method in ("GET", "HEAD"):
            query = request.META.get("QUERY_STRING", "")
            return HttpResponsePermanentRedirect(f"{request.path}/" + (f"?{query}" if query else ""))
        detail = f"Not found. The URL ends with a slash: {request.path}/"
        return JsonResponse({"code": "not_found", "detail": detail, "fields": {}}, status=404)
    return JsonResponse({"code": "not_found", "detail": "Not found.", "fields": {}}, status=404)


def _served(path: str) -> bool:
    try:
        return resolve(path).func is not api_not_found
    except Resolver404:
        return False


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """404 for a URL no route matches: the API's error body under /api/, the page elsewhere."""
    if request.path.startswith("/api/"):
        return api_not_found(request)
    return page_not_found(request, exception)
