"""The one application error type (rendered for the API by botpresto.core.api_errors)."""


class ApplicationError(Exception):
    """A request we understood but cannot carry out; the message is for a person."""

    def __init__(
        self, message: str, *, code: str = "invalid", field: str | None = None, retry_after: int | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field
        # Seconds Telegram asked us to wait (code "telegram_rate_limited"), for callers that retry.
        self.retry_after = retry_after
