"""Why the seat refuses something, in words the student understands."""

from __future__ import annotations

from typing import ClassVar

from server.errors import Conflict, ExamError, Forbidden, InvalidInput, NotFound
from server.i18n import N_


class SeatRefusal(ExamError):
    """A refusal the seat's page reacts to by ``code`` as well as showing its message."""

    code: ClassVar[str] = "refused"


class UnknownSeat(NotFound, SeatRefusal):
    code = "unknown_seat"
    message = N_("This workstation's link is not valid. Ask the proctor to check the workstation.")


class NoExamInRoom(Conflict, SeatRefusal):
    code = "no_exam"
    message = N_("No exam is being held in this room now.")


class RoomNotOpen(Conflict, SeatRefusal):
    code = "room_not_open"
    message = N_("The proctor has not opened this room for the exam yet. Please wait.")


class CheckInNotOpen(Conflict, SeatRefusal):
    code = "too_early"
    message = N_("Check-in opens at %(time)s, ten minutes before the start.")


class EntryClosed(Conflict, SeatRefusal):
    code = "entry_closed"
    message = N_("Entry is closed: more than 30 minutes have passed since the start.")


class NotAStudent(InvalidInput, SeatRefusal):
    status_code = 403
    code = "not_a_student"
    message = N_("Only students sign in at a workstation.")


class PaperNotReady(Conflict, SeatRefusal):
    code = "paper_not_ready"
    message = N_("The approved questions of %(discipline)s cannot fill a paper. Tell the proctor.")


class AttemptNotFound(NotFound, SeatRefusal):
    code = "no_attempt"
    message = N_("This exam attempt was not found.")


class NotStarted(Conflict, SeatRefusal):
    code = "not_started"
    message = N_("The exam has not started for you yet.")


class AttemptClosed(Conflict, SeatRefusal):
    code = "closed"
    message = N_("This exam attempt is closed; answers can no longer be changed.")


class TimeOver(Conflict, SeatRefusal):
    code = "time_over"
    message = N_("Time is over: this answer was made after the deadline and was not saved.")


class WindowReplaced(Conflict, SeatRefusal):
    code = "window_replaced"
    message = N_(
        "This exam is open in another window. This window no longer saves; use the other one."
    )


class UnknownQuestion(InvalidInput, SeatRefusal):
    code = "unknown_question"
    message = N_("This question is not on your paper.")


class UnknownOption(InvalidInput, SeatRefusal):
    code = "unknown_option"
    message = N_("This option does not belong to the question.")


class OneOptionOnly(InvalidInput, SeatRefusal):
    code = "one_option_only"
    message = N_("This question takes one answer only.")


class TamperedClock(InvalidInput, SeatRefusal):
    code = "clock"
    message = N_(
        "The time this answer claims is not possible. Check the workstation's clock and tell "
        "the proctor."
    )


class ReplayedSequence(Conflict, SeatRefusal):
    code = "replayed"
    message = N_("This save number was already used for a different answer; it was not saved.")


class StaleSequence(Conflict, SeatRefusal):
    code = "stale"
    message = N_("A newer answer to this question is already saved; this older one was ignored.")


class SebRequired(Forbidden, SeatRefusal):
    code = "seb_required"
    message = N_(
        "This exam must be taken in Safe Exam Browser with the configuration made for it. "
        "Ask the proctor to start this workstation in Safe Exam Browser with the exam's settings."
    )


class NotEnrolled(Forbidden, SeatRefusal):
    code = "not_enrolled"
    message = N_(
        "This workstation is not enrolled as a seat. Ask IT to enrol it on the room's "
        "enrolment page, or open the workstation's seat link."
    )


class SeatReplaced(Forbidden, SeatRefusal):
    code = "seat_replaced"
    message = N_(
        "This workstation was replaced: another PC is now enrolled in its place. "
        "Ask IT to enrol it again."
    )


class MalformedAnswer(InvalidInput, SeatRefusal):
    code = "malformed_answer"
    message = N_("This answer does not have the form this question takes; it was not saved.")


class AnswerTooLong(InvalidInput, SeatRefusal):
    code = "answer_too_long"
    message = N_("This answer is longer than %(limit)s characters; it was not saved.")
