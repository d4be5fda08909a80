from django.urls import path

from botpresto.notifications import api

urlpatterns = [
    path("alerts/webhook/", api.AlertWebhookApi.as_view(), name="api_alert_webhook"),
    path("alerts/channels/", api.AlertChannelsApi.as_view(), name="api_alert_channels"),
]
