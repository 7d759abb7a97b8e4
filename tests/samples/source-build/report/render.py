"""Render a model report to HTML."""

from jinja2 import Environment, select_autoescape

TEMPLATE = "<h1>{{ title }}</h1><p>AUC {{ auc }}</p>"


def render(title: str, auc: float) -> str:
    env = Environment(autoescape=select_autoescape())
    return env.from_string(TEMPLATE).render(title=title, auc=auc)
