from django.contrib import admin
from django.urls import include, path, re_path

from accounts.throttling import login_rate_limited
from botpresto.core.api_errors import api_not_found
from botpresto.core.views import favicon, metrics

urlpatterns = [
    path("", include("proxy.urls")),  # first: the hot path resolves in one step
    # The admin shares the login's bounds (axes covers it as a Django login too).
    path("admin/login/", login_rate_limited(admin.site.login)),
    path("admin/", admin.site.urls),
    path("metrics", metrics, name="metrics"),
    # Pages we do not template (admin, API docs) and browsers that ask anyway: the same icon, no 404.
    path("favicon.ico", favicon),
    path("", include("botpresto.notifications.urls")),
    path("accounts/", include("accounts.urls")),
    path("api/v1/", include("config.api_urls")),
    # Any other /api/ URL answers the API's JSON error, with DEBUG on too (where handler404 is not used).
    re_path(r"^api/", api_not_found),
    path("", include("botpresto.bots.urls")),
]

handler404 = "botpresto.core.api_errors.not_found"
