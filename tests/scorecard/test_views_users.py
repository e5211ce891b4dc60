"""/manage/users/: admins invite members by a set-password link, change their role and scope, deactivate
and reactivate them; an admin cannot lock themselves or the organisation out; the history says who did
what and why; another organisation's members are 404."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from scorecard import access
from scorecard.models import Membership, Role
from scorecard.services import membership_deactivate, membership_update
from tests.factories import MembershipFactory, UserFactory
from tests.form_helpers import XSS, XSS_ESCAPED, error_beside

pytest_plugins = ["tests.conftest_personas"]

LIST = reverse("manage_users")


def _membership(world, persona: str) -> Membership:
    return Membership.objects.get(user=world.users[persona], org=world.org)


@pytest.fixture
def invite(django_capture_on_commit_callbacks):
    """``invite(client, email=..., role=...)`` posts the invitation form; the mail goes out once the
    request's transaction commits, as in production."""

    def post(client, **fields):
        data = {"invite-role": "viewer", **{f"invite-{k}": v for k, v in fields.items()}}
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(LIST, data)

    return post


def _link(message) -> str:
    match = re.search(r"http://testserver(/accounts/reset/\S+/)", message.body)
    assert match, message.body
    return match.group(1)


# --- access ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["manager", "rep", "viewer"])
def test_only_admins_open_the_pages_or_change_a_member(world, login, persona, invite):
    client = login(persona)
    target = _membership(world, "other_rep")
    assert client.get(LIST).status_code == 403
    assert client.get(reverse("manage_user", args=[target.pk])).status_code == 403
    assert invite(client, email="new@acme.test").status_code == 403
    assert client.post(reverse("manage_user", args=[target.pk]), {"action": "deactivate"}).status_code == 403
    assert not User.objects.filter(username="new@acme.test").exists() and len(mail.outbox) == 0
    assert Membership.objects.get(pk=target.pk).active


