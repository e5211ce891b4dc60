"""Certification and programme entry (/people/certifications/, /people/programmes/): a rep records their
own, with the type or programme from the organisation's catalog; input errors are reported beside the
field; managers change their subtree's records, viewers only read, and another rep's or organisation's
records are 404. Certifications are not frozen by period locks (DESIGN §3 locks deals, measurements and
targets)."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from kpis.models import RecomputeRequest
from people.models import (
    Certification,
    CertificationCategory,
    CertificationType,
    Program,
    ProgramKind,
    ProgramParticipation,
)
from people.services import months_after
from scorecard.services import period_lock

pytest_plugins = ["tests.conftest_personas"]

CERTS = reverse("people:certification_list")
NEW_CERT = reverse("people:certification_create")
PROGRAMMES = reverse("people:participation_list")
NEW_PARTICIPATION = reverse("people:participation_create")
HTMX = {"HTTP_HX_REQUEST": "true"}


def cert_url(certification: Certification) -> str:
    return reverse("people:certification_edit", args=[certification.pk])


def participation_url(participation: ProgramParticipation) -> str:
    return reverse("people:participation_edit", args=[participation.pk])


@pytest.fixture
def records(world):
    org, other = world.org, world.other_org
    cloud = CertificationType.objects.create(
        org=org,
        name="Cloud Architect",
        category=CertificationCategory.PRODUCT,
        issuer="Acme",
        validity_months=24,
    )
    togaf = CertificationType.objects.create(
        org=org, name="TOGAF 9", category=CertificationCategory.INDUSTRY, issuer="The Open Group"
    )
    foreign_type = CertificationType.objects.create(
        org=other, name="Globex Expert", category=CertificationCategory.PRODUCT
    )
    mentoring = Program.objects.create(org=org, name="Mentoring circle", kind=ProgramKind.HIGH_POTENTIAL)
    foreign_programme = Program.objects.create(org=other, name="Globex Academy", kind=ProgramKind.EDUCATION)
    nora, sergio = world.reps["nora"], world.reps["sergio"]
    return {
        "cloud": cloud,
        "togaf": togaf,
        "foreign_type": foreign_type,
        "mentoring": mentoring,
        "foreign_programme": foreign_programme,
        "nora_cert": Certification.objects.create(org=org, rep=nora, type=togaf, earned=date(2023, 5, 2)),
        "sergio_cert": Certification.objects.create(org=org, rep=sergio, type=togaf, earned=date(2022, 1, 9)),
        "nora_part": ProgramParticipation.objects.create(
            org=org, rep=nora, program=mentoring, start=date(2024, 1, 1)
        ),
        "sergio_part": ProgramParticipation.objects.create(
            org=org, rep=sergio, program=mentoring, start=date(2023, 6, 1)
        ),
    }


def cert_data(records, **changes) -> dict:
    data = {"type": records["cloud"].pk, "earned": "2024-03-15", "expires": "", "note": "Credential 4711"}
    data.update(changes)
    return data


def _field_error(body: str, field: str) -> str:
    marker = f'id="id_{field}_error"'
    assert marker in body, f"no error beside {field}"
    return body.split(marker, 1)[1].split("</p>", 1)[0]


# --- certifications -------------------------------------------------------------------------------


def test_months_after_keeps_the_day_or_takes_the_months_last():
    assert months_after(date(2024, 3, 15), 24) == date(2026, 3, 15)
    assert months_after(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert months_after(date(2023, 11, 30), 3) == date(2024, 2, 29)


def test_a_rep_records_a_certification_and_sees_it_listed(world, login, records):
    client = login("rep")
    form = client.get(NEW_CERT).content.decode()
    assert "Cloud Architect" in form and "Globex Expert" not in form and 'name="rep"' not in form
    response = client.post(NEW_CERT, cert_data(records))
    assert response.status_code == 302 and response["Location"] == CERTS
    cert = Certification.objects.get(rep=world.reps["nora"], type=records["cloud"])
    assert (cert.earned, cert.expires, cert.note) == (date(2024, 3, 15), date(2026, 3, 15), "Credential 4711")
    page = client.get(CERTS).content.decode()
    assert "Cloud Architect" in page and "15 Mar 2026" in page and "Credential 4711" in page
    assert "TOGAF 9" in page and "Sergio" not in page


def test_an_explicit_expiry_wins_and_a_type_without_validity_does_not_expire(world, login, records):
    client = login("rep")
    client.post(NEW_CERT, cert_data(records, expires="2025-01-31"))
    client.post(NEW_CERT, cert_data(records, type=records["togaf"].pk, earned="2024-06-01"))
    rep = world.reps["nora"]
    assert Certification.objects.get(rep=rep, type=records["cloud"]).expires == date(2025, 1, 31)
    assert Certification.objects.get(rep=rep, type=records["togaf"], earned=date(2024, 6, 1)).expires is None


def test_with_htmx_a_certification_is_added_in_place(world, login, records):
    client = login("rep")
    editor = client.get(NEW_CERT, **HTMX).content.decode()
    assert "<html" not in editor and 'hx-post="/people/certifications/new/"' in editor
    body = client.post(NEW_CERT, cert_data(records), **HTMX).content.decode()
    assert "Certification Cloud Architect of Nora Nordin added." in body and 'hx-swap-oob="true"' in body


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"earned": "2024-02-30"}, "earned", "Enter a valid date"),
        ({"earned": "last spring"}, "earned", "Enter a valid date"),
        ({"earned": ""}, "earned", "This field is required"),
        ({"expires": "2024-03-01"}, "expires", "cannot expire before it was earned"),
        ({"type": ""}, "type", "This field is required"),
        ({"type": "abc"}, "type", "Select a valid choice"),
        ({"type": "999999"}, "type", "Select a valid choice"),
        ({"earned": "2023-05-02", "type": "TOGAF"}, "type", "Select a valid choice"),
    ],
)
def test_invalid_certifications_are_refused_beside_the_field(world, login, records, changes, field, message):
    before = Certification.objects.count()
    response = login("rep").post(NEW_CERT, cert_data(records, **changes))
    body = response.content.decode()
    assert response.status_code == 400
    assert message in _field_error(body, field) and 'aria-invalid="true"' in body
    assert Certification.objects.count() == before


def test_a_foreign_certification_type_is_an_invalid_choice(world, login, records):
    body = login("rep").post(NEW_CERT, cert_data(records, type=records["foreign_type"].pk)).content.decode()
    assert "Select a valid choice" in _field_error(body, "type")


def test_the_same_certification_earned_twice_on_one_day_is_refused(world, login, records):
    data = cert_data(records, type=records["togaf"].pk, earned="2023-05-02")
    body = login("rep").post(NEW_CERT, data).content.decode()
    assert "Nora Nordin already holds TOGAF 9 earned on 02 May 2023" in _field_error(body, "earned")


def test_certifications_are_not_frozen_by_a_period_lock(world, login, records):
    period_lock(org=world.org, period="2024-Q1", user=world.users["admin"])
    assert login("rep").post(NEW_CERT, cert_data(records)).status_code == 302


def test_the_evidence_note_is_rendered_escaped(world, login, records):
    payload = '<script>alert("cert")</script>'
    client = login("rep")
    client.post(NEW_CERT, cert_data(records, note=payload))
    cert = Certification.objects.get(note=payload)
    for url in (CERTS, cert_url(cert)):
        body = client.get(url).content.decode()
        assert payload not in body and "&lt;script&gt;alert(&quot;cert&quot;)&lt;/script&gt;" in body


def test_a_rep_edits_their_certification(world, login, records):
    cert = records["nora_cert"]
    client = login("rep")
    response = client.post(
        cert_url(cert), cert_data(records, type=records["togaf"].pk, earned="2023-05-02", note="renewed")
    )
    assert response.status_code == 302
    cert.refresh_from_db()
    assert cert.note == "renewed"


def test_a_certification_change_requests_a_recompute(world, login, records):
    RecomputeRequest.objects.all().delete()
    login("rep").post(NEW_CERT, cert_data(records))
    assert {"2024-03", "2024-Q1", "2024"} <= set(
        RecomputeRequest.objects.filter(org=world.org).values_list("period", flat=True)
    )


def test_certification_roles(world, login, records):
    nora_cert, sergio_cert = records["nora_cert"], records["sergio_cert"]
    rep = login("rep")
    assert rep.get(cert_url(sergio_cert)).status_code == 404
    assert rep.post(cert_url(sergio_cert), cert_data(records)).status_code == 404
    assert rep.get(CERTS, {"rep": world.reps["sergio"].pk}).status_code == 404
    viewer = login("viewer")
    page = viewer.get(CERTS).content.decode()
    assert "Nora Nordin" in page and "Sergio Sanz" in page and NEW_CERT not in page
    assert viewer.get(NEW_CERT).status_code == 403
    assert viewer.post(cert_url(nora_cert), cert_data(records)).status_code == 403
    manager = login("manager")
    data = cert_data(records, rep=world.reps["nora"].pk, note="checked by Manny")
    assert manager.post(cert_url(nora_cert), data).status_code == 302
    assert Certification.objects.get(pk=nora_cert.pk).note == "checked by Manny"
    assert manager.get(cert_url(sergio_cert)).status_code == 404
    moved = manager.post(NEW_CERT, cert_data(records, rep=world.reps["sergio"].pk))
    assert "Select a valid choice" in _field_error(moved.content.decode(), "rep")
    outsider = login("outsider")
    assert outsider.get(cert_url(nora_cert)).status_code == 404
    assert "TOGAF" not in outsider.get(CERTS).content.decode()


# --- programme participation ----------------------------------------------------------------------


def test_a_rep_records_a_programme_and_sees_it_listed(world, login, records):
    client = login("rep")
    form = client.get(NEW_PARTICIPATION).content.decode()
    assert "Mentoring circle" in form and "Globex Academy" not in form
    data = {"program": records["mentoring"].pk, "start": "2024-09-01", "end": "2024-12-31"}
    assert client.post(NEW_PARTICIPATION, data).status_code == 302
    joined = ProgramParticipation.objects.get(rep=world.reps["nora"], start=date(2024, 9, 1))
    assert joined.end == date(2024, 12, 31)
    page = client.get(PROGRAMMES).content.decode()
    assert "1 Sep 2024" in page and "Taking part" in page  # the new one, and the open one from January


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"end": "2024-08-31"}, "end", "cannot end before it starts"),
        ({"start": "2024-09-31"}, "start", "Enter a valid date"),
        ({"start": "2024-01-01"}, "start", "already joined Mentoring circle on 01 Jan 2024"),
        ({"program": "999999"}, "program", "Select a valid choice"),
    ],
)
def test_invalid_participation_is_refused_beside_the_field(world, login, records, changes, field, message):
    data = {"program": records["mentoring"].pk, "start": "2024-09-01", "end": "", **changes}
    before = ProgramParticipation.objects.count()
    response = login("rep").post(NEW_PARTICIPATION, data)
    assert response.status_code == 400
    assert message in _field_error(response.content.decode(), field)
    assert ProgramParticipation.objects.count() == before


def test_a_foreign_programme_is_an_invalid_choice(world, login, records):
    data = {"program": records["foreign_programme"].pk, "start": "2024-09-01"}
    body = login("rep").post(NEW_PARTICIPATION, data).content.decode()
    assert "Select a valid choice" in _field_error(body, "program")


def test_participation_roles(world, login, records):
    nora_part, sergio_part = records["nora_part"], records["sergio_part"]
    data = {"program": records["mentoring"].pk, "start": "2024-01-01", "end": "2024-06-30"}
    rep = login("rep")
    assert rep.get(participation_url(sergio_part)).status_code == 404
    assert rep.post(participation_url(nora_part), data).status_code == 302
    assert ProgramParticipation.objects.get(pk=nora_part.pk).end == date(2024, 6, 30)
    viewer = login("viewer")
    assert viewer.get(PROGRAMMES).status_code == 200
    assert viewer.post(NEW_PARTICIPATION, data).status_code == 403
    assert viewer.get(participation_url(nora_part)).status_code == 403
    manager = login("manager")
    assert manager.get(participation_url(nora_part)).status_code == 200
    assert manager.get(participation_url(sergio_part)).status_code == 404
    assert login("outsider").get(participation_url(nora_part)).status_code == 404


def test_the_list_pages_read_a_bounded_number_of_queries(
    world, login, records, django_assert_max_num_queries
):
    nora, sergio = world.reps["nora"], world.reps["sergio"]
    Certification.objects.bulk_create(
        Certification(
            org=world.org,
            rep=nora if i % 2 else sergio,
            type=records["cloud"],
            earned=date(2000 + i // 12, 1 + i % 12, 1),
        )
        for i in range(100)
    )
    ProgramParticipation.objects.bulk_create(
        ProgramParticipation(
            org=world.org,
            rep=nora if i % 2 else sergio,
            program=records["mentoring"],
            start=date(2000 + i // 12, 1 + i % 12, 2),
        )
        for i in range(100)
    )
    for persona in ("rep", "manager", "viewer"):
        client = login(persona)
        for url in (CERTS, PROGRAMMES):
            with django_assert_max_num_queries(15):
                assert client.get(url).status_code == 200
            with django_assert_max_num_queries(15):
                assert client.get(url, {"page": 2}, **HTMX).status_code == 200
