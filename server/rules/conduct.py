"""Conduct in the exam room: what is forbidden and what a violation costs (R 4.8, R 4.9, H).

The kinds follow R 4.8's list ("Емтихан барысында білім алушыға тыйым салынады" — "during the
exam the student is forbidden"), R 4.9 and the handbook's rules "Студент емтихан тапсыру кезінде
келесі ережелерді сақтауға міндетті" (the student must keep the following rules). ``CLAUSES``
names each kind's source, so a proctor's report can cite it.

Decision: **every kind has the same consequence.** R 4.9 names cheat sheets and gadgets and then
"емтихан ережелерін бұзу (жазып алу, электронды байланыс құралдарын пайдалану және т. б.)" —
"breaking the exam rules (copying, using electronic means of communication, *etc.*)": any breach
removes the student ("білім алушы емтиханнан шығарылады"), with E = 0 and a final F. There is
no lighter tier in either document, so the server does not invent one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from server.rules.grading import ExamResult, violation_result


class ViolationKind(StrEnum):
    PHONE_OR_GADGET = "phone_or_gadget"
    PHONE_CALL_OR_SOS = "phone_call_or_sos"
    CONNECTED_DEVICE = "connected_device"
    CHANGED_SETTINGS = "changed_settings"
    INTERNET_OR_MESSENGER = "internet_or_messenger"
    NOTES_OR_CHEAT_SHEET = "notes_or_cheat_sheet"
    COPYING = "copying"
    TALKING_OR_HELPING = "talking_or_helping"
    DISTURBING_OTHERS = "disturbing_others"
    LEAVING_ROOM = "leaving_room"
    CHANGING_SEATS = "changing_seats"
    IMPERSONATION = "impersonation"
    OTHER = "other"


CLAUSES: Mapping[ViolationKind, str] = {
    # "мобильді телефондарды пайдалану тыйым салынады, барлық мобильді құрылғылар өшірулі болуы
    # тиіс"; R 4.9 "шпаргалкалар мен гаджеттер"; H "ұялы телефондарды, электрондық құрылғыларды".
    ViolationKind.PHONE_OR_GADGET: "R 4.8, R 4.9, H",
    # "мобильді телефонмен сөйлесу. SOS-хабарламалармен алмасу".
    ViolationKind.PHONE_CALL_OR_SOS: "R 4.8",
    # "компьютерге қандай да бір электронды құрылғыларды қосуға тыйым салынады ... «флешкалар»".
    ViolationKind.CONNECTED_DEVICE: "R 4.8",
    # "компьютердің баптауларын өзгерту".
    ViolationKind.CHANGED_SETTINGS: "R 4.8",
    # "Интернетті пайдалану, ... желілік ресурстарды пайдалану, қашықтан жұмыс үстеліне қосылу";
    # "әртүрлі мессенджерлер арқылы хабарламалармен алмасу"; H "Интернет ресурстарын".
    ViolationKind.INTERNET_OR_MESSENGER: "R 4.8, H",
    # "қағаз жазбалармен алмасу"; R 4.9 "шпаргалкалар"; H "шпаргалкаларды, дәрістерді, көрнекі
    # материалдарды", "материалдармен алмаспауы".
    ViolationKind.NOTES_OR_CHEAT_SHEET: "R 4.8, R 4.9, H",
    # R 4.9 "жазып алу" (copying).
    ViolationKind.COPYING: "R 4.9",
    # H "сөйлеспеу, бір-біріне көмектеспеу"; R 4.8 "дауыстап сөйлесу".
    ViolationKind.TALKING_OR_HELPING: "R 4.8, H",
    # "айналасындағыларды емтиханнан алаңдату, ... әдепсіз сөздер айту".
    ViolationKind.DISTURBING_OTHERS: "R 4.8",
    # H "емтихан кезінде аудиториядан шықпау".
    ViolationKind.LEAVING_ROOM: "H",
    # H "аудитория ішінде орын ауыстырмау".
    ViolationKind.CHANGING_SEATS: "H",
    # H "емтиханға жеке қатысу" (sitting the exam in person); R 4.3/4.7 check the ID card.
    ViolationKind.IMPERSONATION: "H, R 4.7",
    # R 4.9 "емтихан ережелерін бұзу ... және т. б." (any other breach of the exam rules).
    ViolationKind.OTHER: "R 4.9",
}


@dataclass(frozen=True)
class ViolationConsequence:
    """What a violation does to the student: removal from the room and the imposed result."""

    removed_from_exam: bool
    result: ExamResult


def violation_consequence(kind: ViolationKind) -> ViolationConsequence:
    """Any violation removes the student with E = 0 and final F, whatever the midterms (R 4.9)."""
    # ``kind`` is kept in the signature so that a graded tier, if the regulation ever adds one,
    # changes this function and not every caller.
    del kind
    return ViolationConsequence(removed_from_exam=True, result=violation_result())
