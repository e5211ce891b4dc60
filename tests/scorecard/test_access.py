"""scorecard.access: who may see which object, and whether they may change it.

Every "can" is paired with a "cannot": another organisation's object and an object outside the scope
are both 404 (their existence is not confirmed), and the write flag follows the role.
"""

from __future__ import annotations

import pytest
from django.http import Http404

from scorecard import access

pytest_plugins = ["tests.conftest_personas"]

# (persona, territory key, expected write flag or None for 404)
TERRITORY_CASES = [
    ("admin", "iberia", True),
    ("admin", "globex_hq", None),
    ("viewer", "madrid", False),
    ("viewer", "globex_hq", None),
    ("manager", "nordics", False),
    ("manager", "stockholm", False),
    ("manager", "iberia", None),
    ("manager", "madrid", None),
    ("manager", "root", None),
    ("rep", "stockholm", False),
    ("rep", "nordics", None),
    ("rep", "madrid", None),
    ("outsider", "globex_hq", True),
    ("outsider", "root", None),
]


@pytest.mark.parametrize(("persona", "key", "write"), TERRITORY_CASES)
def test_get_territory_for_scope_and_write_flag(world, persona, key, write):
    request = world.request(persona)
    territory = world.territories[key]
    if write is None:
        with pytest.raises(Http404):
            access.get_territory_for(request, territory.pk)
    else:
        assert access.get_territory_for(request, territory.pk) == (territory, write)


REP_CASES = [
    ("admin", "sergio", True),
    ("admin", "gus", None),
    ("viewer", "sergio", False),
    ("viewer", "gus", None),
    ("manager", "nora", False),
    ("manager", "sergio", None),
    ("rep", "nora", True),
    ("rep", "sergio", None),
    ("other_rep", "sergio", True),
    ("other_rep", "nora", None),
    ("outsider", "gus", True),
    ("outsider", "nora", None),
]


@pytest.mark.parametrize(("persona", "key", "write"), REP_CASES)
def test_get_rep_for_scope_and_write_flag(world, persona, key, write):
    request = world.request(persona)
    rep = world.reps[key]
    if write is None:
        with pytest.raises(Http404):
            access.get_rep_for(request, rep.pk)
    else:
        assert access.get_rep_for(request, rep.pk) == (rep, write)


OPPORTUNITY_CASES = [
    ("admin", "sergio", True),
    ("admin", "gus", None),
    ("viewer", "sergio", False),
    ("viewer", "gus", None),
    ("manager", "nora", True),
    ("manager", "sergio", None),
    ("rep", "nora", True),
    ("rep", "sergio", None),
    ("rep", "gus", None),
    ("outsider", "gus", True),
    ("outsider", "sergio", None),
]


@pytest.mark.parametrize(("persona", "key", "write"), OPPORTUNITY_CASES)
def test_get_opportunity_for_scope_and_write_flag(world, persona, key, write):
    request = world.request(persona)
    opportunity = world.opportunities[key]
    if write is None:
        with pytest.raises(Http404):
            access.get_opportunity_for(request, opportunity.pk)
    else:
        assert access.get_opportunity_for(request, opportunity.pk) == (opportunity, write)


def test_a_rep_may_see_a_deal_they_identified_but_not_change_it(world):
    deal = world.opportunities["sergio"]
    deal.identified_by = world.reps["nora"]
    deal.save()
    assert access.get_opportunity_for(world.request("rep"), deal.pk) == (deal, False)
    with pytest.raises(Http404):
        access.get_opportunity_for(world.request("manager"), deal.pk)


# (persona, rep whose record it is, expected write flag or None for 404): certifications and programme
# participation follow the deals' rule — own for a rep, the subtree's for a manager, read-only for a viewer.
REP_RECORD_CASES = [
    ("admin", "sergio", True),
    ("admin", "gus", None),
    ("viewer", "sergio", False),
    ("viewer", "gus", None),
    ("manager", "nora", True),
    ("manager", "sergio", None),
    ("rep", "nora", True),
    ("rep", "sergio", None),
    ("other_rep", "sergio", True),
    ("outsider", "gus", True),
    ("outsider", "nora", None),
]


@pytest.fixture
def rep_records(world):
    from datetime import date

    from people.models import Certification, CertificationType, Program, ProgramParticipation

    records = {}
    for key, rep in world.reps.items():
        kind = CertificationType.objects.create(org=rep.org, name=f"Cert {key}", category="product")
        programme = Program.objects.create(org=rep.org, name=f"Programme {key}", kind="education")
        records[key] = (
            Certification.objects.create(org=rep.org, rep=rep, type=kind, earned=date(2024, 1, 1)),
            ProgramParticipation.objects.create(
                org=rep.org, rep=rep, program=programme, start=date(2024, 1, 1)
            ),
        )
    return records


