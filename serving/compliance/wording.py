"""The compliance report's words in English and French, and its numbers and dates as each
language writes them ("1,234.5", "55%", "2026-01-31 12:00 UTC"; "1 234,5", "55 %",
"31/01/2026 12:00 UTC").

The same approach as the pages' catalogue (`serving/web/i18n.py`): one entry per text with
both languages and the same placeholders (checked by `problems`, at import and in the
tests), and a translator that refuses an unknown key rather than printing it.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from datetime import UTC, datetime

LANGS = ("en", "fr")
NNBSP = "\u202f"  # French thousands separator (narrow no-break space)
NBSP = "\u00a0"  # before "%" in French

TEXTS: dict[str, dict[str, str]] = {
    "title": {"en": "Record of processing and compliance report",
              "fr": "Registre des traitements et rapport de conformité"},
    "intro": {"en": "Controller: {controller} · generated {when} · period: {since} — {until}.",
              "fr": "Responsable du traitement : {controller} · établi le {when} · période : "
                    "{since} — {until}."},
    "from_start": {"en": "from the start", "fr": "depuis le début"},
    "until_now": {"en": "now", "fr": "aujourd'hui"},
    "suppressed": {"en": "Counts from 1 to {k1} are shown as “{hidden}” so that no figure "
                         "singles out a person.",
                   "fr": "Les effectifs de 1 à {k1} sont affichés « {hidden} » pour "
                         "qu'aucun chiffre ne désigne une personne."},
    "s_processing": {"en": "1. Record of processing (GDPR Art. 30)",
                     "fr": "1. Registre des activités de traitement (RGPD, art. 30)"},
    "purposes": {"en": "Purposes", "fr": "Finalités"},
    "legal_basis": {"en": "Legal basis", "fr": "Base légale"},
    "people": {"en": "People concerned", "fr": "Personnes concernées"},
    "categories": {"en": "Categories of data", "fr": "Catégories de données"},
    "categories_text": {
        "en": "The customer's id (kept only in the customer record; pseudonymised elsewhere), "
              "their contact address (for notices), the model inputs below (from the spec of "
              "every model that served), the predictions with their explanations, disputes, "
              "decisions, objections, rights requests and retention-task outcomes.",
        "fr": "L'identifiant du client (conservé seulement dans sa fiche ; pseudonymisé "
              "partout ailleurs), son adresse de contact (pour les avis), les données d'entrée "
              "du modèle ci-dessous (d'après la spécification de chaque modèle mis en "
              "service), les prédictions avec leurs explications, les contestations, les "
              "décisions, les oppositions, les demandes d'exercice des droits et l'issue des "
              "tâches de fidélisation."},
    "col_data": {"en": "Data", "fr": "Donnée"},
    "col_kind": {"en": "Kind", "fr": "Nature"},
    "col_description": {"en": "Description", "fr": "Description"},
    "col_why": {"en": "Why it is used", "fr": "Pourquoi elle est utilisée"},
    "kind_numeric": {"en": "number", "fr": "nombre"},
    "kind_categorical": {"en": "category", "fr": "catégorie"},
    "kind_ordinal": {"en": "ordered category", "fr": "catégorie ordonnée"},
    "no_model": {"en": "No model has served yet.", "fr": "Aucun modèle n'a encore servi."},
    "recipients": {"en": "Recipients", "fr": "Destinataires"},
    "retention": {"en": "Retention schedule", "fr": "Durées de conservation"},
    "ret_predictions": {"en": "Predictions (receipts) not needed by an open case",
                        "fr": "Prédictions (reçus) dont aucun dossier ouvert n'a besoin"},
    "ret_tasks": {"en": "Retention tasks, once closed",
                  "fr": "Tâches de fidélisation, une fois closes"},
    "ret_disputes": {"en": "Disputes and decisions, once decided",
                     "fr": "Contestations et décisions, une fois tranchées"},
    "ret_notices": {"en": "Notices to customers, once sent",
                    "fr": "Avis aux clients, une fois envoyés"},
    "ret_links": {"en": "Link messages, once sent", "fr": "Messages de lien, une fois envoyés"},
    "ret_purge": {"en": "Purge after each batch run",
                  "fr": "Purge après chaque traitement par lots"},
    "days": {"en": "{n} days", "fr": "{n} jours"},
    "days_one": {"en": "{n} day", "fr": "{n} jour"},
    "purge_yes": {"en": "yes", "fr": "oui"},
    "purge_no": {"en": "no (make purge)", "fr": "non (make purge)"},
    "audit_kept": {"en": "The audit log is kept: it holds pseudonyms, ids and enums only, "
                         "never content.",
                   "fr": "Le journal d'audit est conservé : il ne contient que des "
                         "pseudonymes, des identifiants et des codes, jamais de contenu."},
    "security": {"en": "Security measures", "fr": "Mesures de sécurité"},
    "s_requests": {"en": "2. Rights requests of the period",
                   "fr": "2. Demandes d'exercice des droits de la période"},
    "requests_total": {
        "en": "{n} requests. A request is due one month after it is opened, extensible by two "
              "months with a reason (Art. 12(3)).",
        "fr": "{n} demandes. Une demande reçoit sa réponse dans le mois qui suit sa "
              "réception, délai prolongeable de deux mois avec un motif (art. 12(3))."},
    "requests_total_one": {
        "en": "{n} request. A request is due one month after it is opened, extensible by two "
              "months with a reason (Art. 12(3)).",
        "fr": "{n} demande. Une demande reçoit sa réponse dans le mois qui suit sa "
              "réception, délai prolongeable de deux mois avec un motif (art. 12(3))."},
    "col_request": {"en": "Kind", "fr": "Nature"},
    "col_opened": {"en": "Opened", "fr": "Reçues"},
    "col_answered": {"en": "Answered", "fr": "Traitées"},
    "col_in_time": {"en": "Within the deadline", "fr": "Dans le délai"},
    "col_extended": {"en": "Extended", "fr": "Prolongées"},
    "col_overdue": {"en": "Open past the deadline", "fr": "Ouvertes, délai dépassé"},
    "col_share": {"en": "Share in time", "fr": "Part dans le délai"},
    "req_access": {"en": "access", "fr": "accès"},
    "req_erasure": {"en": "erasure", "fr": "effacement"},
    "req_rectification": {"en": "rectification", "fr": "rectification"},
    "req_restriction": {"en": "restriction", "fr": "limitation"},
    "req_objection": {"en": "objection", "fr": "opposition"},
    "s_disputes": {"en": "3. Disputes and outcomes", "fr": "3. Contestations et leurs issues"},
    "disputes_line": {"en": "Received {received}; decided {decided}; open {open} (past their "
                            "deadline: {overdue}).",
                      "fr": "Reçues : {received} ; tranchées : {decided} ; ouvertes : {open} "
                            "(délai dépassé : {overdue})."},
    "median": {"en": "Median time to decision: {days}.",
               "fr": "Délai médian de décision : {days}."},
    "col_outcome": {"en": "Outcome", "fr": "Issue"},
    "col_disputes": {"en": "Disputes", "fr": "Contestations"},
    "out_upheld": {"en": "upheld (the prediction stands)",
                   "fr": "maintenue (la prédiction reste)"},
    "out_rectified": {"en": "rectified (data corrected, scored again)",
                      "fr": "rectifiée (données corrigées, nouveau calcul)"},
    "out_overturned": {"en": "overturned (the prediction withdrawn)",
                       "fr": "annulée (la prédiction retirée)"},
    "out_open": {"en": "not yet decided", "fr": "pas encore tranchée"},
    "col_rate": {"en": "Rate", "fr": "Taux"},
    "col_value": {"en": "Value", "fr": "Valeur"},
    "rate_decided_within_deadline": {"en": "Decided within the one-month deadline",
                                     "fr": "Tranchées dans le délai d'un mois"},
    "rate_rectification_changed_route": {
        "en": "Rectifications that changed what happens to the customer",
        "fr": "Rectifications qui ont changé ce qui arrive au client"},
    "rate_contested_customers": {"en": "Scored customers who contested",
                                 "fr": "Clients évalués qui ont contesté"},
    "rate_judged_mistaken": {"en": "Decided disputes judged a mistake (rectified or "
                                   "overturned)",
                             "fr": "Contestations tranchées jugées fondées (rectifiées ou "
                                   "annulées)"},
    "rate_blind_first_vs_model": {
        "en": "Blind-first review: reviewer's first judgement matched the model",
        "fr": "Examen à l'aveugle : le premier avis de l'examinateur rejoint le modèle"},
    "rate_blind_first_vs_final": {
        "en": "Blind-first review: first judgement matched the final decision",
        "fr": "Examen à l'aveugle : le premier avis rejoint la décision finale"},
    "rate_blind_model_vs_final": {
        "en": "Blind-first review: final decision upheld the model",
        "fr": "Examen à l'aveugle : la décision finale maintient le modèle"},
    "rate_blind_upheld_after_differing": {
        "en": "Blind-first review: model upheld although the first judgement differed",
        "fr": "Examen à l'aveugle : modèle maintenu bien que le premier avis diffère"},
    "s_models": {"en": "4. Model versions served", "fr": "4. Versions du modèle en service"},
    "model_h": {"en": "{name} version {version}", "fr": "{name} version {version}"},
    "model_facts": {"en": "First served {when}; data set “{dataset}”; {n} features.",
                    "fr": "En service depuis le {when} ; jeu de données « {dataset} » ; "
                          "{n} variables."},
    "model_facts_one": {"en": "First served {when}; data set “{dataset}”; {n} feature.",
                        "fr": "En service depuis le {when} ; jeu de données « {dataset} » ; "
                              "{n} variable."},
    "card_lang": {"en": "The model card, as training wrote it:",
                  "fr": "La fiche du modèle, telle que l'entraînement l'a rédigée (en "
                        "anglais) :"},
    "s_audit": {"en": "5. Audit chain", "fr": "5. Chaîne d'audit"},
    "chain_ok": {"en": "Verified: {n} entries, each sealing the one before; head {head} "
                       "({hash}…).",
                 "fr": "Vérifiée : {n} entrées, chacune scellant la précédente ; tête {head} "
                       "({hash}…)."},
    "chain_broken": {"en": "BROKEN at entry {seq}:", "fr": "ROMPUE à l'entrée {seq} :"},
    "recipient_role": {"en": "{n} active {role} accounts of the operator",
                       "fr": "{n} comptes actifs « {role} » de l'opérateur"},
    "recipient_role_one": {"en": "{n} active {role} account of the operator",
                           "fr": "{n} compte actif « {role} » de l'opérateur"},
    "recipient_auditors": {
        "en": "{n} active outside auditor accounts (aggregate figures only, never a customer's "
              "data; each read audited)",
        "fr": "{n} comptes actifs d'auditeurs extérieurs (chiffres agrégés seulement, jamais "
              "les données d'un client ; chaque lecture tracée)"},
    "recipient_auditors_one": {
        "en": "{n} active outside auditor account (aggregate figures only, never a customer's "
              "data; each read audited)",
        "fr": "{n} compte actif d'auditeur extérieur (chiffres agrégés seulement, jamais "
              "les données d'un client ; chaque lecture tracée)"},
    "recipient_customer_smtp": {
        "en": "the customer themselves (their page, their copy, notices by e-mail)",
        "fr": "le client lui-même (sa page, sa copie, les avis par courriel)"},
    "recipient_customer_mailbox": {
        "en": "the customer themselves (their page, their copy, notices by the development "
              "mailbox)",
        "fr": "le client lui-même (sa page, sa copie, les avis par la boîte aux lettres de "
              "développement)"},
    "recipient_no_third": {"en": "no third party receives customer data from this service",
                           "fr": "aucun tiers ne reçoit de données clients de ce service"},
    "role_agent": {"en": "agent", "fr": "conseiller"},
    "role_reviewer": {"en": "reviewer", "fr": "réviseur"},
    "role_admin": {"en": "admin", "fr": "administrateur"},
    "role_integration": {"en": "integration", "fr": "intégration"},
    "role_auditor": {"en": "auditor", "fr": "auditeur"},
    "not_shown": {"en": "—", "fr": "—"},
}

# the settings' defaults, worded in each language (an operator's own text is shown as set)
DEFAULT_CONTROLLER = {"en": "the operator of this service",
                      "fr": "l'exploitant de ce service"}
DEFAULT_LEGAL_BASIS = {
    "en": "legitimate interests (GDPR Art. 6(1)(f)): keeping customers by understanding why "
          "they may leave, with the right to object (Art. 21)",
    "fr": "intérêt légitime (RGPD, art. 6(1)(f)) : garder ses clients en comprenant pourquoi "
          "ils pourraient partir, avec le droit de s'y opposer (art. 21)",
}

PURPOSES = {
    "en": [
        "Estimate which customers may leave (churn risk), with the exact reasons of each "
        "estimate, so that a person in the retention team may contact them; no automated "
        "offer, message or price change follows from a score.",
        "Let customers see their prediction, contest it, ask for a human review, object to "
        "profiling and exercise their rights; decide their disputes (reviewers).",
        "Keep a tamper-evident record of what was done (accountability) and measure the "
        "model's quality and its gaps between groups (fairness audit).",
    ],
    "fr": [
        "Estimer quels clients pourraient partir (risque de départ), avec les raisons exactes "
        "de chaque estimation, pour qu'une personne de l'équipe de fidélisation puisse les "
        "contacter ; aucune offre, aucun message ni aucun changement de prix automatique ne "
        "découle d'un score.",
        "Permettre aux clients de voir leur prédiction, de la contester, de demander un "
        "examen humain, de s'opposer au profilage et d'exercer leurs droits ; trancher leurs "
        "contestations (réviseurs).",
        "Garder une trace infalsifiable de ce qui a été fait (responsabilité) et mesurer la "
        "qualité du modèle et ses écarts entre groupes (audit d'équité).",
    ],
}
PEOPLE = {
    "en": ["customers of the operator (the customer base scored for retention)",
           "staff of the operator (agents, reviewers, administrators), by name in the "
           "audit log",
           "outside auditors given an account, by name in the audit log"],
    "fr": ["les clients de l'opérateur (la base clients évaluée pour la fidélisation)",
           "le personnel de l'opérateur (conseillers, réviseurs, administrateurs), nommé dans "
           "le journal d'audit",
           "les auditeurs extérieurs dotés d'un compte, nommés dans le journal d'audit"],
}
SECURITY = {
    "en": [
        "Customer ids pseudonymised with a keyed hash (HMAC-SHA256, CHURN_PSEUDONYM_KEY) "
        "everywhere but the customer record itself; no raw id reaches training, MLflow, the "
        "audit log or the access log.",
        "Sensitive attributes (gender, age, family status) are never model features: they "
        "are used only to audit the model for bias, and are not held by the service.",
        "Append-only audit log, hash-chained (each row seals the one before), UPDATE and "
        "DELETE refused by database triggers; verified in this report.",
        "Staff tokens, customer links and sessions stored only as hashes; links single-use "
        "and expiring; sessions revoked by sign-out, deactivation and erasure.",
        "Roles: agents, reviewers, administrators, the integration account and outside "
        "auditors (aggregate figures only, never an individual, never a change; each of "
        "their reads audited); each route checks its role; pages protected against "
        "cross-site request forgery.",
        "Production refuses to start with development or short secrets.",
        "Rate limits on the customer routes; request bodies capped; access log without "
        "paths, query strings or tokens.",
        "Records restricted while contested (no listing, contact or training use); erasure "
        "leaves only the pseudonym and its date; retention schedule purged nightly.",
    ],
    "fr": [
        "Identifiants clients pseudonymisés par un hachage à clé (HMAC-SHA256, "
        "CHURN_PSEUDONYM_KEY) partout sauf dans la fiche du client ; aucun identifiant en "
        "clair n'atteint l'entraînement, MLflow, le journal d'audit ni le journal d'accès.",
        "Les attributs sensibles (sexe, âge, situation familiale) ne sont jamais des "
        "variables du modèle : ils servent seulement à vérifier l'absence de biais, et le "
        "service ne les conserve pas.",
        "Journal d'audit en ajout seul, chaîné par hachage (chaque ligne scelle la "
        "précédente), modification et suppression refusées par des déclencheurs de la base ; "
        "vérifié dans ce rapport.",
        "Jetons du personnel, liens et sessions des clients conservés seulement sous forme "
        "hachée ; liens à usage unique et à durée limitée ; sessions révoquées à la "
        "déconnexion, à la désactivation et à l'effacement.",
        "Rôles : conseillers, réviseurs, administrateurs, compte d'intégration et auditeurs "
        "extérieurs (chiffres agrégés seulement, jamais une personne, jamais une "
        "modification ; chacune de leurs lectures tracée) ; chaque route vérifie le rôle ; "
        "pages protégées contre la falsification de requêtes intersites.",
        "La production refuse de démarrer avec des secrets de développement ou trop courts.",
        "Limites de débit sur les routes clients ; taille des requêtes plafonnée ; journal "
        "d'accès sans chemins, paramètres ni jetons.",
        "Dossiers limités pendant une contestation (ni liste, ni contact, ni entraînement) ; "
        "l'effacement ne laisse que le pseudonyme et sa date ; durées de conservation "
        "appliquées chaque nuit.",
    ],
}


class MissingText(KeyError):
    """A text the report asks for is not in `TEXTS` in that language."""


def _fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def problems(texts: dict[str, dict[str, str]] = TEXTS) -> list[str]:
    """Entries missing a language or whose languages take different placeholders."""
    out = []
    for key, entry in texts.items():
        missing = [lang for lang in LANGS if not entry.get(lang)]
        if missing:
            out.append(f"{key}: no {', '.join(missing)} text")
        elif len({frozenset(_fields(entry[lang])) for lang in LANGS}) > 1:
            out.append(f"{key}: the languages take different placeholders")
    return out


def pick(lang: str | None) -> str:
    return lang if lang in LANGS else "en"


def singular(n: float, lang: str) -> bool:
    """French counts 0 and 1 in the singular, English only 1."""
    return n < 2 if lang == "fr" else n == 1


def translator(lang: str) -> Callable[..., str]:
    """`t(key, count=None, **params)`: the report's words in `lang`; `count` picks the
    `_one` form when the number takes the singular and passes it (formatted) as {n}."""
    lang = pick(lang)

    def t(key: str, count: int | None = None, **params: object) -> str:
        if count is not None:
            params.setdefault("n", integer(count, lang))
            if singular(count, lang) and key + "_one" in TEXTS:
                key += "_one"
        entry = TEXTS.get(key)
        if entry is None or lang not in entry:
            raise MissingText(f"no text {key!r} in {lang} in serving/compliance/wording.py; "
                              "add it in English and French")
        return entry[lang].format(**params) if params else entry[lang]

    return t


# -- numbers and dates ----------------------------------------------------------------------
def integer(n: int, lang: str) -> str:
    """1,234 / 1 234 (narrow no-break space)."""
    text = f"{int(n):,}"
    return text.replace(",", NNBSP) if lang == "fr" else text


def decimal(x: float, lang: str, digits: int = 1) -> str:
    """12.5 / 12,5 (with thousands separators as `integer`)."""
    text = f"{x:,.{digits}f}"
    if lang == "fr":
        text = text.replace(",", NNBSP).replace(".", ",")
    return text


def percent(rate: float, lang: str) -> str:
    """55% / 55 % (whole percent)."""
    value = f"{100 * rate:.0f}"
    return f"{value}{NBSP}%" if lang == "fr" else f"{value}%"


def when(value: str | datetime | None, lang: str) -> str:
    """A moment as the language writes it, in UTC: 2026-01-31 12:00 UTC / 31/01/2026
    12:00 UTC (a date alone when it is midnight)."""
    if value is None:
        return ""
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    if at.tzinfo is not None:
        at = at.astimezone(UTC)
    day = at.strftime("%d/%m/%Y") if lang == "fr" else at.strftime("%Y-%m-%d")
    if (at.hour, at.minute, at.second) == (0, 0, 0):
        return day
    return f"{day} {at.strftime('%H:%M')} UTC"


_PROBLEMS = problems()
if _PROBLEMS:  # refused at import, like the pages' catalogue
    raise RuntimeError("serving/compliance/wording.py TEXTS: " + "; ".join(_PROBLEMS))
