from typing import Any

from csp.decorators import csp_update
from django.urls import include, path
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView

from botpresto.core.openapi import SchemaView

# The contract and its docs are public documents, the same for everyone: no key, no per-caller limit.
PUBLIC: dict[str, list[Any]] = {"authentication_classes": [], "permission_classes": [], "throttle_classes": []}

urlpatterns = [
    path("", include("accounts.api_urls")),
    path("", include("botpresto.bots.api_urls")),
    path("", include("analytics.api_urls")),
    path("", include("botpresto.notifications.api_urls")),
    path("schema/", SchemaView.as_view(**PUBLIC), name="api_schema"),
    path(
        "docs/",
        # The split view serves its start-up script from a URL instead of inline (Content-Security-Policy).
        SpectacularSwaggerSplitView.as_view(url_name="api_schema", **PUBLIC),
        name="api_docs",
    ),
    path(
        "redoc/",
        # Redoc's sidebar always shows its maker's logo from their CDN (no option turns it off): the
        # one image from another host, allowed on this page only.
        csp_update({"img-src": ["https://cdn.redoc.ly"]})(
            SpectacularRedocView.as_view(url_name="api_schema", **PUBLIC)
        ),
        name="api_redoc",
    ),
]
