from __future__ import annotations

from django.http import HttpRequest

from . import access


def current_membership(request: HttpRequest) -> dict:
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    membership = access.current_membership(request)
    return {"membership": membership, "memberships": access.memberships_of(request.user)}
