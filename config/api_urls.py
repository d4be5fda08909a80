from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

urlpatterns = [
    path("", include("accounts.api_urls")),
    path("", include("botpresto.bots.api_urls")),
    path("", include("analytics.api_urls")),
    path("schema/", SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[]), name="api_schema"),
    path(
        "docs/",
        SpectacularSwaggerView.as_view(url_name="api_schema", authentication_classes=[], permission_classes=[]),
        name="api_docs",
    ),
    path(
        "redoc/",
        SpectacularRedocView.as_view(url_name="api_schema", authentication_classes=[], permission_classes=[]),
        name="api_redoc",
    ),
]
