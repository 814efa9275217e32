"""What a tester found running a distribution: members are told when it moves, in their
language, and only when what they would notice changed; the sign-in sheet ends a line
with no phone cleanly; the `notify` command wants PUBLIC_URL."""

from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from webapp.models import DutyAssignment, OutboxMessage, Place

from . import factories

PARIS = ZoneInfo("Europe/Paris")


def _local(moment) -> str:
    return moment.astimezone(PARIS).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def day(session, now):
    group = factories.group(session, now=now, name="AMAP du Canal")
    factories.user(session, now=now, group=group, role="coordinator", email="c@example.test")
    vegetables = factories.catalogue(session, group=group)
    leeks = factories.product(session, catalogue=vegetables, name="Poireaux")
    d = factories.distribution(
        session, group=group, now=now, state="closed", catalogues=[vegetables]
    )
    ada = factories.user(session, now=now, group=group, first_name="Ada", locale="en")
    bea = factories.user(session, now=now, group=group, first_name="Béa", locale="fr")
    factories.order(session, distribution=d, user=ada, now=now, lines=[(leeks, Decimal(2))])
    factories.order(session, distribution=d, user=bea, now=now, lines=[(leeks, Decimal(1))])
    volunteer = factories.user(session, now=now, group=group, first_name="Vic", locale="fr")
    session.add(
        DutyAssignment(
            distribution_id=d.id, user_id=volunteer.id, role_name="Accueil", created_at=now
        )
    )
    idle = factories.user(session, now=now, group=group, first_name="Ilo")  # ordered nothing
    hall = Place(group_id=group.id, name="Halle du Canal", address="3 quai de la Loire")
    session.add(hall)
    session.commit()
    return dict(
        group=group,
        d=d,
        catalogue=vegetables,
        ada=ada,
        bea=bea,
        vic=volunteer,
        idle=idle,
        hall=hall,
    )


def _form(d, *, place_id=None, catalogue_ids, **moments):
    values = {
        name: _local(moments.get(name, getattr(d, name)))
        for name in ("starts_at", "ends_at", "orders_open_at", "orders_close_at")
    }
    return {"place_id": place_id or d.place_id, "catalogue_id": catalogue_ids, **values}


def _moved(session, d):
    factories.fresh(session)
    return session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.kind == "distribution_moved")
        .order_by(OutboxMessage.user_id)
    ).all()


def test_moving_a_distribution_after_the_close_tells_who_ordered_or_is_on_duty(
    auth, post, session, now, day
):
    d = day["d"]
    later = d.starts_at + timedelta(days=1)
    auth.login("c@example.test")
    response = post(
        f"/distributions/{d.id}/edit",
        _form(
            d,
            catalogue_ids=[day["catalogue"].id],
            starts_at=later,
            ends_at=later + timedelta(hours=2),
        ),
    )
    assert response.status_code == 302
    messages = _moved(session, d)
    assert [m.user_id for m in messages] == [day["ada"].id, day["bea"].id, day["vic"].id]
    english, french, volunteer = messages
    assert english.title == "AMAP du Canal: the distribution of Tuesday, November 24, 2026 is moved"
    assert english.body.replace("\u202f", " ") == (
        "The distribution planned on Tuesday, November 24, 2:00 PM at Préau now takes place "
        "on Wednesday, November 25, 2:00 PM (until 4:00 PM) at Préau."
    )
    assert french.title == "AMAP du Canal : la distribution du mardi 24 novembre 2026 est déplacée"
    assert french.body == (
        "La distribution prévue le mardi 24 novembre, 14:00 à Préau a maintenant lieu le "
        "mercredi 25 novembre, 14:00 (jusqu’à 16:00) à Préau."
    )
    assert english.url.endswith(f"/distributions/{d.id}/shop")
    assert volunteer.url.endswith("/roster/")
    assert all(m.state == "queued" for m in messages)


def test_a_new_place_is_told_with_its_address(auth, post, session, now, day):
    d = day["d"]
    auth.login("c@example.test")
    response = post(
        f"/distributions/{d.id}/edit",
        _form(d, place_id=day["hall"].id, catalogue_ids=[day["catalogue"].id]),
    )
    assert response.status_code == 302
    messages = _moved(session, d)
    assert len(messages) == 3
    french = next(m for m in messages if m.user_id == day["bea"].id)
    assert "à Préau" in french.body and "à Halle du Canal" in french.body
    assert "Adresse : 3 quai de la Loire" in french.body


