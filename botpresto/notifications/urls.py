from django.urls import path

from botpresto.notifications import views

urlpatterns = [
    path("accounts/profile/", views.profile, name="profile"),
    path("accounts/alert-webhook/", views.alert_webhook, name="alert_webhook"),
    path("alert-bot/webhook/", views.alert_bot_webhook, name="alert_bot_webhook"),
]
