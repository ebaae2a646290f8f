"""Domain errors that carry their own HTTP status and a translatable message.

Services raise these; one handler renders them as JSON for API clients or as an HTML page or
fragment for browsers, always in the user's language.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from server.i18n import N_, gettext


class ExamError(Exception):
    """A refusal the user should understand. ``message`` is a gettext msgid with %(name)s fields."""

    status_code: ClassVar[int] = 400
    message: ClassVar[str] = N_("The request could not be carried out.")

    def __init__(self, message: str | None = None, /, **params: Any) -> None:
        self.msgid = message or self.message
        self.params = params
        super().__init__(self.msgid)

    def translated(self) -> str:
        text = gettext(self.msgid)
        return text % self.params if self.params else text


class NotFound(ExamError):
    status_code = 404
    message = N_("Not found.")


class Forbidden(ExamError):
    status_code = 403
    message = N_("You do not have permission for this page.")


class NotSignedIn(ExamError):
    status_code = 401
    message = N_("Please sign in.")


class Conflict(ExamError):
    status_code = 409
    message = N_("This conflicts with the current state.")


class InvalidInput(ExamError):
    status_code = 422
    message = N_("The form has errors.")

    def __init__(
        self,
        message: str | None = None,
        /,
        *,
        field_errors: dict[str, str] | None = None,
        **params: Any,
    ) -> None:
        super().__init__(message, **params)
        self.field_errors = field_errors or {}


def invalid_input(errors: Iterable[Mapping[str, Any]], *, skip: int = 0) -> InvalidInput:
    """The refusal of values that do not validate (pydantic's ``errors()``), each field named.

    ``skip``: the leading parts of each error's location that name no field (FastAPI's "body").
    """
    fields = {
        ".".join(str(part) for part in error["loc"][skip:]) or "request": gettext(
            "This value is not valid."
        )
        for error in errors
    }
    return InvalidInput(field_errors=fields)


class TooManyAttempts(ExamError):
    status_code = 429
    message = N_("Too many failed sign-in attempts. Try again in %(minutes)s minutes.")


class CsrfFailed(ExamError):
    status_code = 403
    message = N_(
        "The form has expired or did not come from this site. Reload the page and try again."
    )
