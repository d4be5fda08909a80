from django.urls import path

from proxy import views

urlpatterns = [
    path("proxy/bot/<str:bot_uuid>", views.bot_forward, name="proxy_bot_forward"),
]
