"""The period-locks page: admins only; lock, refuse, unlock with a reason; the history shows it all."""

from __future__ import annotations

import pytest
from django.urls import reverse

from scorecard.models import PeriodLock
from scorecard.services import period_lock

pytest_plugins = ["tests.conftest_personas"]

URL = reverse("period_locks")


@pytest.mark.parametrize("persona", ["manager", "rep", "viewer"])
def test_only_admins_open_the_page(login, persona):
    assert login(persona).get(URL).status_code == 403


def test_anonymous_visitors_are_sent_to_the_login_page(client, world):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_an_admin_locks_a_closed_period_and_sees_it_in_the_list_and_the_history(world, login):
    client = login("admin")
    response = client.post(
        URL, {"action": "lock", "period": "2024-Q1", "reason": "Books closed"}, follow=True
    )
    assert response.status_code == 200
    lock = PeriodLock.objects.get(org=world.org)
    assert (lock.period, lock.locked_by) == ("2024-Q1", world.users["admin"])
    page = response.content.decode()
    assert "2024-Q1 is locked: its deals, targets and measurements are frozen." in page
    assert "Reason for unlocking 2024-Q1" in page
    assert "Locked 2024-Q1" in page and "Books closed" in page


def test_a_bad_key_an_open_period_and_a_covered_period_are_refused_beside_the_field(world, login):
    client = login("admin")
    period_lock(org=world.org, period="2024", user=world.users["admin"])
    for key, message in [
        ("2024-Q9", "invalid period key"),
        ("2999-01", "has not ended yet"),
        ("2024-03", "already locked by the lock on 2024"),
    ]:
        response = client.post(URL, {"action": "lock", "period": key})
        assert response.status_code == 400
        assert message in response.content.decode()
        assert 'aria-invalid="true"' in response.content.decode()
    assert PeriodLock.objects.filter(org=world.org).count() == 1


def test_unlocking_needs_a_reason_and_records_it(world, login):
    client = login("admin")
    lock = period_lock(org=world.org, period="2024-Q1", user=world.users["admin"])
    response = client.post(URL, {"action": "unlock", "lock": lock.pk, "reason": ""})
    assert response.status_code == 400 and "Say why the period is unlocked" in response.content.decode()
    assert PeriodLock.objects.filter(pk=lock.pk).exists()
    response = client.post(
        URL, {"action": "unlock", "lock": lock.pk, "reason": "Credit note for March"}, follow=True
    )
    assert not PeriodLock.objects.filter(pk=lock.pk).exists()
    page = response.content.decode()
    assert "Unlocked 2024-Q1" in page and "Credit note for March" in page and "Ada Admin" in page


def test_another_organisations_lock_cannot_be_lifted_or_seen(world, login):
    other = period_lock(org=world.other_org, period="2023", user=world.users["outsider"])
    client = login("admin")
    assert "2023" not in client.get(URL).content.decode().split("<main", 1)[1].split("closed-periods", 1)[0]
    assert client.post(URL, {"action": "unlock", "lock": other.pk, "reason": "mine now"}).status_code == 404
    assert PeriodLock.objects.filter(pk=other.pk).exists()


def test_the_page_reads_a_constant_number_of_queries(world, login, django_assert_max_num_queries):
    client = login("admin")
    for key in ("2023", "2024-Q1", "2024-05", "2022-Q3"):
        period_lock(org=world.org, period=key, user=world.users["admin"])
    with django_assert_max_num_queries(10):
        assert client.get(URL).status_code == 200


def test_the_manage_index_links_the_admin_pages_and_is_for_admins_only(login):
    page = login("admin").get(reverse("manage")).content.decode()
    assert reverse("period_locks") in page and reverse("data_quality") in page
    for name in ("manage_territories", "manage_reps", "manage_users", "manage_products", "manage_settings"):
        assert reverse(name) in page
    assert login("manager").get(reverse("manage")).status_code == 403
