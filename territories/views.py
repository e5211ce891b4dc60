"""Views of the territories app: thin (parse, check access, call a service or selector, render), each behind
``@membership_required`` (scorecard/decorators.py), templates in templates/territories/."""
