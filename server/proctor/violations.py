"""The names of the regulation's violation kinds, as the console and the room protocol show them."""

from __future__ import annotations

from server.i18n import N_
from server.rules.conduct import ViolationKind

VIOLATION_NAMES: dict[str, str] = {
    ViolationKind.PHONE_OR_GADGET.value: N_("Phone or other gadget"),
    ViolationKind.PHONE_CALL_OR_SOS.value: N_("Phone call or SOS messages"),
    ViolationKind.CONNECTED_DEVICE.value: N_("A device connected to the computer"),
    ViolationKind.CHANGED_SETTINGS.value: N_("Changed the computer's settings"),
    ViolationKind.INTERNET_OR_MESSENGER.value: N_("Internet, network or messenger"),
    ViolationKind.NOTES_OR_CHEAT_SHEET.value: N_("Notes or cheat sheet"),
    ViolationKind.COPYING.value: N_("Copying"),
    ViolationKind.TALKING_OR_HELPING.value: N_("Talking or helping others"),
    ViolationKind.DISTURBING_OTHERS.value: N_("Disturbing others"),
    ViolationKind.LEAVING_ROOM.value: N_("Leaving the room"),
    ViolationKind.CHANGING_SEATS.value: N_("Changing seats"),
    ViolationKind.IMPERSONATION.value: N_("Sitting for someone else"),
    ViolationKind.OTHER.value: N_("Other breach of the exam rules"),
}
