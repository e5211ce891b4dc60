from __future__ import annotations

from django.contrib import admin

from .models import Account, Deliverable, Opportunity, Partner, Product, StrategicPlay


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["name", "external_id", "sector", "country", "org"]
    list_filter = ["org", "sector"]
    search_fields = ["name", "external_id"]
    list_select_related = ["org"]
    autocomplete_fields = ["org"]


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "line", "list_price", "org"]
    list_filter = ["org", "line"]
    search_fields = ["name", "line"]
    list_select_related = ["org"]
    autocomplete_fields = ["org"]


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    list_display = ["name", "org"]
    list_filter = ["org"]
    search_fields = ["name"]
    list_select_related = ["org"]
    autocomplete_fields = ["org"]


@admin.register(StrategicPlay)
class StrategicPlayAdmin(admin.ModelAdmin):
    list_display = ["name", "org"]
    list_filter = ["org"]
    search_fields = ["name", "description"]
    list_select_related = ["org"]
    autocomplete_fields = ["org"]


@admin.register(Deliverable)
class DeliverableAdmin(admin.ModelAdmin):
    list_display = ["name", "org"]
    list_filter = ["org"]
    search_fields = ["name"]
    list_select_related = ["org"]
    autocomplete_fields = ["org"]


@admin.register(Opportunity)
class OpportunityAdmin(admin.ModelAdmin):
    list_display = ["external_id", "account", "rep", "stage", "amount", "close_date", "channel", "poc", "org"]
    list_filter = ["org", "stage", "channel", "poc"]
    search_fields = ["external_id", "account__name", "rep__name"]
    date_hierarchy = "close_date"
    list_select_related = ["org", "account", "rep"]
    autocomplete_fields = [
        "org",
        "rep",
        "account",
        "partner",
        "strategic_play",
        "identified_by",
        "products",
        "deliverables",
    ]
    readonly_fields = ["updated_at"]