@pytest.mark.parametrize(("persona", "key", "write"), REP_RECORD_CASES)
def test_certifications_and_participations_scope_and_write_flag(world, rep_records, persona, key, write):
    request = world.request(persona)
    certification, participation = rep_records[key]
    for lookup, record in (
        (access.get_certification_for, certification),
        (access.get_participation_for, participation),
    ):
        if write is None:
            with pytest.raises(Http404):
                lookup(request, record.pk)
        else:
            assert lookup(request, record.pk) == (record, write)


@pytest.mark.parametrize(
    ("persona", "names"),
    [
        ("admin", {"Nora Nordin", "Sergio Sanz"}),
        ("manager", {"Nora Nordin"}),
        ("rep", {"Nora Nordin"}),
        ("viewer", set()),
        ("outsider", {"Gustav Globex"}),
    ],
)
def test_entry_reps_are_those_whose_records_the_membership_may_enter(world, persona, names):
    membership = access.require_membership(world.request(persona))
    assert set(access.entry_reps(membership).values_list("name", flat=True)) == names


@pytest.mark.parametrize("pk", ["abc", "", None, "1; DROP TABLE", 10**12])
def test_malformed_or_unknown_ids_are_404(world, pk):
    request = world.request("admin")
    for lookup in (
        access.get_territory_for,
        access.get_rep_for,
        access.get_opportunity_for,
        access.get_certification_for,
        access.get_participation_for,
    ):
        with pytest.raises(Http404):
            lookup(request, pk)


def test_user_without_membership_gets_404_for_every_object(world):
    request = world.request("nobody")
    with pytest.raises(Http404):
        access.get_territory_for(request, world.territories["root"].pk)
    with pytest.raises(Http404):
        access.get_rep_for(request, world.reps["nora"].pk)
    with pytest.raises(Http404):
        access.get_opportunity_for(request, world.opportunities["nora"].pk)
    with pytest.raises(Http404):
        access.get_org_for(request)


@pytest.mark.parametrize(
    ("persona", "write"), [("admin", True), ("viewer", False), ("manager", False), ("rep", False)]
)
def test_get_org_for_gives_write_only_to_admins(world, persona, write):
    assert access.get_org_for(world.request(persona)) == (world.org, write)


@pytest.mark.parametrize(
    ("persona", "key", "allowed"),
    [
        ("admin", "madrid", True),
        ("admin", "globex_hq", False),
        ("manager", "stockholm", True),
        ("manager", "nordics", True),
        ("manager", "iberia", False),
        ("manager", "root", False),
        ("viewer", "stockholm", False),
        ("rep", "stockholm", False),
    ],
)
def test_may_manage_territory(world, persona, key, allowed):
    membership = access.current_membership(world.request(persona))
    assert access.may_manage_territory(membership, world.territories[key]) is allowed


@pytest.mark.parametrize(
    ("persona", "key", "sees"),
    [
        ("manager", "nora", True),
        ("manager", "sergio", False),
        ("manager", "gus", False),
        ("rep", "nora", True),
        ("rep", "sergio", False),
        ("viewer", "sergio", True),
        ("viewer", "gus", False),
    ],
)
def test_sees_rep(world, persona, key, sees):
    membership = access.current_membership(world.request(persona))
    assert access.sees_rep(membership, world.reps[key]) is sees


def test_sees_rep_is_free_for_a_rep_just_fetched_and_asked_once_per_request(world, django_assert_num_queries):
    request = world.request("manager")
    rep, _ = access.get_rep_for(request, world.reps["nora"].pk)
    membership = access.current_membership(request)
    with django_assert_num_queries(0):
        assert access.sees_rep(membership, rep)
    with django_assert_num_queries(1):
        assert not access.sees_rep(membership, world.reps["sergio"])
        assert not access.sees_rep(membership, world.reps["sergio"])


def test_visible_querysets_of_manager_stop_at_the_subtree(world):
    membership = access.current_membership(world.request("manager"))
    assert {t.name for t in access.visible_territories(membership)} == {"Nordics", "Stockholm"}
    assert list(access.visible_reps(membership)) == [world.reps["nora"]]
    assert set(access.visible_opportunities(membership).values_list("external_id", flat=True)) == {
        "NORA-0",
        "NORA-1",
    }


def test_visible_querysets_of_rep_are_own_records(world):
    membership = access.current_membership(world.request("rep"))
    assert [t.name for t in access.visible_territories(membership)] == ["Stockholm"]
    assert list(access.visible_reps(membership)) == [world.reps["nora"]]
    assert access.visible_opportunities(membership).count() == 2


def test_switch_org_to_a_membership_is_remembered(world):
    from scorecard.models import Membership, Role

    Membership.objects.create(user=world.users["admin"], org=world.other_org, role=Role.VIEWER)
    request = world.request("admin")
    assert access.current_membership(request).org == world.org  # alphabetical first: Acme
    access.switch_org(request, world.other_org.pk)
    request.user._memberships_cache = None
    assert access.current_membership(request).org == world.other_org
    assert access.get_org_for(request) == (world.other_org, False)


def test_switch_org_to_a_foreign_organisation_is_404(world):
    request = world.request("manager")
    with pytest.raises(Http404):
        access.switch_org(request, world.other_org.pk)
    assert access.current_membership(request).org == world.org
