from django.urls import include, path

from accounts import views

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("organisations/new/", views.tenant_create, name="tenant_create"),
    path("organisations/switch/", views.tenant_switch, name="tenant_switch"),
    path("api-keys/", views.api_keys, name="api_keys"),
    path("api-keys/<int:key_id>/revoke/", views.api_key_revoke, name="api_key_revoke"),
    path("", include("django.contrib.auth.urls")),
]
