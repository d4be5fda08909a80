"""BotPresto's own code, cut by audience.

- ``core``: shared plumbing (errors, API errors, pagination, OpenAPI, crypto, throttle, the Telegram client).
- ``bots``: bots, their webhook lifecycle (one state machine in ``bots.states``), maintenance, health.
- ``notifications``: owner alerts and emails, end users' notices.
- ``devtools``: the Telegram stand-in, the Mixpanel collector and the demo; not installed in production.

The proxy's hot path, analytics and accounts are the top-level apps beside this package.
"""
