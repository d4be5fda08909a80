from django.urls import path

from botpresto.bots import api

urlpatterns = [
    path("bots/", api.BotListCreateApi.as_view(), name="api_bot_list"),
    path("bots/<uuid:bot_id>/", api.BotDetailApi.as_view(), name="api_bot_detail"),
    path("bots/<uuid:bot_id>/rotate-token/", api.BotRotateTokenApi.as_view(), name="api_bot_rotate_token"),
    path("bots/<uuid:bot_id>/disconnect/", api.BotDisconnectApi.as_view(), name="api_bot_disconnect"),
    path("bots/<uuid:bot_id>/reconnect/", api.BotReconnectApi.as_view(), name="api_bot_reconnect"),
]
