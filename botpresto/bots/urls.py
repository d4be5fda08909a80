from django.urls import path

from analytics import delivery_views
from botpresto.bots import views

urlpatterns = [
    path("", views.home, name="home"),
    path("bots/", views.dashboard, name="dashboard"),
    path("bots/connect/", views.bot_connect, name="bot_connect"),
    path("bots/connect/manual/", views.bot_connect_manual, name="bot_connect_manual"),
    path("bots/<uuid:bot_id>/", views.bot_detail, name="bot_detail"),
    path("bots/<uuid:bot_id>/setup/", views.bot_setup, name="bot_setup"),
    path("bots/<uuid:bot_id>/settings/", views.bot_settings, name="bot_settings"),
    path("bots/<uuid:bot_id>/settings/token/", views.bot_token_rotate, name="bot_token_rotate"),
    path("bots/<uuid:bot_id>/settings/endpoint/", views.bot_endpoint, name="bot_endpoint"),
    path("bots/<uuid:bot_id>/settings/mixpanel/", views.bot_mixpanel, name="bot_mixpanel"),
    path("bots/<uuid:bot_id>/settings/notices/", views.bot_notices, name="bot_notices"),
    path("bots/<uuid:bot_id>/disconnect/", views.bot_disconnect, name="bot_disconnect"),
    path("bots/<uuid:bot_id>/reconnect/", views.bot_reconnect, name="bot_reconnect"),
    path("bots/<uuid:bot_id>/users/", views.bot_users, name="bot_users"),
    path("bots/<uuid:bot_id>/deliveries/", delivery_views.bot_deliveries, name="bot_deliveries"),
    path("bots/<uuid:bot_id>/delete/", views.bot_delete, name="bot_delete"),
]
