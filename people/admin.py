from __future__ import annotations

from django.contrib import admin

from .models import Certification, CertificationType, Program, ProgramParticipation


@admin.register(CertificationType)
class CertificationTypeAdmin(admin.ModelAdmin):
    list_display = ["name", "category", "issuer", "validity_months", "org"]
    list_filter = ["org", "category"]
    search_fields = ["name", "issuer"]
    list_select_related = ["org"]
    autocomplete_fields = ["org"]


@admin.register(Certification)
class CertificationAdmin(admin.ModelAdmin):
    list_display = ["rep", "type", "earned", "expires", "org"]
    list_filter = ["org", "type__category"]
    search_fields = ["rep__name", "type__name"]
    date_hierarchy = "earned"
    list_select_related = ["org", "rep", "type"]
    autocomplete_fields = ["org", "rep", "type"]


@admin.register(Program)
class ProgramAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "org"]
    list_filter = ["org", "kind"]
    search_fields = ["name", "description"]
    list_select_related = ["org"]
    autocomplete_fields = ["org"]


@admin.register(ProgramParticipation)
class ProgramParticipationAdmin(admin.ModelAdmin):
    list_display = ["rep", "program", "start", "end", "org"]
    list_filter = ["org", "program__kind"]
    search_fields = ["rep__name", "program__name"]
    list_select_related = ["org", "rep", "program"]
    autocomplete_fields = ["org", "rep", "program"]
