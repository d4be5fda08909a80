"""The one application error type (rendered for the API by botpresto.core.api_errors)."""


class ApplicationError(Exception):
    """A request we understood but cannot carry out; the message is for a person.

    ``http_status`` is the HTTP status the API answers with: 400 unless the refusal is about
    a conflict (409), permission (403), or another service asking us to wait (429, 503).
    """

    def __init__(
        self,
        message: str,
        *,
        code: str = "invalid",
        field: str | None = None,
        retry_after: int | None = None,
        http_status: int = 400,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field
        self.http_status = http_status
        # Seconds the caller should wait before trying again (Telegram's 429), sent as Retry-After.
        self.retry_after = retry_after
