from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("proxy.urls")),  # first: the hot path resolves in one step
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("api/v1/", include("config.api_urls")),
    path("", include("botpresto.bots.urls")),
]

handler404 = "botpresto.core.api_errors.not_found"
