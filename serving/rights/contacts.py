"""Whom a customer writes to about their data, and where they may complain (Art. 13(1)(b),
Art. 77): shown on their page, in their copy and in the answers to their requests.

`CHURN_DPO_CONTACT` names the data protection officer's contact. `CHURN_SUPERVISORY_AUTHORITY`
(with `CHURN_SUPERVISORY_AUTHORITY_URL`) names the authority; unset, French pages name the
CNIL, and English pages the customer's national data protection authority (the European
Data Protection Board lists them), the CNIL being the lead authority of a business
established in France, where this service's defaults assume the business is.
"""

from __future__ import annotations

from serving.config import Settings
from serving.rights.schemas import Contact

CNIL = {"en": ("the CNIL (Commission nationale de l'informatique et des libertés)",
               "https://www.cnil.fr/en/home"),
        "fr": ("la CNIL (Commission nationale de l'informatique et des libertés)",
               "https://www.cnil.fr/fr/adresser-une-plainte")}
EDPB_MEMBERS = "https://www.edpb.europa.eu/about-edpb/about-edpb/members_en"

_DPO_DEFAULT = {
    "en": "Reply to any message we sent you, for the attention of the data protection "
          "officer.",
    "fr": "Répondez à n'importe quel message que nous vous avons envoyé, à l'attention du "
          "délégué à la protection des données.",
}
_DPO_TEXT = {
    "en": "For any question about your data or your requests, write to our data protection "
          "officer.",
    "fr": "Pour toute question sur vos données ou vos demandes, écrivez à notre délégué à la "
          "protection des données.",
}
_AUTHORITY_TEXT = {
    "en": "If you think we do not respect your rights, you may complain to a data protection "
          "authority, free of charge.",
    "fr": "Si vous estimez que nous ne respectons pas vos droits, vous pouvez introduire une "
          "réclamation, gratuitement, auprès d'une autorité de protection des données.",
}
_NATIONAL = ("the data protection authority of the country where you live or work (the "
             "European Data Protection Board lists them), or the CNIL, the French authority "
             "(https://www.cnil.fr/en/home), as we are established in France")


def _lang(lang: str) -> str:
    return "fr" if lang == "fr" else "en"


def dpo(settings: Settings, lang: str) -> Contact:
    """The data protection officer's contact (a default wording when not set)."""
    lang = _lang(lang)
    value = settings.dpo_contact
    url = None
    if value and "@" in value and " " not in value:
        url = f"mailto:{value}"
    elif value and value.startswith(("https://", "http://")):
        url = value
    return Contact(name=value or _DPO_DEFAULT[lang], url=url, text=_DPO_TEXT[lang])


def authority(settings: Settings, lang: str) -> Contact:
    """The supervisory authority a customer may complain to (Art. 77)."""
    lang = _lang(lang)
    if settings.supervisory_authority or settings.supervisory_authority_url:
        name = settings.supervisory_authority or settings.supervisory_authority_url or ""
        return Contact(name=name, url=settings.supervisory_authority_url,
                       text=_AUTHORITY_TEXT[lang])
    if lang == "fr":
        name, url = CNIL["fr"]
        return Contact(name=name, url=url, text=_AUTHORITY_TEXT[lang])
    return Contact(name=_NATIONAL, url=EDPB_MEMBERS, text=_AUTHORITY_TEXT[lang])
