"""What the data-entry pages of reps' records (deals, certifications, programme participation) share:
each is a list with an editor above it; with htmx the editor opens inline and a save refreshes the list
in place, without JavaScript the same URLs are ordinary pages and a save redirects to the list.

A list page renders ``<template>`` (``#list`` with htmx); a form renders ``<form template>`` (``#editor``
with htmx); a save with htmx renders the list template's ``#saved`` partial: the editor closed with a
message, and the list again (out of band) as the user was looking at it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse

from . import access
from .decorators import MembershipRequest
from .forms import EntryForm
from .models import Role

PAGE_SIZE = 25


def require_write(may_write: bool) -> None:
    if not may_write:
        raise PermissionDenied("Your role may read these records but not change them.")


def may_enter(request: MembershipRequest) -> bool:
    return request.membership.role != Role.VIEWER


def list_params(request: MembershipRequest, list_url: str) -> QueryDict:
    """The list's parameters (``rep``, ``page``): the request's own on the list page; for a write sent by
    htmx, those of the list page the user is on, so the refreshed list looks as it did."""
    if request.method == "GET" and request.path == list_url:
        return request.GET
    current = request.htmx.current_url if request.htmx else None
    if current:
        parts = urlsplit(current)
        if parts.path == list_url:
            return QueryDict(parts.query)
    return QueryDict()


def list_context(
    request: MembershipRequest, list_url: str, rows: Callable[[Any], QuerySet]
) -> dict[str, Any]:
    """A page of ``rows(rep)`` and the rep filter: reps see their own records, everyone else every
    visible rep's or, with ``?rep=``, one; a rep the user may not see is 404, for reps too."""
    m = request.membership
    params = list_params(request, list_url)
    rep = None
    if params.get("rep"):
        rep, _ = access.get_rep_for(request, params["rep"])
    paginator = Paginator(rows(rep), PAGE_SIZE)
    page: Page = paginator.get_page(params.get("page"))

    def page_url(number: int) -> str:
        query = QueryDict(mutable=True)
        if rep is not None:
            query["rep"] = str(rep.pk)
        query["page"] = str(number)
        return f"{list_url}?{query.urlencode()}"

    return {
        "page": page,
        "rows": page.object_list,
        "previous_url": page_url(page.previous_page_number()) if page.has_previous() else "",
        "next_url": page_url(page.next_page_number()) if page.has_next() else "",
        "rep_filter": rep,
        "filter_reps": list(access.visible_reps(m).order_by("name")) if m.role != Role.REP else [],
        "may_enter": may_enter(request),
        "list_url": list_url,
    }


def render_list(
    request: MembershipRequest, template: str, list_url: str, rows: Callable[[Any], QuerySet]
) -> HttpResponse:
    context = list_context(request, list_url, rows)
    return render(request, f"{template}#list" if request.htmx else template, context)


def render_form(
    request: MembershipRequest, template: str, context: dict[str, Any], *, invalid: bool = False
) -> HttpResponse:
    """The editor: inline (``#editor``) for htmx, a page of its own otherwise; 400 when refused."""
    if request.htmx and isinstance(context.get("form"), EntryForm):
        context["form"].focus()
    return render(
        request, f"{template}#editor" if request.htmx else template, context, status=400 if invalid else 200
    )


def saved_through(form: EntryForm, save: Callable[[], object]) -> bool:
    """Valid input stored by ``save`` (a service call); False with the errors on the form otherwise (the
    service's beside the fields they name), or when the form is not bound."""
    if not form.is_bound or not form.is_valid():
        return False
    try:
        save()
    except ValidationError as exc:
        form.add_service_errors(exc)
        return False
    return True


def saved(
    request: MembershipRequest,
    message: str,
    *,
    template: str,
    list_name: str,
    rows: Callable[[Any], QuerySet],
) -> HttpResponse:
    """After a write: with htmx the editor closes with ``message`` and the list refreshes in place; without,
    the message is flashed and the browser goes back to the list."""
    list_url = reverse(list_name)
    if request.htmx:
        context = {**list_context(request, list_url, rows), "message": message, "oob": True}
        return render(request, f"{template}#saved", context)
    messages.success(request, message)
    return redirect(list_url)
