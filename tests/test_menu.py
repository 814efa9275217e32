"""The menu shows each person the way to what they may do."""

from sqlalchemy import select

from webapp.models import CatalogueManager, Membership, Producer

from . import factories


def test_managers_and_producers_find_their_pages_in_the_menu(client, auth, session, now):
    group = factories.group(session, now=now)
    manager = factories.user(session, now=now, group=group, email="ref@example.test")
    farmer = factories.user(session, now=now, group=group, email="farm@example.test")
    factories.user(session, now=now, group=group, email="plain@example.test")
    catalogue = factories.catalogue(session, group=group)
    membership = session.scalar(select(Membership).where(Membership.user_id == manager.id))
    session.add(CatalogueManager(membership_id=membership.id, catalogue_id=catalogue.id))
    session.get(Producer, catalogue.producer_id).user_id = farmer.id
    session.commit()
    pages = {}
    for email in ("ref@example.test", "farm@example.test", "plain@example.test"):
        auth.login(email)
        pages[email] = client.get("/").get_data(as_text=True)
        auth.logout()
    assert 'href="/catalogues/"' in pages["ref@example.test"]
    assert 'href="/producer/"' in pages["farm@example.test"]
    assert 'href="/producer/"' not in pages["plain@example.test"]
    assert 'href="/catalogues/"' not in pages["plain@example.test"]