def test_another_organisations_member_is_404_and_not_listed(world, login):
    theirs = Membership.objects.get(user=world.users["outsider"], org=world.other_org)
    client = login("admin")
    assert client.get(reverse("manage_user", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("manage_user", args=[theirs.pk]), {"action": "deactivate"}).status_code == 404
    assert Membership.objects.get(pk=theirs.pk).active
    assert "Otto" not in client.get(LIST).content.decode()


def test_another_organisations_territory_or_rep_cannot_be_given_as_a_scope(world, login, invite):
    client = login("admin")
    response = invite(
        client, email="m@acme.test", role="manager", territory=world.territories["globex_hq"].pk
    )
    assert "Select a valid choice" in error_beside(response.content.decode(), "id_invite-territory")
    response = invite(client, email="r@acme.test", role="rep", rep=world.reps["gus"].pk)
    assert "Select a valid choice" in error_beside(response.content.decode(), "id_invite-rep")
    assert not User.objects.filter(username__in=["m@acme.test", "r@acme.test"]).exists()


# --- invitations ------------------------------------------------------------------------------------


def test_an_invitation_creates_the_user_without_a_password_and_mails_a_set_password_link(
    world, login, client, invite
):
    admin = login("admin")
    response = invite(
        admin,
        email="Mia.Manager@Acme.test",
        first_name="Mia",
        last_name="Manager",
        role="manager",
        territory=world.territories["iberia"].pk,
    )
    assert response.status_code == 302
    user = User.objects.get(username="mia.manager@acme.test")
    assert not user.has_usable_password() and user.email == "mia.manager@acme.test"
    membership = Membership.objects.get(user=user, org=world.org)
    assert (membership.role, membership.territory) == (Role.MANAGER, world.territories["iberia"])
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["mia.manager@acme.test"]
    assert "Manager of Acme/Iberia" in mail.outbox[0].body

    link = _link(mail.outbox[0])
    admin.logout()
    page = client.get(link, follow=True)
    assert "Choose your password" in page.content.decode()
    set_url = page.redirect_chain[-1][0]
    response = client.post(set_url, {"new_password1": "short", "new_password2": "short"})
    assert "too short" in error_beside(response.content.decode(), "id_new_password2")
    response = client.post(
        set_url,
        {"new_password1": "a-Long-pass-phrase-42", "new_password2": "a-Long-pass-phrase-42"},
        follow=True,
    )
    assert "Your password is set" in response.content.decode()
    assert _signs_in(client, "mia.manager@acme.test", "a-Long-pass-phrase-42")
    # the link works once
    assert "expired or was already used" in client.get(link, follow=True).content.decode()


def test_a_user_of_another_organisation_joins_with_their_account_and_is_told_to_sign_in(world, login, invite):
    otto = world.users["outsider"]
    otto.email = "otto@globex.test"
    otto.save()
    assert invite(login("admin"), email="Otto@Globex.test", role="viewer").status_code == 302
    assert Membership.objects.filter(user=otto, org=world.org, role=Role.VIEWER).exists()
    assert User.objects.filter(email__iexact="otto@globex.test").count() == 1
    assert (
        "/accounts/reset/" not in mail.outbox[0].body
        and "Sign in with your usual account" in mail.outbox[0].body
    )


@pytest.mark.parametrize(
    ("fields", "field_id", "message"),
    [
        ({"email": "not-an-email"}, "id_invite-email", "valid email"),
        ({"email": ""}, "id_invite-email", "This field is required."),
        ({"email": "m@acme.test", "role": "manager"}, "id_invite-territory", "choose it"),
        ({"email": "r@acme.test", "role": "rep"}, "id_invite-rep", "choose their rep record"),
        ({"email": "x@acme.test", "role": "owner"}, "id_invite-role", "Select a valid choice"),
    ],
)
def test_a_bad_invitation_is_refused_beside_the_field(world, login, fields, field_id, message, invite):
    before = User.objects.count()
    response = invite(login("admin"), **fields)
    assert response.status_code == 400
    assert message in error_beside(response.content.decode(), field_id)
    assert User.objects.count() == before and len(mail.outbox) == 0


def test_inviting_a_member_twice_or_giving_a_rep_record_twice_is_refused(world, login, invite):
    client = login("admin")
    world.users["viewer"].email = "vic@acme.test"
    world.users["viewer"].save()
    response = invite(client, email="VIC@acme.test")
    assert "already a member (Viewer)" in error_beside(response.content.decode(), "id_invite-email")
    response = invite(client, email="nora2@acme.test", role="rep", rep=world.reps["nora"].pk)
    assert "Nora Nordin is already the rep record of nora" in error_beside(
        response.content.decode(), "id_invite-rep"
    )


# --- role, scope and deactivation -----------------------------------------------------------------------


def test_an_admin_changes_a_role_and_scope_and_the_history_says_who_and_why(world, login):
    client = login("admin")
    vic = _membership(world, "viewer")
    response = client.post(
        reverse("manage_user", args=[vic.pk]),
        {
            "action": "role",
            "role-role": "manager",
            "role-territory": world.territories["iberia"].pk,
            "role-reason": "Runs Iberia now",
        },
        follow=True,
    )
    vic.refresh_from_db()
    assert (vic.role, vic.territory) == (Role.MANAGER, world.territories["iberia"])
    page = response.content.decode()
    assert (
        "Role Viewer → Manager of Acme/Iberia" in page and "Runs Iberia now" in page and "Ada Admin" in page
    )
    record = Membership.history.filter(id=vic.pk).latest("history_date")
    assert (record.history_user, record.history_change_reason) == (world.users["admin"], "Runs Iberia now")


def test_deactivating_a_member_ends_their_access_and_reactivating_restores_it(world, login, client):
    vic = _membership(world, "viewer")
    admin = login("admin")
    admin.post(
        reverse("manage_user", args=[vic.pk]), {"action": "deactivate", "state-reason": "Left the company"}
    )
    vic.refresh_from_db()
    assert not vic.active and not vic.user.is_active  # no other organisation: the account is closed too
    assert access.memberships_of(User.objects.get(pk=vic.user_id)) == []
    page = admin.get(LIST).content.decode()
    assert "Deactivated" in page and "Left the company" in page
    assert not _signs_in(client, "vic", "persona-password")
    admin.post(reverse("manage_user", args=[vic.pk]), {"action": "reactivate"})
    vic.refresh_from_db()
    assert vic.active and vic.user.is_active


def test_deactivating_a_member_of_two_organisations_keeps_their_account(world, login):
    vic = _membership(world, "viewer")
    MembershipFactory.create(user=world.users["viewer"], org=world.other_org, role=Role.VIEWER)
    login("admin").post(reverse("manage_user", args=[vic.pk]), {"action": "deactivate"})
    user = User.objects.get(pk=vic.user_id)
    assert user.is_active
    assert [m.org for m in access.memberships_of(user)] == [world.other_org]


def test_an_admin_cannot_deactivate_or_demote_themselves(world, login):
    client = login("admin")
    own = _membership(world, "admin")
    response = client.post(reverse("manage_user", args=[own.pk]), {"action": "deactivate"})
    assert response.status_code == 400 and "cannot deactivate yourself" in response.content.decode()
    response = client.post(reverse("manage_user", args=[own.pk]), {"action": "role", "role-role": "viewer"})
    assert response.status_code == 400 and "cannot change the role of yourself" in response.content.decode()
    own.refresh_from_db()
    assert own.active and own.role == Role.ADMIN


def test_the_last_admin_cannot_be_demoted_or_deactivated(world, login):
    bea_user = UserFactory.create(username="bea", first_name="Bea")
    bea = MembershipFactory.create(user=bea_user, org=world.org, role=Role.ADMIN)
    ada = _membership(world, "admin")
    # With two admins, one may demote the other ...
    url = reverse("manage_user", args=[bea.pk])
    assert login("admin").post(url, {"action": "role", "role-role": "viewer"}).status_code == 302
    # ... but the last one stays (whoever asks: here a platform operator's script acting as Bea).
    with pytest.raises(ValidationError, match="last admin"):
        membership_update(membership=ada, role=Role.VIEWER, by=bea_user)
    with pytest.raises(ValidationError, match="last admin"):
        membership_deactivate(membership=ada, by=bea_user)
    ada.refresh_from_db()
    assert ada.active and ada.role == Role.ADMIN


def test_a_name_with_markup_is_shown_escaped(world, login):
    user = UserFactory.create(username="xss", first_name=XSS, email="xss@acme.test")
    m = MembershipFactory.create(user=user, org=world.org, role=Role.VIEWER)
    client = login("admin")
    for url in (LIST, reverse("manage_user", args=[m.pk])):
        html = client.get(url).content.decode()
        assert XSS not in html and XSS_ESCAPED in html


def test_the_users_page_reads_a_bounded_number_of_queries(world, login, django_assert_max_num_queries):
    for i in range(60):
        user = UserFactory.create(username=f"bulk{i}", first_name=f"Bulk {i}")
        MembershipFactory.create(
            user=user, org=world.org, role=Role.MANAGER, territory=world.territories["iberia"]
        )
    client = login("admin")
    for m in Membership.objects.filter(org=world.org, user__username__startswith="bulk")[:20]:
        client.post(
            reverse("manage_user", args=[m.pk]), {"action": "role", "role-role": "viewer", "role-reason": "x"}
        )
    with django_assert_max_num_queries(15):
        response = client.get(LIST)
    assert "66 members" in response.content.decode()  # the personas' 6 and the 60 above
    with django_assert_max_num_queries(15):
        assert client.get(reverse("manage_user", args=[_membership(world, "viewer").pk])).status_code == 200


def test_an_invited_member_is_listed_as_invited_and_the_invitation_can_be_sent_again(world, login, invite):
    client = login("admin")
    invite(client, email="ivy@acme.test", first_name="Ivy", role="viewer")
    membership = Membership.objects.get(user__username="ivy@acme.test")
    record = Membership.history.get(id=membership.pk)
    assert (record.history_user, record.history_change_reason) == (world.users["admin"], "Invited")
    row = client.get(LIST).content.decode().split(">Ivy</a>", 1)[1].split("</tr>", 1)[0]
    assert "<td>Invited</td>" in row
    client.post(reverse("manage_user", args=[membership.pk]), {"action": "resend"})
    assert len(mail.outbox) == 2 and _link(mail.outbox[1]).startswith("/accounts/reset/")


def _signs_in(client, username: str, password: str) -> bool:
    """Whether the login page lets ``username`` in (django-axes needs the request, so no client.login);
    a fresh client, so a signed-in ``client`` does not count."""
    fresh = Client()
    response = fresh.post(reverse("login"), {"username": username, "password": password})
    return response.status_code == 302 and "_auth_user_id" in fresh.session
