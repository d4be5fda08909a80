from django.urls import path

from analytics import api, delivery_api

urlpatterns = [
    path("bots/<uuid:bot_id>/stats/", api.BotStatsApi.as_view(), name="api_bot_stats"),
    path("bots/<uuid:bot_id>/users/", api.BotUsersApi.as_view(), name="api_bot_users"),
    path("bots/<uuid:bot_id>/campaigns/", api.BotCampaignsApi.as_view(), name="api_bot_campaigns"),
    path("bots/<uuid:bot_id>/deliveries/", delivery_api.BotDeliveriesApi.as_view(), name="api_bot_deliveries"),
]
