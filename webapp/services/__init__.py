"""Use cases: `fn(session, ..., *, actor, now)`. They flush, never commit."""


class ServiceError(Exception):
    """A refusal the user can read: `message` is already translated, `field` optional."""

    def __init__(self, message: str, *, field: str | None = None, status: int = 400):
        super().__init__(message)
        self.message = message
        self.field = field
        self.status = status


class NotFound(ServiceError):
    def __init__(self, message: str = "not found"):
        super().__init__(message, status=404)


class Forbidden(ServiceError):
    def __init__(self, message: str = "forbidden"):
        super().__init__(message, status=403)
