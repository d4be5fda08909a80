from django.urls import include, path

urlpatterns = [
    path("", include("accounts.api_urls")),
    path("", include("botpresto.api_urls")),
    path("", include("analytics.api_urls")),
]
