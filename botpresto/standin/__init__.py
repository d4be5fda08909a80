"""A faithful local stand-in for the Telegram Bot API, for tests and the local demo."""

from botpresto.standin.server import StandIn
from botpresto.standin.state import BotState, Call, DeliveryAttempt

__all__ = ["BotState", "Call", "DeliveryAttempt", "StandIn"]
