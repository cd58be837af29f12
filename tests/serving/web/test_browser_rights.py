"""The customer's own copy and the erasure request in a real browser (issue 18), in French
and in English: the copy read on screen, printed (print media) and downloaded as a
document and as JSON; the erasure asked with its confirmation, listed with its date,
cancelled, or carried out after the wait (the page then no longer opens)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from serving.rights import cli as rights_cli
from tests.serving.web.conftest import new_page

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SHOTS = Path(os.environ.get("CHURN_SCREENSHOTS", "/tmp/churn-screenshots"))


def in_lang(lang: str, **fr_en: tuple[str, str]) -> dict[str, str]:
    """The words a test looks for, each given as (French, English) side by side, in
    `lang`."""
    return {key: pair[("fr", "en").index(lang)] for key, pair in fr_en.items()}


def snap(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"rights-{name}.png"), full_page=True)


def open_link(browser: Any, live: Any, customer_id: str, locale: str) -> Any:
    link = live.access_link(customer_id)
    page = new_page(browser, locale=locale)
    page.context.set_default_timeout(20_000)
    page.goto(link["url"])
    # a GET shows the button; pressing it (a POST with the page's CSRF token) opens the page
    page.locator("#link-form button").click()
    page.wait_for_url(live.url + "/me")
    return page


def _download(page: Any, name: str, tmp_path: Path) -> str:
    with page.expect_download() as info:
        page.get_by_role("link", name=name).first.click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(str(path))
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_the_customer_downloads_their_copy(live, browser, tmp_path, lang):  # noqa: ANN001
    words = in_lang(
        lang,
        locale=("fr-FR", "en-GB"),
        section=("Vos données et vos droits", "Your data and your rights"),
        see=("Voir ma copie", "See my copy"),
        title=("Vos données : tout ce que nous détenons",
               "Your data: everything we hold about you"),
        doc=("Télécharger ma copie (document)", "Download my copy (document)"),
        json=("Télécharger ma copie (données JSON)", "Download my copy (JSON data)"),
        procedure=("La procédure et les principes appliqués",
                   "The procedure and principles applied"),
        authority=("CNIL", "data protection authority"),
    )
    target = live.high()[0 if lang == "fr" else 1]
    page = open_link(browser, live, target["customer_id"], words["locale"])
    try:
        assert page.locator("html").get_attribute("lang") == lang
        assert page.get_by_role("heading", name=words["section"]).is_visible()
        assert words["authority"] in page.locator("span.authority").inner_text()
        snap(page, f"me-{lang}")
        page.get_by_role("link", name=words["see"]).click()
        page.wait_for_url(live.url + "/me/copy")
        assert words["title"] in page.get_by_role("heading", level=1).inner_text()
        assert page.get_by_role("heading", name=words["procedure"]).is_visible()
        assert page.locator(f"#p-{target['prediction_id']}").is_visible()
        assert page.locator("nav.screen-only").is_visible()
        snap(page, f"copy-{lang}")
        page.emulate_media(media="print")  # the paper copy: no navigation, the links spelt out
        assert not page.locator("nav.screen-only").is_visible()
        snap(page, f"copy-print-{lang}")
        page.emulate_media(media="screen")
        html = _download(page, words["doc"], tmp_path)
        assert html.startswith("<!doctype html>") and "<style>" in html
        assert target["prediction_id"] in html and words["title"] in html
        data = json.loads(_download(page, words["json"], tmp_path))
        assert data["lang"] == lang and data["customer_ref"] == target["customer_ref"]
        ids = [p["prediction"]["prediction_id"] for p in data["predictions"]]
        assert target["prediction_id"] in ids
        assert live.scored[5]["customer_ref"] not in html + json.dumps(data)
    finally:
        page.context.close()


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_the_customer_asks_for_erasure(live, browser, lang):  # noqa: ANN001
    words = in_lang(
        lang,
        locale=("fr-FR", "en-GB"),
        ask=("Demander l'effacement de mes données", "Ask for my data to be erased"),
        title=("Effacer mes données", "Erase my data"),
        confirm=("Confirmer la demande d'effacement", "Confirm the erasure request"),
        tick=("Cochez la case", "Tick the box"),
        understood=("Je comprends", "I understand"),
        received=("elle est effectuée le", "it is carried out on"),
        listed=("L'effacement de mes données", "Erasure of my data"),
        status=("en cours", "in progress"),
        cancel=("Annuler cette demande", "Cancel this request"),
        cancelled=("Votre demande est annulée.", "Your request is cancelled."),
    )
    target = live.scored[10 if lang == "fr" else 11]
    page = open_link(browser, live, target["customer_id"], words["locale"])
    try:
        page.get_by_role("link", name=words["ask"]).click()
        page.wait_for_url(live.url + "/me/erase")
        assert page.get_by_role("heading", name=words["title"]).is_visible()
        page.get_by_role("button", name=words["confirm"]).click()  # not ticked: refused
        assert words["tick"] in page.locator(".error-summary").inner_text()
        snap(page, f"erase-refused-{lang}")
        page.get_by_label(words["understood"]).check()
        page.get_by_role("button", name=words["confirm"]).click()
        page.wait_for_url(live.url + "/me/rights")
        assert words["received"] in page.locator(".flash").inner_text()
        row = page.locator("tr.request[data-kind=erasure]")
        assert words["listed"] in row.inner_text() and words["status"] in row.inner_text()
        snap(page, f"erase-asked-{lang}")
        if lang == "en":  # the customer changes their mind during the wait
            row.get_by_role("button", name=words["cancel"]).click()
            page.wait_for_url(live.url + "/me/rights")
            assert words["cancelled"] in page.locator(".flash").inner_text()
            assert rights_cli.carry_out(live.settings, datetime.now(UTC) + timedelta(days=60)) \
                ["carried_out"] == []
            page.goto(live.url + "/me")
            assert page.locator("html").get_attribute("lang") == "en"
        else:  # carried out after the wait: the page no longer opens
            done = rights_cli.carry_out(live.settings, datetime.now(UTC) + timedelta(days=8))
            assert len(done["carried_out"]) == 1
            r = page.goto(live.url + "/me")
            assert r.status == 401  # their session ended with their data
            assert target["customer_ref"] not in page.content()
            snap(page, "erased-fr")
    finally:
        page.context.close()
