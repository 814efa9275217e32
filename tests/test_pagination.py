"""Lists that grow come a page at a time: 50 rows (20 distribution cards), the rest on later
pages, nobody missing or shown twice, the same order on every visit; any `?page=` answers
without a 500; totals and CSVs still cover everything."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from webapp.models import (
    Distribution,
    LedgerEntry,
    Membership,
    Message,
    MessageRecipient,
    Place,
    User,
)
from webapp.web.distributions import PER_PAGE as CARDS_PER_PAGE
from webapp.web.paging import PER_PAGE, page_number

from . import factories

MEMBERS = 118  # with the coordinator and one member made by hand: 120, three pages
ENTRIES = 130
MESSAGES = 107
DISTRIBUTIONS = 45  # 5 coming, 40 past: three pages of 20 cards

BAD_PAGES = ["0", "-1", "abc", "²", "99999999999999999999", "", " 2 ", "1e3", "٣", "2.5"]


@pytest.fixture
def world(session, now):
    group = factories.group(session, now=now)
    coordinator = factories.user(session, now=now, group=group, role="coordinator")
    member = factories.user(session, now=now, group=group)
    users = session.scalars(
        insert(User).returning(User.id, sort_by_parameter_order=True),
        [
            {
                "email": f"page-{i}@example.test",
                "first_name": f"P{i}",
                # Same last names in threes: the order must still be total (first name, id).
                "last_name": f"Nom{i // 3:03d}",
                "created_at": now,
            }
            for i in range(MEMBERS)
        ],
    ).all()
    session.execute(
        insert(Membership),
        [{"user_id": u, "group_id": group.id, "role": "member", "created_at": now} for u in users],
    )
    # The member's history: 130 entries, 40 of them at the very same instant.
    session.execute(
        insert(LedgerEntry),
        [
            {
                "group_id": group.id,
                "user_id": member.id,
                "kind": "payment" if i % 3 else "refund",
                "amount_cents": (i * 7 + 3) if i % 3 else -(i * 5 + 1),
                "payment_method": "cash",
                "created_at": now - timedelta(days=1) if i < 40 else now - timedelta(hours=i),
            }
            for i in range(ENTRIES)
        ],
    )
    # Balances for the others too (some in debt), and one pending entry that does not count.
    session.execute(
        insert(LedgerEntry),
        [
            {
                "group_id": group.id,
                "user_id": u,
                "kind": "payment" if n % 4 else "refund",
                "amount_cents": (100 + n) if n % 4 else -(50 + n),
                "payment_method": "cash",
                "created_at": now - timedelta(days=2),
            }
            for n, u in enumerate(users)
        ]
        + [
            {
                "group_id": group.id,
                "user_id": users[0],
                "kind": "payment",
                "amount_cents": 999,
                "payment_method": "cash",
                "pending": True,
                "created_at": now,
            }
        ],
    )
    messages = session.scalars(
        insert(Message).returning(Message.id, sort_by_parameter_order=True),
        [
            {
                "group_id": group.id,
                "author_id": coordinator.id,
                "audience": "all",
                "audience_label": "Tout le monde",
                "subject": f"Message {i}",
                "body": "Bonjour",
                "recipients_count": 2,
                "created_at": now - timedelta(days=1) if i < 30 else now - timedelta(hours=i),
            }
            for i in range(MESSAGES)
        ],
    ).all()
    session.execute(
        insert(MessageRecipient),
        [{"message_id": m, "user_id": u} for m in messages for u in (coordinator.id, member.id)],
    )
    place = Place(group_id=group.id, name="Halle")
    session.add(place)
    session.flush()
    for week in range(DISTRIBUTIONS):
        starts = now + timedelta(days=7 * (week - 39) - 3)
        session.add(
            Distribution(
                group_id=group.id,
                place_id=place.id,
                starts_at=starts,
                ends_at=starts + timedelta(hours=2),
                orders_open_at=starts - timedelta(days=6),
                orders_close_at=starts - timedelta(days=1),
            )
        )
    session.commit()
    return {"group": group, "coordinator": coordinator, "member": member}


@pytest.fixture
def signed_in(client, auth, world):
    auth.login(world["coordinator"].email)
    with client.session_transaction() as s:
        s["group_id"] = world["group"].id
    return world


def _ids(client, path: str, pattern: str) -> list[int]:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return [int(i) for i in re.findall(pattern, response.get_data(as_text=True))]


MEMBER_ROW = r'<tr>\s*<td><a href="/members/(\d+)/history"'
BALANCE_ROW = r'<tr><td><a href="/members/(\d+)/history"'
ENTRY_ROW = r'<tr id="entry-(\d+)">'
INBOX_ROW = r'<h2 class="h3"><a href="/messages/(\d+)"'
SENT_ROW = r'<tr><td>[^<]*</td>\s*<td><a href="/messages/(\d+)"'
CARD = r'<li class="card" id="distribution-(\d+)"'


def _all_pages(client, path: str, pattern: str, per_page: int, expected: int) -> list[int]:
    """Every page of a list: full pages then the rest, and nothing past the last."""
    pages = -(-expected // per_page)
    seen: list[int] = []
    for number in range(1, pages + 1):
        ids = _ids(client, f"{path}{'&' if '?' in path else '?'}page={number}", pattern)
        assert len(ids) == (per_page if number < pages else expected - per_page * (pages - 1))
        seen += ids
    assert len(seen) == len(set(seen)) == expected, "a row missing or repeated across pages"
    return seen


def _members(session, group) -> list[int]:
    return list(session.scalars(select(Membership.user_id).where(Membership.group_id == group.id)))


def test_members_list_pages_cover_everyone_once_in_name_order(client, session, signed_in):
    everyone = _members(session, signed_in["group"])
    seen = _all_pages(client, "/members/", MEMBER_ROW, PER_PAGE, len(everyone))
    assert set(seen) == set(everyone)
    names = {u.id: u for u in session.scalars(select(User).where(User.id.in_(seen)))}
    keys = [(names[i].last_name.lower(), names[i].first_name.lower()) for i in seen]
    assert keys == sorted(keys)
    assert seen == _all_pages(client, "/members/", MEMBER_ROW, PER_PAGE, len(everyone))
    first = client.get("/members/").get_data(as_text=True)
    assert f"{len(everyone)} " in re.search(r'<h2 id="members-list">([^<]*)<', first).group(1)


def test_balances_pages_cover_everyone_and_totals_cover_all_pages(client, session, signed_in):
    group = signed_in["group"]
    everyone = _members(session, group)
    seen = _all_pages(client, "/members/balances", BALANCE_ROW, PER_PAGE, len(everyone))
    assert set(seen) == set(everyone)
    text = client.get("/members/balances?format=csv&codes=1").text.lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert len(rows) == len(everyone) + 1, "the CSV is not paginated"
    confirmed = sum(
        session.scalars(
            select(LedgerEntry.amount_cents).where(
                LedgerEntry.group_id == group.id, LedgerEntry.pending.is_(False)
            )
        )
    )
    in_csv = sum(_cents(r[2]) for r in rows[1:])
    assert in_csv == confirmed
    for number in (1, 3):
        summary = client.get(f"/members/balances?page={number}").get_data(as_text=True)
        shown = re.search(r'id="balances-summary">.*?<strong>([^<]*)</strong>', summary).group(1)
        assert _cents(shown) == confirmed
    # Any member is found by a search, whichever page they are on, and their account page
    # carries the form to record a payment (the page no longer lists every member in a menu).
    last = session.get(User, seen[-1])
    found = client.get("/members/balances", query_string={"q": last.email.upper()}).text
    assert re.findall(BALANCE_ROW, found) == [str(last.id)]
    assert "<option" not in client.get("/members/balances").text
    account = client.get(f"/members/{last.id}/history").text
    assert f'name="user_id" value="{last.id}"' in account


def _cents(text: str) -> int:
    digits = int(re.sub(r"\D", "", text) or 0)
    return -digits if re.search(r"[-−]", text) else digits


def _running(client, path: str) -> dict[int, int]:
    html = client.get(path).get_data(as_text=True)
    rows = re.findall(
        r'<tr id="entry-(\d+)">.*?data-label="[^"]*">[^<]*</td><td class="num" '
        r'data-label="[^"]*">([^<]*)</td></tr>',
        html,
        re.S,
    )
    return {int(i): _cents(balance) for i, balance in rows}


def _expected_running(session, group, member) -> tuple[list[int], dict[int, int]]:
    entries = session.execute(
        select(LedgerEntry.id, LedgerEntry.amount_cents)
        .where(LedgerEntry.group_id == group.id, LedgerEntry.user_id == member.id)
        .order_by(LedgerEntry.created_at, LedgerEntry.id)
    ).all()
    running, after = 0, {}
    for entry_id, amount in entries:
        running += amount
        after[entry_id] = running
    return [e for e, _ in entries][::-1], after


@pytest.mark.parametrize("who", ["coordinator", "member"])
def test_history_pages_keep_the_running_balance_of_the_whole_history(
    client, auth, session, signed_in, who
):
    group, member = signed_in["group"], signed_in["member"]
    if who == "member":
        auth.logout()
        auth.login(member.email)
        with client.session_transaction() as s:
            s["group_id"] = group.id
        path = "/account/history"
    else:
        path = f"/members/{member.id}/history"
    newest_first, after = _expected_running(session, group, member)
    seen = _all_pages(client, path, ENTRY_ROW, PER_PAGE, ENTRIES)
    assert seen == newest_first
    shown: dict[int, int] = {}
    for number in (1, 2, 3):
        shown.update(_running(client, f"{path}?page={number}"))
    assert shown == after


def test_inbox_and_sent_pages_show_each_message_once_newest_first(client, session, signed_in):
    group = signed_in["group"]
    newest_first = list(
        session.scalars(
            select(Message.id)
            .where(Message.group_id == group.id)
            .order_by(Message.created_at.desc(), Message.id.desc())
        )
    )
    assert _all_pages(client, "/messages/", INBOX_ROW, PER_PAGE, MESSAGES) == newest_first
    assert _all_pages(client, "/messages/sent", SENT_ROW, PER_PAGE, MESSAGES) == newest_first


def test_distributions_coming_first_then_past_pages(client, session, signed_in, now):
    group = signed_in["group"]
    every = session.scalars(select(Distribution).where(Distribution.group_id == group.id)).all()
    seen = _all_pages(client, "/distributions/", CARD, CARDS_PER_PAGE, len(every))
    by_id = {d.id: d for d in every}
    coming = [by_id[i] for i in seen if by_id[i].ends_at >= now]
    past = [by_id[i] for i in seen if by_id[i].ends_at < now]
    assert seen == [d.id for d in coming + past], "coming ones come first"
    assert [d.starts_at for d in coming] == sorted(d.starts_at for d in coming)
    assert [d.starts_at for d in past] == sorted((d.starts_at for d in past), reverse=True)
    first = client.get("/distributions/").get_data(as_text=True)
    assert 'id="coming-title"' in first and 'id="past-title"' in first
    last = client.get("/distributions/?page=3").get_data(as_text=True)
    assert 'id="coming-title"' not in last and 'id="past-title"' in last


LISTS = [
    ("/members/", MEMBER_ROW),
    ("/members/balances", BALANCE_ROW),
    ("/account/history", ENTRY_ROW),
    ("/messages/", INBOX_ROW),
    ("/messages/sent", SENT_ROW),
    ("/distributions/", CARD),
]


@pytest.mark.parametrize("value", BAD_PAGES)
def test_any_page_value_answers_without_an_error(client, signed_in, value):
    for path, pattern in LISTS:
        response = client.get(path, query_string={"page": value})
        assert response.status_code == 200, (path, value, response.status_code)
        assert re.findall(pattern, response.get_data(as_text=True)) or path == "/account/history"


def test_a_page_past_the_end_shows_the_last_one(client, signed_in):
    last = _ids(client, "/members/?page=3", MEMBER_ROW)
    assert _ids(client, "/members/?page=999", MEMBER_ROW) == last
    assert _ids(client, "/members/?page=99999999999999999999", MEMBER_ROW) == _ids(
        client, "/members/", MEMBER_ROW
    )


def test_pager_links_keep_the_other_parameters(client, signed_in):
    html = client.get(f"/members/{signed_in['member'].id}/history?page=2&x=y").text
    prev = re.search(r'<a href="([^"]+)" rel="prev"', html).group(1).replace("&amp;", "&")
    nxt = re.search(r'<a href="([^"]+)" rel="next"', html).group(1).replace("&amp;", "&")
    assert "x=y" in prev and "page=" not in prev  # page 1 is the list's own address
    assert "x=y" in nxt and "page=3" in nxt
    assert nxt.endswith("#history-list")
    assert re.search(r'aria-current="page">[^<]*2[^<]*3<', html), "page 2 of 3"


@pytest.mark.parametrize(
    "query",
    ["page=2&_anchor=x", "page=2&endpoint=x", "page=2&_method=GET", "page=2&user_id=x&_external=1"],
)
def test_odd_parameter_names_are_kept_as_text_never_a_500(client, signed_in, query):
    html = client.get(f"/members/{signed_in['member'].id}/history?{query}")
    assert html.status_code == 200
    nxt = re.search(r'<a href="([^"]+)" rel="next"', html.text).group(1).replace("&amp;", "&")
    assert nxt.startswith(f"/members/{signed_in['member'].id}/history?")
    assert query.split("&", 1)[1] in nxt and "page=3" in nxt


def test_the_members_page_answered_by_a_post_pages_to_the_list_itself(client, post, signed_in):
    """An invitation sent from page 1 answers with the members page: its "next" link is the
    list's own address, not the form's (a GET there would be refused)."""
    response = post("/members/invite", {"email": "new@example.test", "role": "member"})
    assert response.status_code == 201
    nxt = re.search(r'<a href="([^"]+)" rel="next"', response.text).group(1)
    assert nxt.startswith("/members/?page=2")
    assert client.get(nxt.replace("&amp;", "&")).status_code == 200


def test_a_short_list_has_no_pager(client, auth, session, now):
    group = factories.group(session, now=now)
    coordinator = factories.user(session, now=now, group=group, role="coordinator")
    auth.login(coordinator.email)
    with client.session_transaction() as s:
        s["group_id"] = group.id
    for path, _pattern in LISTS:
        assert 'class="pager"' not in client.get(path).text, path


@pytest.mark.parametrize(
    ("text", "number"),
    [(None, 1), ("", 1), ("0", 1), ("-1", 1), ("abc", 1), ("²", 1), ("٣", 1), ("7", 7)]
    + [("99999999999999999999", 1), (" 3 ", 3), ("1e3", 1)],
)
def test_page_number_reads_only_ascii_digits(text, number):
    assert page_number(text) == number
