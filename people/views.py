"""Views of the people app: thin (parse, check access, call a service or selector, render), each behind
``@membership_required`` (scorecard/decorators.py), templates in templates/people/.

Certification and programme entry: lists (a rep's own; a manager's subtree, filtered by rep; read-only
for viewers), create and edit, inline with htmx or as pages of their own (scorecard/entry.py)."""

from __future__ import annotations

from django.http import HttpResponse
from django.urls import reverse

from scorecard import access, entry
from scorecard.decorators import MembershipRequest, membership_required
from scorecard.models import Role

from . import selectors, services
from .forms import CertificationForm, ParticipationForm
from .models import Certification, ProgramParticipation

CERTIFICATIONS = "people/certifications.html"
CERTIFICATION_FORM = "people/certification_form.html"
PROGRAMMES = "people/programmes.html"
PARTICIPATION_FORM = "people/participation_form.html"


def _certification_rows(request: MembershipRequest):
    return lambda rep: selectors.entry_certifications(request.membership, rep)


def _participation_rows(request: MembershipRequest):
    return lambda rep: selectors.entry_participations(request.membership, rep)


def _own(request: MembershipRequest):
    """A new record's rep: a rep's own; chosen in the form by everyone else."""
    m = request.membership
    return m.rep if m.role == Role.REP else None


@membership_required
def certification_list(request: MembershipRequest) -> HttpResponse:
    url = reverse("people:certification_list")
    return entry.render_list(request, CERTIFICATIONS, url, _certification_rows(request))


@membership_required
def certification_create(request: MembershipRequest) -> HttpResponse:
    entry.require_write(entry.may_enter(request))
    certification = Certification(org=request.membership.org, rep=_own(request))
    return _edit_certification(request, certification)


@membership_required
def certification_edit(request: MembershipRequest, pk: int) -> HttpResponse:
    certification, may_write = access.get_certification_for(request, pk)
    entry.require_write(may_write)
    return _edit_certification(request, certification)


def _edit_certification(request: MembershipRequest, certification: Certification) -> HttpResponse:
    creating = certification.pk is None
    form = CertificationForm(_data(request), instance=certification, membership=request.membership)
    if entry.saved_through(form, lambda: services.certification_save(certification=form.instance)):
        verb = "added" if creating else "saved"
        message = f"Certification {certification.type} of {certification.rep} {verb}."
        rows = _certification_rows(request)
        return entry.saved(
            request, message, template=CERTIFICATIONS, list_name="people:certification_list", rows=rows
        )
    context = {"form": form, "certification": certification, "creating": creating}
    return entry.render_form(request, CERTIFICATION_FORM, context, invalid=form.is_bound)


@membership_required
def participation_list(request: MembershipRequest) -> HttpResponse:
    url = reverse("people:participation_list")
    return entry.render_list(request, PROGRAMMES, url, _participation_rows(request))


@membership_required
def participation_create(request: MembershipRequest) -> HttpResponse:
    entry.require_write(entry.may_enter(request))
    participation = ProgramParticipation(org=request.membership.org, rep=_own(request))
    return _edit_participation(request, participation)


@membership_required
def participation_edit(request: MembershipRequest, pk: int) -> HttpResponse:
    participation, may_write = access.get_participation_for(request, pk)
    entry.require_write(may_write)
    return _edit_participation(request, participation)


def _edit_participation(request: MembershipRequest, participation: ProgramParticipation) -> HttpResponse:
    creating = participation.pk is None
    form = ParticipationForm(_data(request), instance=participation, membership=request.membership)
    if entry.saved_through(form, lambda: services.participation_save(participation=form.instance)):
        verb = "added" if creating else "saved"
        message = f"{participation.rep} in {participation.program}: {verb}."
        rows = _participation_rows(request)
        return entry.saved(
            request, message, template=PROGRAMMES, list_name="people:participation_list", rows=rows
        )
    context = {"form": form, "participation": participation, "creating": creating}
    return entry.render_form(request, PARTICIPATION_FORM, context, invalid=form.is_bound)


def _data(request: MembershipRequest):
    return request.POST if request.method == "POST" else None
