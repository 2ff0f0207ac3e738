class DomainError(Exception):
    """A rule refused the operation. `field_errors` maps form fields to messages."""

    def __init__(self, message, field_errors: dict | None = None):
        super().__init__(str(message))
        self.message = message
        self.field_errors = field_errors or {}


class NotAllowed(DomainError):
    """The actor may not do this to this record."""
