"""Views of the people app: thin (parse, check access, call a service or selector, render), each behind
``@membership_required`` (scorecard/decorators.py), templates in templates/people/."""
