"""GET /metrics: this host's metrics for Prometheus, for a scraper with the token or a staff member."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.templatetags.static import static
from django.utils.crypto import constant_time_compare
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from botpresto.core.metrics import metrics_render


def _allowed(request: HttpRequest) -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if settings.METRICS_TOKEN and scheme.lower() == "bearer" and constant_time_compare(token, settings.METRICS_TOKEN):
        return True
    return bool(request.user.is_authenticated and request.user.is_staff)


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        raise Http404("No such page.")  # nothing here for anyone else, not even that it exists
    return HttpResponse(metrics_render(), content_type=CONTENT_TYPE_LATEST)


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """/favicon.ico, which browsers ask for on pages without an icon link (the admin, the API docs)."""
    return HttpResponseRedirect(static("favicon.svg"))
