from django.urls import path

from botpresto import views

urlpatterns = [
    path("", views.home, name="home"),
    path("bots/", views.dashboard, name="dashboard"),
]
