"""The deal form's account picker: the account search (/sales/accounts/search/) answers a few of the
organisation's accounts containing the typed text, prefix matches first, to whoever may enter deals;
the form carries the chosen account's name and id, never a list of every account, so its size and its
queries do not grow with the organisation's accounts; the posted id is checked against the
organisation's accounts, an emptied box means no account, and a typed name nobody picked counts when
exactly one account has it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sales.forms import OpportunityForm
from sales.models import Account, Opportunity, Stage
from sales.selectors import ACCOUNT_MATCHES
from scorecard.models import Membership

pytest_plugins = ["tests.conftest_personas"]

SEARCH = reverse("sales:account_search")
CREATE = reverse("sales:opportunity_create")
LIST = reverse("sales:opportunity_list")
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_CURRENT_URL": f"http://testserver{LIST}"}


def edit_url(deal: Opportunity) -> str:
    return reverse("sales:opportunity_edit", args=[deal.pk])


def account(org, name: str, **fields) -> Account:
    return Account.objects.create(org=org, external_id=fields.pop("external_id", name), name=name, **fields)


def names(response) -> list[str]:
    assert response.status_code == 200
    return [row["name"] for row in response.json()["results"]]


def deal_post(deal: Opportunity, **changes) -> dict:
    """What the browser posts for ``deal`` unchanged, with ``changes``."""
    data = {
        "external_id": deal.external_id,
        "stage": deal.stage,
        "close_date": deal.close_date.isoformat() if deal.close_date else "",
        "channel": deal.channel,
        "poc": deal.poc,
        "account": str(deal.account_id or ""),
        "account_name": deal.account.name if deal.account else "",
    }
    data.update(changes)
    return data


# --- the search -------------------------------------------------------------------------------------


def test_the_search_finds_names_containing_the_text_in_any_case_prefix_matches_first(world, login):
    for name in ("Nordbank", "Fjord Bank", "Other Co", "Bankhaus Nord", "Ebank Ltd", "bankers Trust"):
        account(world.org, name)
    client = login("rep")
    expected = ["bankers Trust", "Bankhaus Nord", "Fjord Bank", "Ebank Ltd", "Nordbank"]
    assert names(client.get(SEARCH, {"q": "bank"})) == expected  # prefix, word start, anywhere
    assert names(client.get(SEARCH, {"q": "  BANK "})) == expected
    assert names(client.get(SEARCH, {"q": "zzz"})) == []


def test_the_search_answers_each_account_with_its_id_and_details(world, login):
    fjord = account(world.org, "Fjord Bank", sector="Banking", country="Norway")
    account(world.org, "Fjord Fisheries")
    results = login("rep").get(SEARCH, {"q": "fjord"}).json()["results"]
    assert results == [
        {"id": fjord.pk, "name": "Fjord Bank", "detail": "Banking · Norway"},
        {"id": results[1]["id"], "name": "Fjord Fisheries", "detail": ""},
    ]


def test_the_search_answers_at_most_twenty_accounts(world, login):
    Account.objects.bulk_create(
        Account(org=world.org, external_id=f"A-{i}", name=f"Acct {i:02}") for i in range(30)
    )
    found = names(login("rep").get(SEARCH, {"q": "acct"}))
    assert ACCOUNT_MATCHES == 20
    assert found == [f"Acct {i:02}" for i in range(20)]


def test_no_text_finds_nothing_rather_than_every_account(world, login):
    account(world.org, "Fjord Bank")
    client = login("rep")
    assert names(client.get(SEARCH)) == []
    assert names(client.get(SEARCH, {"q": "   "})) == []


def test_the_search_never_shows_another_organisations_accounts(world, login):
    account(world.org, "Fjord Bank")
    account(world.other_org, "Fjord Globex")
    assert names(login("rep").get(SEARCH, {"q": "fjord"})) == ["Fjord Bank"]
    assert names(login("outsider").get(SEARCH, {"q": "fjord"})) == ["Fjord Globex"]


@pytest.mark.parametrize("persona", ["admin", "manager", "rep"])
def test_whoever_enters_deals_may_search(world, login, persona):
    account(world.org, "Fjord Bank")
    assert names(login(persona).get(SEARCH, {"q": "fj"})) == ["Fjord Bank"]


def test_a_viewer_may_not_search_and_anonymous_visitors_are_sent_to_log_in(world, login, client):
    assert client.get(SEARCH, {"q": "a"}).status_code == 302
    assert client.get(SEARCH, {"q": "a"})["Location"].startswith("/accounts/login/")
    assert login("viewer").get(SEARCH, {"q": "a"}).status_code == 403


def test_the_search_reads_a_constant_number_of_queries(world, login, django_assert_max_num_queries):
    Account.objects.bulk_create(
        Account(org=world.org, external_id=f"A-{i}", name=f"Acct {i:04}") for i in range(500)
    )
    client = login("rep")
    with django_assert_max_num_queries(8):
        assert len(names(client.get(SEARCH, {"q": "acct"}))) == 20


# --- the form -------------------------------------------------------------------------------------


def test_the_deal_form_lists_no_accounts_and_does_not_grow_with_them(
    world, login, django_assert_max_num_queries
):
    deal = world.opportunities["nora"]
    deal.account = account(world.org, "Fjord Bank")
    deal.save()
    client = login("rep")
    requests = [(url, headers) for url in (CREATE, edit_url(deal)) for headers in ({}, HTMX)]
    before = [len(client.get(url, **headers).content) for url, headers in requests]
    Account.objects.bulk_create(
        Account(org=world.org, external_id=f"BULK-{i}", name=f"Bulk Account {i:04}") for i in range(2000)
    )
    after = []
    for url, headers in requests:
        with django_assert_max_num_queries(20):
            response = client.get(url, **headers)
        body = response.content.decode()
        assert response.status_code == 200
        assert "Bulk Account" not in body and "<option" not in body.split('name="account_name"')[1][:600]
        after.append(len(response.content))
    assert after == before  # byte for byte the same size with 2,000 more accounts


def test_the_picker_is_a_labelled_combobox_showing_the_current_account(world, login):
    fjord = account(world.org, "Fjord <Bank>")
    deal = world.opportunities["nora"]
    deal.account = fjord
    deal.save()
    body = login("rep").get(edit_url(deal)).content.decode()
    assert '<label for="id_account">Account</label>' in body
    assert 'role="combobox"' in body and 'aria-expanded="false"' in body
    assert 'aria-controls="id_account_listbox"' in body and 'id="id_account_listbox" role="listbox"' in body
    assert 'name="account_name" value="Fjord &lt;Bank&gt;"' in body
    assert f'name="account" value="{fjord.pk}"' in body
    assert 'id="id_account"' in body and 'aria-describedby="id_account_helptext"' in body
    assert "/static/js/account_picker.js" in body


def test_a_new_deal_starts_with_an_empty_picker_and_the_list_page_loads_its_script(world, login):
    client = login("rep")
    body = client.get(CREATE).content.decode()
    assert 'name="account_name" value=""' in body and 'name="account" value=""' in body
    assert "/static/js/account_picker.js" in client.get(LIST).content.decode()


def test_a_picked_account_is_saved(world, login):
    deal = world.opportunities["nora"]
    fjord = account(world.org, "Fjord Bank")
    response = login("rep").post(edit_url(deal), deal_post(deal, account=fjord.pk, account_name="Fjord Bank"))
    assert response.status_code == 302
    deal.refresh_from_db()
    assert deal.account == fjord


def test_an_emptied_box_means_no_account(world, login):
    deal = world.opportunities["nora"]
    deal.account = account(world.org, "Fjord Bank")
    deal.save()
    # The browser leaves the hidden id as it was without JavaScript: the empty box decides.
    response = login("rep").post(edit_url(deal), deal_post(deal, account_name=""))
    assert response.status_code == 302
    deal.refresh_from_db()
    assert deal.account is None


def test_a_client_posting_the_id_alone_keeps_working(world, login):
    deal = world.opportunities["nora"]
    fjord = account(world.org, "Fjord Bank")
    data = deal_post(deal, account=fjord.pk)
    del data["account_name"]
    assert login("rep").post(edit_url(deal), data).status_code == 302
    deal.refresh_from_db()
    assert deal.account == fjord


@pytest.mark.parametrize("typed", [None, "Fjord Globex", "Fjord Bank"])
def test_another_organisations_account_id_is_a_form_error(world, login, typed):
    """Refused whatever the text box says, even the name of an own account: no browser posts that."""
    deal = world.opportunities["nora"]
    account(world.org, "Fjord Bank")
    foreign = account(world.other_org, "Fjord Globex")
    data = deal_post(deal, account=foreign.pk, account_name=typed)
    if typed is None:
        del data["account_name"]
    response = login("rep").post(edit_url(deal), data)
    error = response.content.decode().split('id="id_account_error"')[1].split("</p>")[0]
    assert response.status_code == 400
    assert "Choose an account of your organisation from the list." in error
    deal.refresh_from_db()
    assert deal.account is None


def test_a_typed_name_nobody_picked_counts_when_exactly_one_account_has_it(world, login):
    deal = world.opportunities["nora"]
    fjord = account(world.org, "Fjord Bank")
    response = login("rep").post(edit_url(deal), deal_post(deal, account="", account_name=" fjord bank "))
    assert response.status_code == 302
    deal.refresh_from_db()
    assert deal.account == fjord


def test_a_typed_name_replaces_a_stale_id(world, login):
    """Without JavaScript the hidden id stays when the name is retyped: the name decides."""
    deal = world.opportunities["nora"]
    deal.account = account(world.org, "Fjord Bank")
    deal.save()
    other = account(world.org, "Other Co")
    response = login("rep").post(edit_url(deal), deal_post(deal, account_name="Other Co"))
    assert response.status_code == 302
    deal.refresh_from_db()
    assert deal.account == other


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("Fjord", "No account is named “Fjord”: type part of its name and pick it from the list."),
        ("Twin Co", "Several accounts are named “Twin Co”: pick the one you mean from the list."),
        ("<b>x</b>", "No account is named “&lt;b&gt;x&lt;/b&gt;”"),
    ],
)
def test_a_typed_name_that_is_no_single_account_is_refused_and_kept_in_the_box(world, login, typed, message):
    deal = world.opportunities["nora"]
    account(world.org, "Fjord Bank")
    account(world.org, "Twin Co", external_id="T-1")
    account(world.org, "Twin Co", external_id="T-2")
    response = login("rep").post(edit_url(deal), deal_post(deal, account="", account_name=typed), **HTMX)
    body = response.content.decode()
    assert response.status_code == 400
    assert message in body.split('id="id_account_error"')[1]
    assert 'aria-invalid="true"' in body.split('name="account_name"')[1].split(">")[0]
    assert "autofocus" in body.split('name="account_name"')[1].split(">")[0]
    assert Opportunity.objects.get(pk=deal.pk).account is None


def test_a_new_deal_is_added_with_a_picked_account(world, login):
    fjord = account(world.org, "Fjord Bank")
    data = {"stage": Stage.PROSPECTING, "channel": "direct", "poc": "none"}
    response = login("rep").post(CREATE, {**data, "account": fjord.pk, "account_name": "Fjord Bank"})
    assert response.status_code == 302
    assert Opportunity.objects.get(org=world.org, account=fjord).rep == world.reps["nora"]


def test_the_form_reports_the_account_changed_only_when_another_one_is_picked(world):
    membership = Membership.objects.get(user=world.users["rep"], org=world.org)
    deal = world.opportunities["nora"]
    deal.account = account(world.org, "Fjord Bank")
    deal.save()
    other = account(world.org, "Other Co")
    for changes, changed in [
        ({}, False),
        ({"account_name": "FJORD BANK"}, False),
        ({"account": other.pk, "account_name": "Other Co"}, True),
        ({"account_name": ""}, True),
        ({"account_name": "Nobody Ltd"}, True),
    ]:
        form = OpportunityForm(deal_post(deal, **changes), instance=deal, membership=membership)
        assert ("account" in form.changed_data) is changed, changes