def test_an_edit_nobody_would_notice_tells_nobody(auth, post, session, now, day):
    d = day["d"]
    other = factories.catalogue(session, group=day["group"], name="Pains")
    auth.login("c@example.test")
    response = post(
        f"/distributions/{d.id}/edit",
        _form(
            d,
            catalogue_ids=[day["catalogue"].id, other.id],
            orders_open_at=d.orders_open_at - timedelta(days=1),
        ),
    )
    assert response.status_code == 302
    assert _moved(session, d) == []


def test_reminders_waiting_with_the_old_date_are_written_again(auth, post, session, now, day):
    from webapp.services import outbox

    d = day["d"]
    stale = outbox.queue(
        session,
        kind="basket_tomorrow",
        ref=f"d{d.id}",
        title="old",
        body="Distribution on the old day",
        user=day["ada"],
        group_id=day["group"].id,
        now=now,
    )
    sent = outbox.queue(
        session,
        kind="orders_open",
        ref=f"d{d.id}",
        title="old",
        body="sent already",
        user=day["ada"],
        group_id=day["group"].id,
        now=now,
    )
    sent.state = "sent"
    session.commit()
    stale_id, sent_id = stale.id, sent.id
    later = d.starts_at + timedelta(days=2)
    auth.login("c@example.test")
    post(
        f"/distributions/{d.id}/edit",
        _form(
            d,
            catalogue_ids=[day["catalogue"].id],
            starts_at=later,
            ends_at=later + timedelta(hours=2),
        ),
    )
    factories.fresh(session)
    assert session.get(OutboxMessage, stale_id) is None  # the next pass writes it anew
    assert session.get(OutboxMessage, sent_id) is not None


def test_the_coordinator_is_told_how_many_were_told(client, auth, post, session, now, day):
    d = day["d"]
    later = d.starts_at + timedelta(hours=1)
    auth.login("c@example.test")
    post(
        f"/distributions/{d.id}/edit",
        _form(
            d,
            catalogue_ids=[day["catalogue"].id],
            starts_at=later,
            ends_at=later + timedelta(hours=2),
        ),
    )
    html = client.get("/distributions/").get_data(as_text=True)
    assert "3 personnes ayant commandé ou de permanence sont prévenues du changement." in html


# The sign-in sheet: a member with no phone.


def test_the_signin_sheet_line_of_a_member_without_phone_ends_cleanly(
    client, auth, session, now, day
):
    day["bea"].phone = ""
    session.commit()
    auth.login("c@example.test")
    html = client.get(f"/distributions/{day['d'].id}/signin").get_data(as_text=True)
    head = next(line for line in html.splitlines() if "member-head" in line and "Béa" in line)
    assert head.rstrip().endswith("</strong></p>"), head
    ada = next(line for line in html.splitlines() if "member-head" in line and "Ada" in line)
    assert f"· {day['ada'].phone}</p>" in ada


# The `notify` command and PUBLIC_URL.


def test_notify_refuses_to_run_without_a_public_url(app):
    app.config.update(TESTING=False, PUBLIC_URL="")
    result = app.test_cli_runner().invoke(args=["notify"])
    assert result.exit_code == 1
    assert "PUBLIC_URL is not set" in result.output and "http://localhost" in result.output


def test_notify_runs_with_a_public_url(app):
    app.config.update(TESTING=False, PUBLIC_URL="https://amap.example.org")
    result = app.test_cli_runner().invoke(args=["notify", "--no-reminders"])
    assert result.exit_code == 0, result.output
    assert "queued" in result.output


def test_notify_runs_for_a_developer_without_one(app, monkeypatch):
    app.config.update(TESTING=False, PUBLIC_URL="")
    monkeypatch.setenv("FLASK_DEBUG", "1")
    result = app.test_cli_runner().invoke(args=["notify", "--no-reminders"])
    assert result.exit_code == 0, result.output
