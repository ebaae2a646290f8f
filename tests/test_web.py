"""Templates' gettext: what Jinja's own newstyle gettext gives, in every language."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from jinja2 import DictLoader, Environment, select_autoescape
from markupsafe import Markup

from server import web
from server.i18n import LOCALES, get_locale, gettext, ngettext, set_locale
from server.models import Role

TEMPLATES = {
    "plain.html": '{{ _("Saved") }}|{{ _("Sign out") }}',
    "percent.html": '{{ _("Midterm average below 50%%") }}|{{ _("50%% <b>") }}',
    "variables.html": (
        '{{ _("Room %(room)s · workstation %(seat)s", room=room, seat="<i>") }}'
        '|{{ _("Question %(n)s of %(total)s", n=3, total=25) }}'
    ),
    "trans.html": "{% trans %}Saved{% endtrans %}|{% trans n=room %}Room {{ n }}{% endtrans %}",
    "plural.html": (
        "{% trans count=2 %}{{ count }} seat{% pluralize %}{{ count }} seats{% endtrans %}"
    ),
    "computed.html": "{{ _(message) }}",
    "plain.txt": '{{ _("Room %(room)s · workstation %(seat)s", room=room, seat="<i>") }}',
}
CONTEXT = {"room": "<b>101</b>", "message": "Saved"}


def _environment(*, ours: bool) -> Environment:
    env = Environment(
        loader=DictLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
    if ours:
        env.globals["_"] = env.globals["gettext"] = web.template_gettext
    return env


@pytest.fixture(autouse=True)
def _locale_kept() -> Iterator[None]:
    before = get_locale()
    yield
    set_locale(before)


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_the_same_as_jinjas_gettext(locale: str, template: str) -> None:
    set_locale(locale)
    jinjas = _environment(ours=False).get_template(template).render(CONTEXT)
    for _ in range(2):  # the second time from what was kept
        assert _environment(ours=True).get_template(template).render(CONTEXT) == jinjas


def test_kept_messages_follow_the_language() -> None:
    template = _environment(ours=True).get_template("plain.html")
    shown = {}
    for locale in LOCALES:
        set_locale(locale)
        shown[locale] = template.render()
    set_locale("ru")
    assert template.render() == shown["ru"]
    assert len(set(shown.values())) == len(LOCALES)
    assert shown["en"] == "Saved|Sign out"


def test_variables_are_escaped_and_the_message_is_not() -> None:
    set_locale("en")
    env = _environment(ours=True)
    assert (
        env.get_template("variables.html")
        .render(CONTEXT)
        .startswith("Room &lt;b&gt;101&lt;/b&gt; · workstation &lt;i&gt;|Question 3 of 25")
    )
    assert env.get_template("plain.txt").render(CONTEXT) == "Room <b>101</b> · workstation <i>"
    assert env.get_template("percent.html").render() == ("Midterm average below 50%|50% <b>")


def test_the_kept_messages_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(web, "_PLAIN_MESSAGES", {})
    monkeypatch.setattr(web, "_PLAIN_MESSAGES_BOUND", 2)
    template = _environment(ours=True).get_template("computed.html")
    set_locale("en")
    for message in ("one", "two", "three", "four"):
        assert template.render(message=message) == message
    assert len(web._PLAIN_MESSAGES) == 2


def test_the_app_environment_uses_it() -> None:
    env = web.environment()
    assert env.globals["_"] is web.template_gettext
    assert env.globals["gettext"] is web.template_gettext


@pytest.mark.parametrize("locale", LOCALES)
def test_role_names_in_the_page_language(locale: str) -> None:
    names = web._role_names(locale)
    set_locale(locale)
    assert names == {role.value: gettext(name) for role, name in web.ROLE_NAMES.items()}
    assert set(names) == {role.value for role in Role}
    assert all(not isinstance(name, Markup) for name in names.values())
