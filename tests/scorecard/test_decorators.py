"""@membership_required: the one check every member-only view goes through."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import URLResolver, get_resolver, reverse

from scorecard.access import SESSION_ORG_KEY
from scorecard.decorators import MembershipRequest, membership_required
from scorecard.models import Membership, Role

pytest_plugins = ["tests.conftest_personas"]

seen: list[MembershipRequest] = []


@membership_required
def probe(request: MembershipRequest, pk: int) -> HttpResponse:
    seen.append(request)
    return HttpResponse(f"{request.membership.org.slug} {pk}")


def test_anonymous_is_sent_to_login_with_the_page_to_come_back_to(db):
    request = RequestFactory().get("/somewhere/?period=2024")
    request.user = AnonymousUser()
    response = probe(request, pk=1)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next=/somewhere/%3Fperiod%3D2024"


def test_user_without_membership_gets_the_no_membership_page_and_the_view_does_not_run(world):
    seen.clear()
    response = probe(world.request("nobody"), pk=1)
    assert response.status_code == 403
    assert "not a member of any organisation" in response.content.decode()
    assert seen == []


def test_member_reaches_the_view_with_the_membership_on_the_request(world):
    seen.clear()
    response = probe(world.request("manager"), pk=7)
    assert response.content.decode() == "acme-test 7"
    assert seen[0].membership == Membership.objects.get(user=world.users["manager"])


def test_membership_is_the_organisation_chosen_in_the_session(world):
    Membership.objects.create(user=world.users["viewer"], org=world.other_org, role=Role.VIEWER)
    request = world.request("viewer")
    request.session[SESSION_ORG_KEY] = world.other_org.pk
    assert probe(request, pk=1).content.decode() == "globex-test 1"
    request = world.request("viewer")
    request.session[SESSION_ORG_KEY] = world.org.pk
    assert probe(request, pk=1).content.decode() == "acme-test 1"


def _views(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _views(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern.callback


PUBLIC_OR_OWN_GATE = {
    "accounts/login/",
    "accounts/logout/",
    "accounts/reset/<uidb64>/<token>/",  # an invitation's set-password link: the token is the gate
    "accounts/reset/done/",
    "healthz",
    "readyz",
    "org/switch/",
    "accounts/two-factor/",  # login_required: the second sign-in step itself
    "accounts/two-factor/setup/",  # login_required: enrol (sends to the second step when one is owed)
    "org/new/",  # login_required: a person without an organisation starts one (views.may_create_organization)
}


def test_every_page_of_the_apps_goes_through_the_decorator():
    """The project's own pages need a membership unless listed as public (or, like the switcher, gated
    by their own rule); the Django admin and the API have their own gates."""
    undecorated = [
        route
        for route, view in _views(get_resolver().url_patterns)
        if not route.startswith(("admin/", "api/"))
        and route not in PUBLIC_OR_OWN_GATE
        and not getattr(view, "membership_required", False)
    ]
    assert undecorated == []
