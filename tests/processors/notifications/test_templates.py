"""processors/notifications/templates.py: what a player or a studio reads."""

from processors.notifications.templates import render, template_problem


def test_first_line_is_the_title_and_the_rest_the_body():
    rendered = render("Receipt for ${item_id}\nYou paid $amount $currency.\nThanks!",
                      {"item_id": "gem_pack", "amount": "4.99", "currency": "EUR"})
    assert rendered.title == "Receipt for gem_pack"
    assert rendered.body == "You paid 4.99 EUR.\nThanks!"
    assert rendered.text == "Receipt for gem_pack\nYou paid 4.99 EUR.\nThanks!"


def test_a_one_line_template_is_title_and_body():
    rendered = render("Level $level done", {"level": "7"})
    assert rendered.title == rendered.body == rendered.text == "Level 7 done"


def test_a_missing_variable_stays_visible_instead_of_failing():
    assert render("Hello $name, ${missing}", {"name": "Ana"}).text == "Hello Ana, ${missing}"


def test_values_are_text_only_never_code():
    # client-controlled values are substituted, not evaluated: no attribute access, no nested template
    rendered = render("$a", {"a": "${b} {0.__class__}", "b": "secret"})
    assert rendered.text == "${b} {0.__class__}"


def test_template_problems_are_explained():
    assert template_problem("   ") == "is empty"
    assert "malformed placeholder" in (template_problem("Costs ${amount") or "")
    assert template_problem("Costs $$5 for ${item}") is None
