"""The floor for the benchmark: a bare Django view that checks the secret and forwards with a kept-alive
session. No database, no middleware, no features. Run under gunicorn like the service:
``gunicorn bench_minimal:application --pythonpath scripts -c gunicorn.conf.py``.

BENCH_CLIENT=requests (default: a requests.Session) or urllib3 (a PoolManager, the proxy's own client).
"""

from __future__ import annotations

import hmac
import os

import django
import requests
import urllib3
from django.conf import settings
from requests.adapters import HTTPAdapter

settings.configure(
    DEBUG=False,
    SECRET_KEY="bench-minimal",
    ROOT_URLCONF=__name__,
    ALLOWED_HOSTS=["*"],
    MIDDLEWARE=[],
    INSTALLED_APPS=[],
    DATABASES={},
)
django.setup()

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.urls import path  # noqa: E402

SECRET = os.environ["BENCH_SECRET"].encode()
UPSTREAM = os.environ["BENCH_UPSTREAM"]

session = requests.Session()
session.trust_env = False
session.mount("http://", HTTPAdapter(pool_connections=16, pool_maxsize=256))
pool = urllib3.PoolManager(maxsize=256, retries=False)
USE_URLLIB3 = os.environ.get("BENCH_CLIENT") == "urllib3"


def forward(request: HttpRequest, bot: str) -> HttpResponse:
    given = request.META.get("HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN", "").encode()
    if not hmac.compare_digest(given, SECRET):
        return HttpResponse(status=401)
    headers = {"Content-Type": request.META.get("CONTENT_TYPE", "")}
    if USE_URLLIB3:
        reply = pool.urlopen("POST", UPSTREAM, body=request.body, headers=headers, timeout=urllib3.Timeout(3, 25))
        return HttpResponse(reply.data, status=reply.status, content_type=reply.headers.get("Content-Type"))
    answer = session.post(UPSTREAM, data=request.body, headers=headers, timeout=(3, 25))
    return HttpResponse(answer.content, status=answer.status_code, content_type=answer.headers.get("Content-Type"))


urlpatterns = [path("proxy/bot/<str:bot>", forward)]
application = get_wsgi_application()
