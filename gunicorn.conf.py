"""gunicorn settings for the web process (see the README's performance section).

Threads by measurement (make bench): on two cores gthread forwarded about half
again as many updates a second as gevent, whose patched sockets cost more CPU
per request, and met the slow-endpoint and hanging-bot targets as well. A
forward mostly waits on the owner's endpoint, so each worker gets many threads:
enough for 200 slow forwards at once on two workers, with room to spare for a
bot whose endpoint hangs (it holds at most PROXY_MAX_IN_FLIGHT_PER_BOT threads
per worker). One worker per core.
"""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = int(os.environ.get("GUNICORN_THREADS", "128"))
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", "1000"))
keepalive = 75  # Telegram keeps connections alive; don't close them under it
timeout = 60
graceful_timeout = 30
backlog = 2048
accesslog = None  # one log line per event comes from the app; access logs would carry bot ids only


def child_exit(server, worker):  # type: ignore[no-untyped-def]
    """A worker is gone: its live gauges no longer count in the metrics (botpresto.core.metrics)."""
    from botpresto.core.metrics import process_dead

    process_dead(worker.pid)


def post_worker_init(worker):  # type: ignore[no-untyped-def]
    """Load the proxy's route table before the first request, and keep it fresh from then on."""
    from django.conf import settings

    if "proxy" in getattr(settings, "INSTALLED_APPS", ()):
        from proxy.runtime import proxy_start

        proxy_start()
