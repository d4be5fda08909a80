"""A faithful local stand-in for the Telegram Bot API, for tests and the local demo."""

from botpresto.devtools.standin.server import StandIn
from botpresto.devtools.standin.state import BotState, Call, DeliveryAttempt

__all__ = ["BotState", "Call", "DeliveryAttempt", "StandIn"]
