from django.urls import re_path

from proxy import views

urlpatterns = [
    # Everything under /proxy/ is the proxy's to answer (and to log), not the pages' 404.
    re_path(r"^proxy/(?P<path>.*)\Z", views.proxy_entry, name="proxy_entry"),
]
