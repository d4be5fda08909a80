from django.urls import path

from accounts import api

urlpatterns = [
    path("keys/", api.ApiKeyListApi.as_view(), name="api_key_list"),
    path("keys/<int:key_id>/revoke/", api.ApiKeyRevokeApi.as_view(), name="api_key_revoke_api"),
]
