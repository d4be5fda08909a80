"""gunicorn settings for the web process (see the README's performance section)."""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
keepalive = 75  # Telegram keeps connections alive; don't close them under it
timeout = 60
graceful_timeout = 30
accesslog = None  # one log line per event comes from the app; access logs would carry bot ids only
