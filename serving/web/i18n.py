"""The words of the web pages in English and French.

Feature labels, value labels and reason sentences come from the model spec (bilingual
already); this catalogue holds only the words of the pages themselves.
"""

from __future__ import annotations

import re
import string

from models.spec import is_singular

LANGS = ("en", "fr")
DEFAULT_LANG = "en"

CATALOG: dict[str, dict[str, str]] = {
    # frame
    "skip": {"en": "Skip to content", "fr": "Aller au contenu"},
    "product": {"en": "Churn prediction", "fr": "Prédiction de départ"},
    "switch_lang": {"en": "Français", "fr": "English"},
    "switch_lang_label": {"en": "Lire cette page en français",
                          "fr": "Read this page in English"},
    "sign_out": {"en": "Sign out", "fr": "Se déconnecter"},
    # the monitoring dashboard (issue 17)
    "dash_nav": {"en": "Dashboard", "fr": "Tableau de bord"},
    "dash_title": {"en": "Monitoring dashboard", "fr": "Tableau de bord de suivi"},
    "dash_lead": {
        "en": "What the scores became: who was scored and routed, what agents did, who "
              "actually left, whether contact helps, and whether the model still ranks well, "
              "treats groups alike and sees the customers it was trained on. Figures as of "
              "{when}.",
        "fr": "Ce que sont devenus les scores : qui a été évalué et orienté, ce qu'ont fait "
              "les conseillers, qui est réellement parti, si le contact aide, et si le modèle "
              "classe toujours bien, traite les groupes de la même façon et voit les clients "
              "sur lesquels il a été entraîné. Chiffres au {when}.",
    },
    "dash_alerts": {"en": "Alerts", "fr": "Alertes"},
    "dash_no_alerts": {"en": "No alert: drift, realised quality and fairness are within "
                              "their thresholds.",
                       "fr": "Aucune alerte : dérive, qualité constatée et équité sont dans "
                             "leurs seuils."},
    "dash_alert_drift": {
        "en": "Drift on {subject} in the run of {period}: PSI {value} at or above {threshold}. "
              "The customers scored no longer look like those the model was trained on: "
              "check the data feed, then consider retraining (make retrain).",
        "fr": "Dérive de {subject} dans le passage du {period} : PSI {value}, au moins "
              "{threshold}. Les clients évalués ne ressemblent plus à ceux de l'entraînement : "
              "vérifiez les données reçues, puis envisagez un réentraînement (make retrain).",
    },
    "dash_alert_quality": {
        "en": "Realised quality of {subject} in {period}: ROC-AUC {value}, its whole interval "
              "below {threshold}. Retrain or roll back the model.",
        "fr": "Qualité constatée de {subject} en {period} : ROC-AUC {value}, tout son "
              "intervalle sous {threshold}. Réentraînez ou revenez au modèle précédent.",
    },
    "dash_alert_fairness": {
        "en": "Fairness for {subject} in {period}: equalized-odds gap {value} above "
              "{threshold}. Look at the groups below and tell the data protection officer.",
        "fr": "Équité pour {subject} en {period} : écart d'égalité des chances {value} "
              "au-dessus de {threshold}. Regardez les groupes ci-dessous et prévenez le "
              "délégué à la protection des données.",
    },
    "dash_empty": {"en": "Nothing scored yet: the dashboard fills in after the first batch run.",
                   "fr": "Rien n'a encore été évalué : le tableau se remplit après le premier "
                         "passage du traitement par lots."},
    "dash_risk": {"en": "Risk over time", "fr": "Le risque dans le temps"},
    "dash_risk_desc": {"en": "Share of each month's scored customers in each risk band.",
                       "fr": "Part des clients évalués chaque mois dans chaque niveau de "
                             "risque."},
    "band_low": {"en": "low", "fr": "faible"},
    "band_medium": {"en": "medium", "fr": "moyen"},
    "band_high": {"en": "high", "fr": "élevé"},
    "dash_mean_score": {"en": "Mean score", "fr": "Score moyen"},
    "dash_month": {"en": "Month", "fr": "Mois"},
    "dash_scored": {"en": "Scored", "fr": "Évalués"},
    "dash_tasks": {"en": "Tasks and outcomes", "fr": "Tâches et résultats"},
    "dash_tasks_desc": {"en": "Retention tasks opened each month, by what became of them.",
                        "fr": "Tâches de fidélisation ouvertes chaque mois, selon ce qu'elles "
                              "sont devenues."},
    "dash_opened": {"en": "Opened", "fr": "Ouvertes"},
    "outcome_retained": {"en": "retained", "fr": "gardé"},
    "outcome_declined": {"en": "declined", "fr": "refus"},
    "outcome_no_contact": {"en": "not reached", "fr": "injoignable"},
    "outcome_churned": {"en": "left", "fr": "parti"},
    "outcome_open": {"en": "open", "fr": "ouverte"},
    "outcome_claimed": {"en": "claimed", "fr": "prise"},
    "outcome_cancelled": {"en": "cancelled", "fr": "annulée"},
    "outcome_done": {"en": "done", "fr": "terminée"},
    "dash_effect": {"en": "Does contact help?", "fr": "Le contact aide-t-il ?"},
    "dash_effect_desc": {
        "en": "Churn among customers assigned to contact minus churn in the randomised "
              "control group ({share} of those a task would be opened for get none), with its "
              "95 % interval. Below zero, contact lowered churn; an interval crossing zero "
              "has not shown an effect yet.",
        "fr": "Départs parmi les clients désignés pour un contact moins départs dans le groupe "
              "témoin tiré au sort ({share} de ceux pour qui une tâche serait ouverte n'en ont "
              "pas), avec son intervalle à 95 %. Sous zéro, le contact a réduit les départs ; "
              "un intervalle qui contient zéro n'a pas encore montré d'effet.",
    },
    "dash_effect_none": {"en": "No labelled customer in both arms yet.",
                         "fr": "Pas encore de client étiqueté dans les deux groupes."},
    "dash_no_control": {
        "en": "There is no control group (CHURN_CONTROL_FRACTION=0): whether contact helps "
              "cannot be measured.",
        "fr": "Il n'y a pas de groupe témoin (CHURN_CONTROL_FRACTION=0) : on ne peut pas "
              "mesurer si le contact aide.",
    },
    "dash_all": {"en": "All periods", "fr": "Toutes périodes"},
    "dash_effect_row": {"en": "{segment}: {contact} contacted, {control} held out",
                        "fr": "{segment} : {contact} contactés, {control} témoins"},
    "dash_targeting": {"en": "Queue ranked by: {rule}.", "fr": "File classée selon : {rule}."},
    "rule_risk": {"en": "churn risk", "fr": "risque de départ"},
    "rule_uplift": {"en": "expected retained value (uplift model)",
                    "fr": "valeur gardée attendue (modèle d'uplift)"},
    "dash_quality": {"en": "Realised quality", "fr": "Qualité constatée"},
    "dash_quality_note": {
        "en": "ROC-AUC of the scores against who actually left within the horizon, per model "
              "version and month of scoring. A contacted customer's label is affected by the "
              "contact, so it is computed on the control group (weighted by the inverse of "
              "its share) and the customers no task was drawn for.",
        "fr": "ROC-AUC des scores face aux départs réels dans l'horizon, par version du "
              "modèle et mois d'évaluation. Le contact change l'issue d'un client contacté : "
              "le calcul porte donc sur le groupe témoin (pondéré par l'inverse de sa part) et "
              "les clients pour qui aucune tâche n'a été tirée.",
    },
    "dash_quality_none": {"en": "No labelled prediction yet: labels come once the horizon "
                                "({days} days) has passed.",
                          "fr": "Pas encore de prédiction étiquetée : les étiquettes viennent "
                                "une fois l'horizon ({days} jours) passé."},
    "dash_auc_all": {"en": "All rows (biased by contact)",
                     "fr": "Toutes les lignes (biaisé par le contact)"},
    "dash_rows": {"en": "Rows", "fr": "Lignes"},
    "dash_calibration": {"en": "Calibration error", "fr": "Erreur de calibration"},
    "dash_version": {"en": "Model", "fr": "Modèle"},
    "dash_drift": {"en": "Drift", "fr": "Dérive"},
    "dash_drift_desc": {
        "en": "Population stability index of each feature and of the score, each batch run "
              "against the training data stored with the model. Warning at {warn}, alert at "
              "{alert}.",
        "fr": "Indice de stabilité de la population de chaque variable et du score, à chaque "
              "passage, face aux données d'entraînement gardées avec le modèle. Avertissement "
              "à {warn}, alerte à {alert}.",
    },
    "dash_drift_none": {"en": "No batch run yet.", "fr": "Aucun passage par lots pour l'instant."},
    "dash_run": {"en": "Run", "fr": "Passage"},
    "dash_score": {"en": "score", "fr": "score"},
    "dash_status_ok": {"en": "stable", "fr": "stable"},
    "dash_status_warn": {"en": "warning", "fr": "avertissement"},
    "dash_status_alert": {"en": "ALERT", "fr": "ALERTE"},
    "dash_status_unknown": {"en": "no reference", "fr": "sans référence"},
    "dash_fairness": {"en": "Fairness over time", "fr": "L'équité dans le temps"},
    "dash_fairness_desc": {
        "en": "Share of customers who left that the model put in the high band (true "
              "positive rate), per group, with 95 % intervals. Sensitive attributes are never "
              "model inputs; they come from {source}, kept apart for this audit.",
        "fr": "Part des clients partis que le modèle avait placés en risque élevé (taux de "
              "vrais positifs), par groupe, avec intervalles à 95 %. Les attributs sensibles "
              "ne sont jamais des entrées du modèle ; ils viennent de {source}, gardé à part "
              "pour cet audit.",
    },
    "dash_fairness_none": {
        "en": "Not audited: no sensitive attributes are configured (CHURN_AUDIT_ATTRIBUTES).",
        "fr": "Non audité : aucun attribut sensible n'est configuré (CHURN_AUDIT_ATTRIBUTES).",
    },
    "dash_group": {"en": "Group", "fr": "Groupe"},
    "dash_gap": {"en": "Equalized-odds gap", "fr": "Écart d'égalité des chances"},
    "dash_tpr": {"en": "True positive rate", "fr": "Taux de vrais positifs"},
    # errors
    "err_401_title": {"en": "Please sign in", "fr": "Veuillez vous identifier"},
    "err_401_staff": {
        "en": "This page is for the retention and review teams. Sign in with your staff "
              "token to continue.",
        "fr": "Cette page est réservée aux équipes de fidélisation et de revue. "
              "Identifiez-vous avec votre jeton pour continuer.",
    },
    "err_401_customer": {
        "en": "Open the link we sent you again to see your page. If it has expired, "
              "ask us for a new one.",
        "fr": "Ouvrez à nouveau le lien que nous vous avons envoyé pour voir votre page. "
              "S'il a expiré, demandez-nous-en un nouveau.",
    },
    "err_403_title": {"en": "Not allowed", "fr": "Accès non autorisé"},
    "err_403_text": {
        "en": "You are signed in, but this page is not open to you.",
        "fr": "Vous êtes identifié, mais cette page ne vous est pas ouverte.",
    },
    "err_403_customer": {
        "en": "Your link only opens your own page.",
        "fr": "Votre lien n'ouvre que votre propre page.",
    },
    "err_403_staff": {
        "en": "Ask an administrator for the role this page needs, or sign in with "
              "another token.",
        "fr": "Demandez à un administrateur le rôle nécessaire, ou identifiez-vous avec "
              "un autre jeton.",
    },
    "err_csrf_title": {"en": "The form has expired", "fr": "Le formulaire a expiré"},
    "err_csrf_text": {
        "en": "For your safety this form could not be accepted (its security token is "
              "missing or out of date). Go back, reload the page and send it again.",
        "fr": "Par sécurité, ce formulaire n'a pas pu être accepté (son jeton de sécurité "
              "manque ou n'est plus valable). Revenez en arrière, rechargez la page et "
              "envoyez-le à nouveau.",
    },
    "err_404_title": {"en": "Not found", "fr": "Introuvable"},
    "err_404_text": {"en": "There is nothing here, or it is not yours to see.",
                     "fr": "Il n'y a rien ici, ou ce n'est pas à vous de le voir."},
    "err_other_title": {"en": "Something went wrong", "fr": "Une erreur est survenue"},
    "err_429_title": {"en": "Too many requests", "fr": "Trop de demandes"},
    "err_429_text": {"en": "Please wait a minute and try again.",
                     "fr": "Merci de patienter une minute puis de réessayer."},
    "go_sign_in": {"en": "Go to the sign-in page", "fr": "Aller à la page d'identification"},
    "go_home": {"en": "Back to the start", "fr": "Retour à l'accueil"},
    # customer access
    "access_title": {"en": "Your personal page", "fr": "Votre page personnelle"},
    "access_intro": {
        "en": "Open the link we sent you. If your browser did not open your page by "
              "itself, paste the access code from the link here.",
        "fr": "Ouvrez le lien que nous vous avons envoyé. Si votre navigateur n'a pas "
              "ouvert votre page tout seul, collez ici le code d'accès du lien.",
    },
    "access_code": {"en": "Access code", "fr": "Code d'accès"},
    "access_open": {"en": "Open my page", "fr": "Ouvrir ma page"},
    "access_bad": {
        "en": "This access code is not valid or has expired. Ask us for a new link.",
        "fr": "Ce code d'accès n'est pas valable ou a expiré. Demandez-nous un nouveau lien.",
    },
    # customer page
    "me_title": {"en": "What our model says about you", "fr": "Ce que notre modèle dit de vous"},
    "me_none": {
        "en": "We hold no prediction about you at the moment.",
        "fr": "Nous ne détenons actuellement aucune prédiction vous concernant.",
    },
    "me_pred_high": {
        "en": "Our model estimates that you may be considering leaving us.",
        "fr": "Notre modèle estime que vous envisagez peut-être de nous quitter.",
    },
    "me_pred_medium": {
        "en": "Our model estimates that there is some chance you may leave us.",
        "fr": "Notre modèle estime qu'il est possible que vous nous quittiez.",
    },
    "me_pred_low": {
        "en": "Our model estimates that you are likely to stay with us.",
        "fr": "Notre modèle estime que vous resterez probablement avec nous.",
    },
    "me_estimate": {"en": "Estimated chance of leaving: {pct}.",
                    "fr": "Probabilité estimée de départ : {pct}."},
    "me_made": {"en": "Estimate made on {date} by model {model}.",
                "fr": "Estimation faite le {date} par le modèle {model}."},
    "me_factors": {"en": "The main reasons", "fr": "Les principales raisons"},
    "me_factors_intro": {
        "en": "These are the facts that weighed most in the estimate:",
        "fr": "Voici les éléments qui ont le plus pesé dans l'estimation :",
    },
    "me_chart_title": {"en": "How each fact moved the estimate",
                       "fr": "Comment chaque élément a fait varier l'estimation"},
    "me_data": {"en": "The data we used, and why", "fr": "Les données utilisées, et pourquoi"},
    "me_no_auto": {"en": "No automatic decision", "fr": "Aucune décision automatique"},
    "me_no_auto_text": {
        "en": "Nothing is decided automatically from this estimate: no message, offer or "
              "price change is triggered by it. A person from our team may contact you; "
              "they decide what, if anything, to propose.",
        "fr": "Rien n'est décidé automatiquement à partir de cette estimation : aucun "
              "message, aucune offre, aucun changement de prix. Une personne de notre équipe "
              "peut vous contacter ; c'est elle qui décide de ce qu'elle vous propose.",
    },
    # issue 17: the control group, said to every customer (never whether they are in it)
    "me_control_group": {
        "en": "Some customers are not contacted, drawn at random each period, so that the "
              "team can learn whether contacting customers actually helps. Being in that "
              "group changes nothing else: your estimate, your data and your rights stay "
              "the same.",
        "fr": "Certains clients ne sont pas contactés, tirés au sort à chaque période, pour "
              "que l'équipe puisse savoir si contacter les clients aide vraiment. Faire "
              "partie de ce groupe ne change rien d'autre : votre estimation, vos données et "
              "vos droits restent les mêmes.",
    },
    "me_rights": {"en": "Your rights", "fr": "Vos droits"},
    "contest_cta": {"en": "Contest this prediction", "fr": "Contester cette prédiction"},
    "object_cta": {"en": "Object to profiling", "fr": "M'opposer au profilage"},
    "restricted": {
        "en": "You have contested this prediction. While a person reviews it, your record "
              "is not used.",
        "fr": "Vous avez contesté cette prédiction. Pendant son examen par une personne, "
              "votre dossier n'est pas utilisé.",
    },
    "objected": {
        "en": "You objected to profiling. No more retention predictions will be made about "
              "you.",
        "fr": "Vous vous êtes opposé(e) au profilage. Plus aucune prédiction de départ ne "
              "sera faite à votre sujet.",
    },
    "withdraw_how": {
        "en": "You can withdraw your objection at any time with the button below.",
        "fr": "Vous pouvez retirer votre opposition à tout moment avec le bouton ci-dessous.",
    },
    "withdraw_cta": {"en": "Withdraw my objection", "fr": "Retirer mon opposition"},
    "withdrawn_done": {
        "en": "Your objection is withdrawn.",
        "fr": "Votre opposition est retirée.",
    },
    "my_disputes": {"en": "Your requests", "fr": "Vos demandes"},
    "ref": {"en": "Reference", "fr": "Référence"},
    "status": {"en": "Status", "fr": "Statut"},
    "due": {"en": "Answer due by", "fr": "Réponse au plus tard le"},
    "received": {"en": "Received", "fr": "Reçue le"},
    "outcome": {"en": "Outcome", "fr": "Résultat"},
    "st_open": {"en": "being reviewed", "fr": "en cours d'examen"},
    "st_decided": {"en": "decided", "fr": "décidée"},
    "dec_upheld": {
        "en": "A person reviewed your request and confirmed the prediction.",
        "fr": "Une personne a examiné votre demande et a confirmé la prédiction.",
    },
    "dec_rectified": {
        "en": "A person reviewed your request, corrected your data and made a new "
              "estimate.",
        "fr": "Une personne a examiné votre demande, a corrigé vos données et a refait "
              "l'estimation.",
    },
    "dec_overturned": {
        "en": "A person reviewed your request and withdrew the prediction: it is no longer "
              "used.",
        "fr": "Une personne a examiné votre demande et a retiré la prédiction : elle n'est "
              "plus utilisée.",
    },
    "rationale": {"en": "Explanation from the reviewer", "fr": "Explication de la personne"},
    "view_status": {"en": "See the status", "fr": "Voir le statut"},
    "back_me": {"en": "Back to my page", "fr": "Retour à ma page"},
    # contest form
    "contest_title": {"en": "Contest the prediction", "fr": "Contester la prédiction"},
    "contest_intro": {
        "en": "Tick each fact that is wrong and give the right value. You may also explain "
              "in your own words.",
        "fr": "Cochez chaque élément faux et indiquez la bonne valeur. Vous pouvez aussi "
              "vous expliquer avec vos propres mots.",
    },
    "we_have": {"en": "We have:", "fr": "Nous avons :"},
    "is_wrong": {"en": "This is wrong", "fr": "C'est faux"},
    "right_value": {"en": "Right value", "fr": "Bonne valeur"},
    "choose": {"en": "Choose…", "fr": "Choisir…"},
    "statement": {"en": "Your statement", "fr": "Votre explication"},
    "statement_hint": {"en": "Up to {n} characters.", "fr": "Jusqu'à {n} caractères."},
    "want_human": {"en": "I want a person to review this",
                   "fr": "Je veux qu'une personne examine ma demande"},
    "send": {"en": "Send my request", "fr": "Envoyer ma demande"},
    "cancel": {"en": "Cancel", "fr": "Annuler"},
    "form_errors": {"en": "Please correct the fields marked below.",
                    "fr": "Merci de corriger les champs signalés ci-dessous."},
    "e_need_something": {
        "en": "Tick at least one wrong fact, or write a statement.",
        "fr": "Cochez au moins un élément faux, ou écrivez une explication.",
    },
    "e_need_value": {"en": "Give the right value.", "fr": "Indiquez la bonne valeur."},
    "e_number": {"en": "Enter a number.", "fr": "Saisissez un nombre."},
    "e_range": {"en": "Enter a number between {lo} and {hi}.",
                "fr": "Saisissez un nombre entre {lo} et {hi}."},
    "e_min": {"en": "Enter a number of at least {lo}.",
              "fr": "Saisissez un nombre supérieur ou égal à {lo}."},
    "e_whole": {"en": "Enter a whole number.", "fr": "Saisissez un nombre entier."},
    "e_text": {"en": "This text contains a character we cannot keep.",
               "fr": "Ce texte contient un caractère que nous ne pouvons pas conserver."},
    "e_choice": {"en": "Choose one of the listed values.",
                 "fr": "Choisissez une des valeurs proposées."},
    "e_same": {"en": "This is the value we already have.",
               "fr": "C'est la valeur que nous avons déjà."},
    "e_too_long": {"en": "Keep it to {n} characters (you wrote {m}).",
                   "fr": "Limitez-vous à {n} caractères (vous en avez écrit {m})."},
    "sent_title": {"en": "We have received your request",
                   "fr": "Nous avons bien reçu votre demande"},
    "sent_text": {
        "en": "A person will review it. Until then your record is not used.",
        "fr": "Une personne va l'examiner. D'ici là, votre dossier n'est pas utilisé.",
    },
    "sent_keep": {
        "en": "Keep this reference. You can come back to this page at any time with "
              "your link.",
        "fr": "Gardez cette référence. Vous pouvez revenir sur cette page à tout moment "
              "avec votre lien.",
    },
    "dispute_title": {"en": "Your request", "fr": "Votre demande"},
    "you_said": {"en": "What you told us", "fr": "Ce que vous nous avez dit"},
    "contested": {"en": "Facts you contested", "fr": "Éléments contestés"},
    "new_estimate": {"en": "The new estimate", "fr": "La nouvelle estimation"},
    # objection
    "object_title": {"en": "Object to profiling", "fr": "S'opposer au profilage"},
    "object_text": {
        "en": "If you object, we will stop making retention predictions about you, and "
              "your record will not appear in our retention lists. You can withdraw your "
              "objection later.",
        "fr": "Si vous vous opposez, nous cesserons de faire des prédictions de départ à "
              "votre sujet, et votre dossier n'apparaîtra plus dans nos listes de "
              "fidélisation. Vous pourrez retirer votre opposition plus tard.",
    },
    "object_confirm": {"en": "Yes, I object", "fr": "Oui, je m'oppose"},
    "object_done": {"en": "Your objection is recorded.",
                    "fr": "Votre opposition est enregistrée."},
    "not_available": {
        "en": "This cannot be done online yet. Please reply to the message that brought "
              "you this link.",
        "fr": "Ce n'est pas encore possible en ligne. Merci de répondre au message qui vous "
              "a apporté ce lien.",
    },
    "raises": {"en": "raises the risk", "fr": "augmente le risque"},
    "lowers": {"en": "lowers the risk", "fr": "diminue le risque"},
    "chart_desc": {
        "en": "Bars to the right raised the estimate, bars to the left lowered it.",
        "fr": "Les barres vers la droite ont augmenté l'estimation, celles vers la gauche "
              "l'ont diminuée.",
    },
    "other_factors": {"en": "{n} other facts", "fr": "{n} autres éléments"},
    "other_factors_one": {"en": "{n} other fact", "fr": "{n} autre élément"},
    # -- reasons and data (issue 16) --
    "why_used": {"en": "Why it is used", "fr": "Pourquoi cet élément est utilisé"},
    "in_english": {"en": "in English", "fr": "en anglais"},
    "lang_note": {
        "en": "Written by the reviewer in their own words, in {language}; not translated.",
        "fr": "Rédigé par la personne qui a examiné votre demande, avec ses propres mots, "
              "{language} ; non traduit.",
    },
    "lang_note_unknown": {
        "en": "Written by the reviewer in their own words; not translated.",
        "fr": "Rédigé par la personne qui a examiné votre demande, avec ses propres mots ; "
              "non traduit.",
    },
    "lang_name_en": {"en": "English", "fr": "en anglais"},
    "lang_name_fr": {"en": "French", "fr": "en français"},
    "system_note": {"en": "System note:", "fr": "Note du système (en anglais) :"},
    "detail_note": {
        "en": "Details from the system:",
        "fr": "Détails donnés par le système (en anglais) :",
    },
    # errors (issue 16): every status a page can answer
    "err_400_title": {"en": "This request could not be understood",
                      "fr": "Cette demande n'a pas pu être comprise"},
    "err_400_text": {"en": "Go back, check what you entered and try again.",
                     "fr": "Revenez en arrière, vérifiez ce que vous avez saisi et réessayez."},
    "err_409_title": {"en": "This cannot be done now", "fr": "Impossible pour le moment"},
    "err_409_text": {
        "en": "Something already in progress prevents it (for example a request that is still "
              "being reviewed). Go back to see where things stand.",
        "fr": "Une démarche déjà en cours l'empêche (par exemple une demande encore en cours "
              "d'examen). Revenez en arrière pour voir où en sont les choses.",
    },
    "err_409_dispute_open": {
        "en": "You already have a request about this prediction being reviewed. You can "
              "follow it from your page; you will be told of the decision.",
        "fr": "Vous avez déjà une demande en cours d'examen sur cette prédiction. Vous pouvez "
              "la suivre depuis votre page ; la décision vous sera communiquée.",
    },
    "err_422_title": {"en": "Some details are not valid",
                      "fr": "Certaines informations ne sont pas valables"},
    "err_422_text": {"en": "Go back, correct the details and send them again.",
                     "fr": "Revenez en arrière, corrigez les informations et envoyez-les "
                           "à nouveau."},
    "err_500_text": {
        "en": "This is our fault, not yours. Please try again in a few minutes.",
        "fr": "C'est de notre fait, pas du vôtre. Merci de réessayer dans quelques minutes.",
    },
    "err_501_title": {"en": "Not available online yet", "fr": "Pas encore disponible en ligne"},
    "err_503_title": {"en": "Temporarily unavailable", "fr": "Momentanément indisponible"},
    "err_503_text": {
        "en": "The service cannot answer right now. Please try again in a few minutes.",
        "fr": "Le service ne peut pas répondre pour le moment. Merci de réessayer dans "
              "quelques minutes.",
    },
    "err_403_staff_only": {
        "en": "These pages are for customers, through their own link.",
        "fr": "Ces pages sont destinées aux clients, par leur propre lien.",
    },
    "err_403_role": {"en": "This page needs the role {roles}; you are signed in as {role}.",
                     "fr": "Cette page demande le rôle {roles} ; vous êtes identifié comme "
                           "{role}."},
    "or": {"en": "or", "fr": "ou"},
    # -- staff pages (issue 16) --
    "s_nav": {"en": "Staff pages", "fr": "Pages du personnel"},
    "s_nav_risk": {"en": "Risk list", "fr": "Liste des risques"},
    "s_nav_reviews": {"en": "Review queue", "fr": "File des revues"},
    "s_nav_audit": {"en": "Audit", "fr": "Audit"},
    "s_nav_users": {"en": "Staff", "fr": "Personnel"},
    "role_agent": {"en": "agent", "fr": "conseiller"},
    "role_reviewer": {"en": "reviewer", "fr": "réviseur"},
    "role_admin": {"en": "admin", "fr": "administrateur"},
    "role_integration": {"en": "integration", "fr": "intégration"},
    "role_auditor": {"en": "auditor", "fr": "auditeur"},
    "band_risk": {"en": "{band} risk", "fr": "risque {band}"},
    "task_open": {"en": "open", "fr": "ouverte"},
    "task_claimed": {"en": "claimed", "fr": "prise en charge"},
    "task_done": {"en": "done", "fr": "terminée"},
    "task_cancelled": {"en": "cancelled", "fr": "annulée"},
    "decision_upheld": {"en": "upheld", "fr": "confirmée"},
    "decision_rectified": {"en": "rectified", "fr": "rectifiée"},
    "decision_overturned": {"en": "overturned", "fr": "annulée"},
    "none_dash": {"en": "none", "fr": "aucune"},
    "first_page": {"en": "First page", "fr": "Première page"},
    "next_page": {"en": "Next page", "fr": "Page suivante"},
    "pages": {"en": "Pages", "fr": "Pages"},
    # sign-in
    "s_sign_in_title": {"en": "Staff sign-in", "fr": "Connexion du personnel"},
    "s_sign_in_intro": {
        "en": "For the retention and review teams. Paste the staff token you were given (an "
              "administrator creates it). It is exchanged for a session cookie and not kept "
              "in the browser.",
        "fr": "Pour les équipes de fidélisation et de revue. Collez le jeton qui vous a été "
              "remis (un administrateur le crée). Il est échangé contre un cookie de session "
              "et n'est pas conservé dans le navigateur.",
    },
    "s_token": {"en": "Staff token", "fr": "Jeton du personnel"},
    "s_sign_in": {"en": "Sign in", "fr": "Se connecter"},
    "s_bad_token": {
        "en": "This token is not valid (or the user was deactivated). Check it, or ask an "
              "administrator for a new one.",
        "fr": "Ce jeton n'est pas valable (ou l'utilisateur a été désactivé). Vérifiez-le, ou "
              "demandez-en un nouveau à un administrateur.",
    },
    # risk list
    "s_risk_title": {"en": "Risk list", "fr": "Liste des risques"},
    "s_risk_lead": {
        "en": "Customers by their latest score, highest first. A high score asks a person to "
              "get in touch; nothing is sent to the customer automatically. Customers who "
              "contested or objected are not listed.",
        "fr": "Les clients selon leur dernier score, du plus élevé au plus faible. Un score "
              "élevé demande qu'une personne prenne contact ; rien n'est envoyé "
              "automatiquement au client. Les clients qui ont contesté ou se sont opposés ne "
              "sont pas listés.",
    },
    "s_filters": {"en": "Filter the list", "fr": "Filtrer la liste"},
    "s_band": {"en": "Risk band", "fr": "Niveau de risque"},
    "s_all_bands": {"en": "All bands", "fr": "Tous les niveaux"},
    "s_task": {"en": "Retention task", "fr": "Tâche de fidélisation"},
    "s_any": {"en": "Any", "fr": "Toutes"},
    "s_f_open": {"en": "Open (nobody has it)", "fr": "Ouverte (personne ne l'a prise)"},
    "s_f_claimed": {"en": "Claimed", "fr": "Prise en charge"},
    "s_f_none": {"en": "No open task", "fr": "Aucune tâche ouverte"},
    "s_apply": {"en": "Apply filters", "fr": "Appliquer les filtres"},
    "s_clear": {"en": "Clear filters", "fr": "Effacer les filtres"},
    "s_no_match": {"en": "No customer matches these filters.",
                   "fr": "Aucun client ne correspond à ces filtres."},
    "s_risk_caption": {"en": "Customers at risk, highest score first",
                       "fr": "Clients à risque, score le plus élevé d'abord"},
    "s_customer": {"en": "Customer", "fr": "Client"},
    "s_score": {"en": "Score", "fr": "Score"},
    "s_band_col": {"en": "Band", "fr": "Niveau"},
    "s_main_reasons": {"en": "Main reasons", "fr": "Principales raisons"},
    # customer view
    "s_back_risk": {"en": "Risk list", "fr": "Liste des risques"},
    "s_customer_title": {"en": "Customer {id}", "fr": "Client {id}"},
    "s_restricted": {"en": "Restricted:", "fr": "Dossier gelé :"},
    "s_restricted_text": {
        "en": "the customer contested this prediction. Until a reviewer decides, the record is "
              "not used: no contact, no risk list, no training.",
        "fr": "le client a contesté cette prédiction. Tant qu'un réviseur n'a pas décidé, le "
              "dossier n'est pas utilisé : aucun contact, pas de liste des risques, pas "
              "d'entraînement.",
    },
    "s_objected": {"en": "Objected to profiling:", "fr": "Opposé au profilage :"},
    "s_objected_text": {
        "en": "the customer must not be scored or contacted for retention.",
        "fr": "le client ne doit être ni évalué ni contacté pour la fidélisation.",
    },
    "s_latest": {"en": "Latest score", "fr": "Dernier score"},
    "s_model_made": {"en": "Model {model} v{version} · {date}",
                     "fr": "Modèle {model} v{version} · {date}"},
    "s_no_prediction": {"en": "No prediction is held for this customer.",
                        "fr": "Aucune prédiction n'est détenue pour ce client."},
    "s_task_h": {"en": "Retention task", "fr": "Tâche de fidélisation"},
    "s_no_task": {"en": "No retention task. Nothing is done for this customer.",
                  "fr": "Aucune tâche de fidélisation. Rien n'est fait pour ce client."},
    "s_status": {"en": "Status:", "fr": "Statut :"},
    "s_claimed_by": {"en": "claimed by {name}", "fr": "prise en charge par {name}"},
    "s_claim": {"en": "Claim this task", "fr": "Prendre cette tâche"},
    "s_how_went": {"en": "How did the contact go?", "fr": "Comment s'est passé le contact ?"},
    "s_note": {"en": "Note (optional)", "fr": "Note (facultative)"},
    "s_complete": {"en": "Complete the task", "fr": "Terminer la tâche"},
    "s_outcome": {"en": "Outcome:", "fr": "Résultat :"},
    "s_link_h": {"en": "Self-service link", "fr": "Lien d'accès du client"},
    "s_send_link": {"en": "Send the customer a link to their page",
                    "fr": "Envoyer au client un lien vers sa page"},
    "s_chart_h": {"en": "What moved the score", "fr": "Ce qui a fait varier le score"},
    "s_chart_note": {
        "en": "Exact SHAP contributions, worded by size (a little, clearly, a lot); red raised "
              "the risk, blue lowered it.",
        "fr": "Contributions SHAP exactes, décrites selon leur taille (un peu, nettement, "
              "beaucoup) ; en rouge elles ont augmenté le risque, en bleu elles l'ont diminué.",
    },
    "s_data_h": {"en": "Data used", "fr": "Données utilisées"},
    "s_feature": {"en": "Feature", "fr": "Donnée"},
    "s_value": {"en": "Value", "fr": "Valeur"},
    "s_hist_h": {"en": "Prediction history", "fr": "Historique des prédictions"},
    "s_when": {"en": "When", "fr": "Date"},
    "s_model": {"en": "Model", "fr": "Modèle"},
    "s_source": {"en": "Source", "fr": "Origine"},
    "s_note_col": {"en": "Note", "fr": "Remarque"},
    "s_withdrawn": {"en": "withdrawn", "fr": "retirée"},
    "s_none": {"en": "None.", "fr": "Aucune."},
    # staff flashes
    "s_link_sent": {"en": "A new link is on its way to the customer's contact address.",
                    "fr": "Un nouveau lien est en route vers l'adresse de contact du client."},
    "s_link_not_sent": {"en": "Not sent: {detail}.", "fr": "Non envoyé : {detail}."},
    "s_not_claimed": {"en": "Not claimed: {detail}.", "fr": "Non prise : {detail}."},
    "s_claimed_done": {
        "en": "Task claimed: it is yours. Get in touch, then record the outcome.",
        "fr": "Tâche prise : elle est à vous. Prenez contact, puis notez le résultat.",
    },
    "s_choose_outcome": {
        "en": "Choose an outcome (and keep the note under 4,000 characters).",
        "fr": "Choisissez un résultat (et limitez la note à 4 000 caractères).",
    },
    "s_not_completed": {"en": "Not completed: {detail}.", "fr": "Non terminée : {detail}."},
    "s_completed": {"en": "Task completed with the outcome “{outcome}”. Thank you.",
                    "fr": "Tâche terminée avec le résultat « {outcome} ». Merci."},
    # review queue
    "s_reviews_title": {"en": "Review queue", "fr": "File des revues"},
    "s_reviews_lead": {
        "en": "Open disputes, oldest first. Each must be decided within one month of receipt. "
              "While a dispute is open the customer's record is restricted (not contacted, not "
              "listed, not used for training).",
        "fr": "Les contestations ouvertes, les plus anciennes d'abord. Chacune doit être "
              "tranchée dans le mois qui suit sa réception. Tant qu'elle est ouverte, le "
              "dossier du client est gelé (pas de contact, pas de liste, pas d'entraînement).",
    },
    "s_no_disputes": {"en": "No open dispute. Nothing to review.",
                      "fr": "Aucune contestation ouverte. Rien à examiner."},
    "s_received": {"en": "Received", "fr": "Reçue le"},
    "s_days_left": {"en": "Days left", "fr": "Jours restants"},
    "s_contested": {"en": "Contested", "fr": "Contesté"},
    "s_statement": {"en": "Statement", "fr": "Déclaration"},
    "s_human": {"en": "Human review", "fr": "Revue humaine"},
    "s_open": {"en": "Open", "fr": "Ouvrir"},
    "s_overdue": {"en": "overdue", "fr": "en retard"},
    "s_due_on": {"en": "due {date}", "fr": "échéance {date}"},
    "s_values": {"en": "{n} values", "fr": "{n} valeurs"},
    "s_values_one": {"en": "{n} value", "fr": "{n} valeur"},
    "s_asked": {"en": "asked", "fr": "demandée"},
    "s_no": {"en": "no", "fr": "non"},
    "s_review_ref": {"en": "Review {ref}", "fr": "Examiner {ref}"},
    # review page
    "s_review_title": {"en": "Review {ref}", "fr": "Revue {ref}"},
    "s_back_reviews": {"en": "Review queue", "fr": "File des revues"},
    "s_dispute_h": {"en": "Dispute {ref} — customer {customer}",
                    "fr": "Contestation {ref} — client {customer}"},
    "s_received_due": {"en": "Received {received} · due by",
                       "fr": "Reçue le {received} · à trancher avant le"},
    "s_days_left_n": {"en": "{n} days left", "fr": "{n} jours restants"},
    "s_days_left_n_one": {"en": "{n} day left", "fr": "{n} jour restant"},
    "s_asked_person": {"en": "the customer asked for a person to review it",
                       "fr": "le client a demandé qu'une personne l'examine"},
    "s_says_h": {"en": "What the customer says", "fr": "Ce que dit le client"},
    "s_no_statement": {"en": "No statement.", "fr": "Aucune déclaration."},
    "s_statement_lang": {
        "en": "In the customer's own words (not translated).",
        "fr": "Avec les mots du client (non traduits).",
    },
    "s_assisted": {"en": "Filed for the customer on the phone by {name} (an assisted action).",
                   "fr": "Déposée pour le client au téléphone par {name} (action assistée)."},
    "s_told_h": {"en": "What the customer was told", "fr": "Ce qui a été communiqué au client"},
    "s_model_used": {"en": "Model used", "fr": "Utilisé par le modèle"},
    "s_customer_says": {"en": "Customer says", "fr": "Selon le client"},
    "s_model_said_h": {"en": "What the model said", "fr": "Ce qu'a dit le modèle"},
    "s_chart_before": {"en": "Explanation (before)", "fr": "Explication (avant)"},
    "s_preview_h": {"en": "Re-score preview (nothing recorded yet)",
                    "fr": "Aperçu du nouveau score (rien n'est encore enregistré)"},
    "s_score_word": {"en": "Score", "fr": "Score"},
    "s_with_model": {"en": "with {model}", "fr": "avec {model}"},
    "s_then": {"en": "Then:", "fr": "Ensuite :"},
    "s_value_change": {"en": "Value before → after", "fr": "Valeur avant → après"},
    "s_before": {"en": "Before", "fr": "Avant"},
    "s_after": {"en": "After", "fr": "Après"},
    "s_change": {"en": "Change", "fr": "Variation"},
    "s_corrected": {"en": "(corrected)", "fr": "(corrigée)"},
    "s_preview_units": {"en": "Contributions in log-odds (the model's own units).",
                        "fr": "Contributions en log-cotes (l'unité du modèle)."},
    "s_after_h": {"en": "After the correction", "fr": "Après la correction"},
    "s_after_chart": {"en": "Contributions after the correction",
                      "fr": "Contributions après la correction"},
    "s_decision_h": {"en": "Decision", "fr": "Décision"},
    "s_dec_upheld": {"en": "Upheld — the prediction stands",
                     "fr": "Confirmée — la prédiction est maintenue"},
    "s_dec_rectified": {"en": "Rectified — correct the data and re-score",
                        "fr": "Rectifiée — corriger les données et recalculer le score"},
    "s_dec_overturned": {"en": "Overturned — withdraw the prediction from all use",
                         "fr": "Annulée — retirer la prédiction de tout usage"},
    "s_corrected_values": {"en": "Corrected values (used when rectified)",
                           "fr": "Valeurs corrigées (utilisées en cas de rectification)"},
    "s_model_used_value": {"en": "model used {value}", "fr": "le modèle a utilisé {value}"},
    "s_rationale": {"en": "Rationale (required; the customer reads it)",
                    "fr": "Motivation (obligatoire ; le client la lit)"},
    "s_rationale_lang": {
        "en": "Written in your own words; the customer sees it as written, marked with its "
              "language.",
        "fr": "Rédigée avec vos propres mots ; le client la voit telle quelle, avec sa langue "
              "indiquée.",
    },
    "s_preview": {"en": "Preview the re-score", "fr": "Prévisualiser le nouveau score"},
    "s_confirm": {"en": "Confirm the decision", "fr": "Confirmer la décision"},
    "s_e_no_contested": {
        "en": "The customer contested no value: uphold or overturn, or ask them which value "
              "is wrong.",
        "fr": "Le client n'a contesté aucune valeur : confirmez ou annulez, ou demandez-lui "
              "quelle valeur est fausse.",
    },
    "s_e_preview_rectified": {"en": "Only corrected data can be re-scored: choose “rectified”.",
                              "fr": "Seules des données corrigées peuvent être recalculées : "
                                    "choisissez « rectifiée »."},
    "s_e_choose_decision": {"en": "Choose a decision.", "fr": "Choisissez une décision."},
    "s_e_rationale": {
        "en": "Give the reasons for the decision: the customer will read them.",
        "fr": "Donnez les raisons de la décision : le client les lira.",
    },
    "s_e_rationale_long": {"en": "Keep it to {n} characters.",
                           "fr": "Limitez-vous à {n} caractères."},
    "s_e_field": {"en": "{problem}; expected {expected}", "fr": "{problem} ; attendu : {expected}"},
    "s_decided": {"en": "Decision recorded: {decision}. The customer can see it on their page.",
                  "fr": "Décision enregistrée : {decision}. Le client la voit sur sa page."},
    # audit page
    "s_audit_title": {"en": "Audit log", "fr": "Journal d'audit"},
    "s_chain_h": {"en": "Chain verification", "fr": "Vérification de la chaîne"},
    "s_chain_ok": {"en": "✓ The chain verifies:", "fr": "✓ La chaîne est intègre :"},
    "s_chain_ok_text": {
        "en": "{n} events, every hash matches its row and the previous hash.",
        "fr": "{n} événements, chaque empreinte correspond à sa ligne et à l'empreinte "
              "précédente.",
    },
    "s_chain_broken": {"en": "✗ The chain is broken", "fr": "✗ La chaîne est rompue"},
    "s_chain_at": {"en": "at event {n}", "fr": "à l'événement {n}"},
    "s_chain_broken_text": {
        "en": "Rows from there on cannot be trusted; investigate before anything else.",
        "fr": "Les lignes à partir de là ne sont pas fiables ; enquêtez avant toute autre "
              "chose.",
    },
    "s_events_h": {"en": "Latest events", "fr": "Derniers événements"},
    "s_when_utc": {"en": "When (UTC)", "fr": "Date (UTC)"},
    "s_action": {"en": "Action", "fr": "Action"},
    "s_actor": {"en": "Actor", "fr": "Auteur"},
    "s_role": {"en": "Role", "fr": "Rôle"},
    "s_pseudonym": {"en": "Customer (pseudonym)", "fr": "Client (pseudonyme)"},
    "s_objects": {"en": "Objects", "fr": "Objets"},
    "s_hash": {"en": "Hash", "fr": "Empreinte"},
    "s_model_v": {"en": "model {model} v{version}", "fr": "modèle {model} v{version}"},
    "s_newest": {"en": "Newest events", "fr": "Événements les plus récents"},
    "s_older": {"en": "Older events", "fr": "Événements plus anciens"},
    # staff administration
    "s_users_title": {"en": "Staff", "fr": "Personnel"},
    "s_token_once": {"en": "Token (shown once)", "fr": "Jeton (affiché une seule fois)"},
    "s_name": {"en": "Name", "fr": "Nom"},
    "s_user_status": {"en": "Status", "fr": "Statut"},
    "s_user_change": {"en": "Change", "fr": "Modifier"},
    "s_active": {"en": "active", "fr": "actif"},
    "s_deactivated": {"en": "deactivated", "fr": "désactivé"},
    "s_role_of": {"en": "Role of {name}", "fr": "Rôle de {name}"},
    "s_change_role": {"en": "Change role", "fr": "Changer le rôle"},
    "s_new_token": {"en": "New token", "fr": "Nouveau jeton"},
    "s_deactivate": {"en": "Deactivate", "fr": "Désactiver"},
    "s_new_member": {"en": "New staff member", "fr": "Nouveau membre du personnel"},
    "s_name_unique": {"en": "Name (unique)", "fr": "Nom (unique)"},
    "s_create": {"en": "Create", "fr": "Créer"},
    "s_created": {
        "en": "Created {name} ({role}). Give them the token below through a channel you trust: "
              "it is shown only now.",
        "fr": "{name} ({role}) a été créé. Transmettez-lui le jeton ci-dessous par un canal de "
              "confiance : il n'est affiché que maintenant.",
    },
    "s_rotated": {
        "en": "New token for {name}; the old one and their sessions no longer work. It is "
              "shown only now.",
        "fr": "Nouveau jeton pour {name} ; l'ancien et ses sessions ne fonctionnent plus. Il "
              "n'est affiché que maintenant.",
    },
    "s_deactivated_done": {
        "en": "{name} is deactivated: their token and sessions no longer work.",
        "fr": "{name} est désactivé : son jeton et ses sessions ne fonctionnent plus.",
    },
    "s_role_done": {"en": "{name} is now {role}.", "fr": "{name} est désormais {role}."},
    "s_choose_action": {"en": "Choose an action.", "fr": "Choisissez une action."},
    "s_not_done": {"en": "Not done: {detail}", "fr": "Non effectué : {detail}"},
}


# the commonest short words of each page language: enough to tell which of the two a
# person's free text (a reviewer's rationale, a customer's statement) is written in
_STOPWORDS = {
    "en": frozenset("the and is are was were you your we our to of in it that this not for "
                    "with have has be on as at by from an or but because no".split()),
    "fr": frozenset("le la les et est sont vous votre vos nous notre de des du un une que qui "
                    "pas pour avec ce cette dans au aux sur été ont je ne il elle en par mais "
                    "car".split()),
}


def text_lang(text: str | None) -> str | None:
    """Which page language a person's free text is written in ("en", "fr"), None when it
    cannot be told (too short, or neither). Free text is shown as written, never
    translated: the page marks it with this language (`lang=`) and says so."""
    if not text:
        return None
    words = re.findall(r"[a-zà-ÿ']+", text.lower())
    words = [w.split("'")[-1] or w for w in words]
    score = {lang: sum(w in stop for w in words) for lang, stop in _STOPWORDS.items()}
    score["fr"] += len(re.findall(r"[éèêàùçœ]", text.lower()))
    if score["en"] == score["fr"]:
        return None
    return max(score, key=score.__getitem__)


# issue 18 (scrutiny): blind-first review and contest analytics, on the staff pages
SCRUTINY: dict[str, dict[str, str]] = {
    "blind_title": {"en": "Your own judgement first", "fr": "Votre propre jugement d'abord"},
    "blind_intro": {
        "en": "Blind-first review: before you see the model's score and explanation, say "
              "what you make of this customer from their data and their statement. The "
              "model's view is shown once your judgement is recorded; it cannot be changed.",
        "fr": "Revue à l'aveugle d'abord : avant de voir le score du modèle et son "
              "explication, dites ce que vous pensez de ce client d'après ses données et sa "
              "déclaration. L'avis du modèle s'affiche une fois votre jugement enregistré ; "
              "il ne peut plus être modifié.",
    },
    "blind_data": {"en": "The customer's data as the model read it",
                   "fr": "Les données du client telles que le modèle les a lues"},
    "blind_feature": {"en": "Data", "fr": "Donnée"},
    "blind_value": {"en": "Value", "fr": "Valeur"},
    "blind_risk_legend": {"en": "How likely is this customer to leave, in your view?",
                          "fr": "Selon vous, ce client risque-t-il de partir ?"},
    "blind_risk_low": {"en": "Unlikely (low)", "fr": "Peu probable (faible)"},
    "blind_risk_medium": {"en": "Possibly (medium)", "fr": "Possible (moyen)"},
    "blind_risk_high": {"en": "Likely (high)", "fr": "Probable (élevé)"},
    "blind_claim_legend": {"en": "Is the customer's claim about their data right?",
                           "fr": "Ce que le client dit de ses données est-il exact ?"},
    "blind_claim_agree": {"en": "Yes, I believe the customer",
                          "fr": "Oui, je crois le client"},
    "blind_claim_disagree": {"en": "No, the data held looks right",
                             "fr": "Non, les données détenues semblent exactes"},
    "blind_claim_unsure": {"en": "I cannot tell yet", "fr": "Je ne peux pas encore le dire"},
    "blind_submit": {"en": "Record my judgement and show the model's view",
                     "fr": "Enregistrer mon jugement et afficher l'avis du modèle"},
    "blind_err_risk": {"en": "Choose how likely you think the customer is to leave.",
                       "fr": "Choisissez la probabilité de départ que vous estimez."},
    "blind_err_claim": {"en": "Say whether you think the customer's claim is right.",
                        "fr": "Dites si vous pensez que ce que dit le client est exact."},
    "blind_recorded": {"en": "Your judgement is recorded. Here is the model's view.",
                       "fr": "Votre jugement est enregistré. Voici l'avis du modèle."},
    "blind_yours": {"en": "Your judgement before seeing the model: risk {risk}; claim: "
                          "{claim}.",
                    "fr": "Votre jugement avant de voir le modèle : risque {risk} ; "
                          "déclaration : {claim}."},
    # contest analytics
    "an_title": {"en": "Contest analytics", "fr": "Analyse des contestations"},
    "an_intro": {
        "en": "How often predictions are contested, on which factors, for which groups, "
              "and how the disputes end. Counts below {k} are shown as \u201c< {k}\u201d "
              "so that no figure singles out a customer.",
        "fr": "La fréquence des contestations, sur quels facteurs, pour quels groupes, et "
              "leur issue. Les effectifs inférieurs à {k} sont affichés \u00ab < {k} \u00bb "
              "pour qu'aucun chiffre ne désigne un client.",
    },
    "an_csv": {"en": "Download as CSV", "fr": "Télécharger en CSV"},
    "an_totals": {"en": "In all", "fr": "En tout"},
    "an_disputes": {"en": "Disputes", "fr": "Contestations"},
    "an_decided": {"en": "Decided", "fr": "Tranchées"},
    "an_open": {"en": "Open", "fr": "En cours"},
    "an_median_days": {"en": "Median days to decision", "fr": "Délai médian de décision (jours)"},
    "an_within": {"en": "Decided within the deadline", "fr": "Tranchées dans le délai"},
    "an_route_changed": {"en": "Rectifications that changed the route",
                         "fr": "Rectifications qui ont changé l'orientation"},
    "an_by_feature": {"en": "Disputes by factor contested",
                      "fr": "Contestations par facteur contesté"},
    "an_by_outcome": {"en": "Disputes by outcome", "fr": "Contestations par issue"},
    "an_by_band": {"en": "Disputes by risk band of the contested prediction",
                   "fr": "Contestations par niveau de risque de la prédiction contestée"},
    "an_by_segment": {"en": "Disputes by segment", "fr": "Contestations par segment"},
    "an_by_group": {"en": "Disputes by sensitive group (audit attributes)",
                    "fr": "Contestations par groupe sensible (attributs d'audit)"},
    "an_no_groups": {
        "en": "Not by sensitive group: the service holds no sensitive attribute. Point "
              "CHURN_AUDIT_ATTRIBUTES at the audit attributes file (customer ids and "
              "sensitive columns, pseudonymised when read), or run `python -m serving.cli "
              "contest-analytics --attributes <file> --schema <yaml>`.",
        "fr": "Pas de ventilation par groupe sensible : le service ne détient aucun attribut "
              "sensible. Indiquez le fichier des attributs d'audit dans "
              "CHURN_AUDIT_ATTRIBUTES (identifiants clients et colonnes sensibles, "
              "pseudonymisés à la lecture), ou lancez `python -m serving.cli "
              "contest-analytics --attributes <fichier> --schema <yaml>`.",
    },
    "an_blind": {"en": "Blind-first review: agreement", "fr": "Revue à l'aveugle : accords"},
    "an_col_group": {"en": "Group", "fr": "Groupe"},
    "an_col_count": {"en": "Count", "fr": "Effectif"},
    "an_col_share": {"en": "Share", "fr": "Part"},
    "an_col_rate": {"en": "Rate", "fr": "Taux"},
    "an_col_over": {"en": "Out of", "fr": "Sur"},
    "an_col_per_thousand": {"en": "Disputes per 1,000 customers",
                            "fr": "Contestations pour 1 000 clients"},
    "an_col_mistaken": {"en": "Judged a mistake", "fr": "Jugées fondées"},
    "an_empty": {"en": "No dispute yet.", "fr": "Aucune contestation pour l'instant."},
    "an_nav": {"en": "Analytics", "fr": "Analyses"},
    "an_rates": {"en": "Rates", "fr": "Taux"},
    "an_hidden": {"en": "< {k} (suppressed)", "fr": "< {k} (masqué)"},
    "an_rate_decided_within_deadline": {"en": "Decided within the one-month deadline",
                                        "fr": "Tranchées dans le délai d'un mois"},
    "an_rate_rectification_changed_route": {
        "en": "Rectifications that changed what happens to the customer (the route)",
        "fr": "Rectifications qui ont changé ce qui arrive au client (l'orientation)"},
    "an_rate_contested_customers": {"en": "Scored customers who contested",
                                    "fr": "Clients évalués ayant contesté"},
    "an_rate_judged_mistaken": {"en": "Decided disputes judged a mistake (rectified or "
                                      "overturned)",
                                "fr": "Contestations tranchées jugées fondées (rectifiées "
                                      "ou annulées)"},
    "an_rate_blind_first_vs_model": {
        "en": "Reviewer's first judgement of the risk = the model's band",
        "fr": "Premier jugement du risque par le réviseur = niveau du modèle"},
    "an_rate_blind_first_vs_final": {
        "en": "Reviewer's first view of the claim = the final decision",
        "fr": "Premier avis du réviseur sur la déclaration = décision finale"},
    "an_rate_blind_model_vs_final": {"en": "Final decision upheld the model",
                                     "fr": "Décision finale confirmant le modèle"},
    "an_rate_blind_upheld_after_differing": {
        "en": "Upheld the model although the first judgement differed (automation bias)",
        "fr": "Modèle confirmé alors que le premier jugement différait (biais "
              "d'automatisation)"},
    "an_col_rate_over": {"en": "{num} of {den}", "fr": "{num} sur {den}"},
    "an_median": {"en": "Median days to decision: {median} (90th percentile: {p90})",
                  "fr": "Délai médian de décision : {median} jours (90e centile : {p90})"},
    "an_overdue": {"en": "Open past their deadline", "fr": "En cours après leur échéance"},
    "an_g_upheld": {"en": "upheld", "fr": "confirmée"},
    "an_g_rectified": {"en": "rectified", "fr": "rectifiée"},
    "an_g_overturned": {"en": "overturned", "fr": "annulée"},
    "an_g_open": {"en": "still open", "fr": "en cours"},
    "an_g_high": {"en": "high risk", "fr": "risque élevé"},
    "an_g_medium": {"en": "medium risk", "fr": "risque moyen"},
    "an_g_low": {"en": "low risk", "fr": "risque faible"},
    "an_g_unknown": {"en": "no longer held", "fr": "plus détenue"},
}
CATALOG.update(SCRUTINY)

def pick_lang(accept_language: str | None) -> str:
    """The first supported language in an Accept-Language header, by quality."""
    if not accept_language:
        return DEFAULT_LANG
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(accept_language.split(",")):
        bits = part.strip().split(";")
        tag = bits[0].strip().lower()
        q = 1.0
        for b in bits[1:]:
            b = b.strip()
            if b.startswith("q="):
                try:
                    q = float(b[2:])
                except ValueError:
                    q = 0.0
        ranked.append((-q, i, tag.split("-")[0]))
    for _, _, tag in sorted(ranked):
        if tag in LANGS:
            return tag
    return DEFAULT_LANG


class MissingText(KeyError):
    """A page asked for words the catalogue does not have (a bug: tests/serving/web/
    test_i18n_keys.py finds every key the templates and views use)."""


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def check_catalog(catalog: dict[str, dict[str, str]]) -> list[str]:
    """What is wrong with a catalogue: an entry without both languages, an empty text, or
    languages that do not take the same {placeholders}. Empty when all is well."""
    problems = []
    for key, entry in catalog.items():
        missing = [lang for lang in LANGS if not (entry.get(lang) or "").strip()]
        if missing:
            problems.append(f"{key}: no text in {', '.join(missing)}")
        elif len({frozenset(_fields(entry[lang])) for lang in LANGS}) > 1:
            each = ", ".join(f"{lang}: {sorted(_fields(entry[lang]))}" for lang in LANGS)
            problems.append(f"{key}: the languages take different placeholders ({each})")
        if key.endswith("_one") and key[:-4] not in catalog:
            problems.append(f"{key}: a singular without its plural {key[:-4]!r}")
    return problems


def translator(lang: str):  # noqa: ANN201 - a callable for the templates
    """`t(key, **params)`: the page's words in `lang`. `count=n` picks `key + "_one"` when n
    takes the singular in `lang` ("1 other fact", "1 autre élément"; French: below 2) and
    passes n as {n}. An unknown key raises `MissingText`: a page never shows a raw key."""
    lang = lang if lang in LANGS else DEFAULT_LANG

    def t(key: str, count: float | None = None, **params: object) -> str:
        if count is not None:
            params.setdefault("n", count)
            if is_singular(count, lang) and key + "_one" in CATALOG:
                key = key + "_one"
        entry = CATALOG.get(key)
        if entry is None or lang not in entry:
            raise MissingText(f"no text {key!r} in {lang} in serving/web/i18n.py CATALOG; "
                              "add it in English and French")
        text = entry[lang]
        return text.format(**params) if params else text

    return t


# issue 16 (queue): a queue a team can work from, and the customer's voice, on staff pages
QUEUE: dict[str, dict[str, str]] = {
    "q_label": {"en": "Find a customer by their id", "fr": "Trouver un client par son identifiant"},
    "q_find": {"en": "Find", "fr": "Chercher"},
    "q_form": {"en": "Customer search", "fr": "Recherche d'un client"},
    "q_rule": {"en": "1 to 200 characters, without '/', '\\' or control characters",
               "fr": "1 à 200 caractères, sans « / », « \\ » ni caractère de contrôle"},
    "q_bad": {"en": "This is not a customer id: an id is {rule}. Check it and try again.",
              "fr": "Ce n'est pas un identifiant client : un identifiant fait {rule}. "
                    "Vérifiez-le et réessayez."},
    "q_unknown": {"en": "No customer with the id “{id}” is held. Customers appear here once "
                        "they are scored; check the id, or the customer may have been erased.",
                  "fr": "Aucun client d'identifiant « {id} » n'est détenu. Les clients "
                        "apparaissent ici une fois évalués ; vérifiez l'identifiant, ou le "
                        "client a peut-être été effacé."},
    "cnt_h": {"en": "Tasks waiting", "fr": "Tâches en attente"},
    "cnt_caption": {"en": "Open and claimed tasks by risk band",
                    "fr": "Tâches ouvertes et prises en charge par niveau de risque"},
    "cnt_open": {"en": "{n} open tasks", "fr": "{n} tâches ouvertes"},
    "cnt_open_one": {"en": "{n} open task", "fr": "{n} tâche ouverte"},
    "cnt_claimed": {"en": "{n} claimed", "fr": "{n} prises en charge"},
    "cnt_claimed_one": {"en": "{n} claimed", "fr": "{n} prise en charge"},
    "cnt_overdue": {"en": "{n} overdue", "fr": "{n} en retard"},
    "cnt_overdue_one": {"en": "{n} overdue", "fr": "{n} en retard"},
    "cnt_mine": {"en": "my tasks: {n}", "fr": "mes tâches : {n}"},
    "sort_label": {"en": "Sort", "fr": "Trier"},
    "sort_score": {"en": "by score", "fr": "par score"},
    "sort_due": {"en": "by due date", "fr": "par échéance"},
    "sort_last_contact": {"en": "by last contact", "fr": "par dernier contact"},
    "qrule_handled": {
        "en": "Highest score first. Customers contacted, or whose task was closed, in the "
              "last {n} days come after all the others: the top of the list is work still to "
              "do.",
        "fr": "Score le plus élevé d'abord. Les clients contactés, ou dont la tâche a été "
              "close, depuis moins de {n} jours viennent après tous les autres : le haut de "
              "la liste est le travail qui reste à faire."},
    "qrule_handled_one": {
        "en": "Highest score first. Customers contacted, or whose task was closed, in the "
              "last day come after all the others: the top of the list is work still to do.",
        "fr": "Score le plus élevé d'abord. Les clients contactés, ou dont la tâche a été "
              "close, depuis moins d'un jour viennent après tous les autres : le haut de la "
              "liste est le travail qui reste à faire."},
    "qrule_due": {"en": "Customers with an open or claimed task, soonest due first.",
                  "fr": "Les clients ayant une tâche ouverte ou prise en charge, échéance la "
                        "plus proche d'abord."},
    "qrule_last_contact": {
        "en": "Customers with an open or claimed task, never contacted first, then the "
              "longest ago.",
        "fr": "Les clients ayant une tâche ouverte ou prise en charge, jamais contactés "
              "d'abord, puis les plus anciens contacts."},
    "qrule_mine": {"en": "Only the tasks you hold.", "fr": "Seulement les tâches que vous avez."},
    # uplift targeting (issue 17): the queue by what a call is worth
    "sort_value": {"en": "by value of a call", "fr": "par valeur d'un appel"},
    "qrule_value": {
        "en": "Customers with an open or claimed task, the highest expected value of a call "
              "first (the uplift model's estimate of how much a call helps them stay, times "
              "what they are worth, minus the cost of the call). Customers handled recently "
              "come after the others.",
        "fr": "Les clients ayant une tâche ouverte ou prise en charge, la plus grande valeur "
              "attendue d'un appel d'abord (l'estimation par le modèle d'uplift de ce qu'un "
              "appel les aide à rester, multipliée par ce qu'ils valent, moins le coût de "
              "l'appel). Les clients traités récemment viennent après les autres."},
    "cv_value": {"en": "Expected value of a call: {value}.",
                 "fr": "Valeur attendue d'un appel : {value}."},
    "cv_detail_keeps": {
        "en": "A call is estimated to lower their chance of leaving by {points} points; they "
              "are worth {worth}, a call costs {cost}.",
        "fr": "Un appel réduirait son risque de départ de {points} points, selon "
              "l'estimation ; le client vaut {worth}, un appel coûte {cost}."},
    "cv_detail_pushes": {
        "en": "A call is estimated to raise their chance of leaving by {points} points; they "
              "are worth {worth}, a call costs {cost}.",
        "fr": "Un appel augmenterait son risque de départ de {points} points, selon "
              "l'estimation ; le client vaut {worth}, un appel coûte {cost}."},
    # the control group, as admins and reviewers see it (never agents)
    "arm_control": {"en": "held out (control group): no task this period, by random draw",
                    "fr": "témoin (groupe de contrôle) : pas de tâche cette période, par "
                          "tirage au sort"},
    "arm_contact": {"en": "contact arm of the campaign",
                    "fr": "bras « contact » de la campagne"},
    "arm_note": {"en": "Agents do not see this.", "fr": "Les agents ne le voient pas."},
    "due_on": {"en": "due {date}", "fr": "échéance le {date}"},
    "overdue_since": {"en": "overdue since {date}", "fr": "en retard depuis le {date}"},
    "last_contact": {"en": "last contact {date}", "fr": "dernier contact le {date}"},
    "never_contacted": {"en": "never contacted", "fr": "jamais contacté"},
    "handled_mark": {"en": "handled recently: listed lower",
                     "fr": "traité récemment : listé plus bas"},
    # the customer's voice
    "voice_open": {"en": "contesting: do not call",
                   "fr": "contestation en cours : ne pas appeler"},
    "voice_upheld": {"en": "dispute upheld {date}", "fr": "contestation rejetée le {date}"},
    "voice_rectified": {"en": "data rectified {date}: read before calling",
                        "fr": "données rectifiées le {date} : à lire avant d'appeler"},
    "voice_overturned": {"en": "prediction overturned {date}: read before calling",
                         "fr": "prédiction annulée le {date} : à lire avant d'appeler"},
    "voice_mark_rectified": {"en": "This customer's data was rectified after a dispute ({date}).",
                             "fr": "Les données de ce client ont été rectifiées après une "
                                   "contestation ({date})."},
    "voice_mark_overturned": {"en": "A prediction about this customer was overturned after a "
                                    "dispute ({date}).",
                              "fr": "Une prédiction sur ce client a été annulée après une "
                                    "contestation ({date})."},
    "voice_mark_read": {"en": "Read what they told us below before you call.",
                        "fr": "Lisez ci-dessous ce qu'il nous a dit avant d'appeler."},
    "voice_h": {"en": "The customer's voice", "fr": "La parole du client"},
    "voice_intro": {"en": "What the customer contested and wrote, and what the reviewer decided "
                          "and why, newest first.",
                    "fr": "Ce que le client a contesté et écrit, et ce que le réviseur a "
                          "décidé et pourquoi, du plus récent au plus ancien."},
    "voice_d_open": {"en": "Contested on {date}, awaiting a reviewer",
                     "fr": "Contestation du {date}, en attente d'un réviseur"},
    "voice_d_decided": {"en": "Dispute {decision} on {date}",
                        "fr": "Contestation {decision} le {date}"},
    "voice_statement": {"en": "The customer wrote:", "fr": "Le client a écrit :"},
    "voice_no_statement": {"en": "no statement", "fr": "aucune déclaration"},
    "voice_assisted": {"en": "filed for them on the phone", "fr": "déposée pour lui au téléphone"},
    "voice_contested": {"en": "Contested:", "fr": "Contesté :"},
    "voice_claim": {"en": "{label}: the customer says “{claimed}” (we used “{used}”)",
                    "fr": "{label} : le client indique « {claimed} » (nous avions « {used} »)"},
    "voice_rationale": {"en": "The reviewer's reason:", "fr": "Motif du réviseur :"},
    "voice_pending": {"en": "No decision yet.", "fr": "Pas encore de décision."},
    # contact attempts, release, reassign
    "att_h": {"en": "Contact attempts", "fr": "Tentatives de contact"},
    "att_none": {"en": "No attempt recorded yet.", "fr": "Aucune tentative enregistrée."},
    "att_line": {"en": "{date}, {channel}, by {agent}", "fr": "{date}, {channel}, par {agent}"},
    "att_reached": {"en": "reached", "fr": "joint"},
    "att_not_reached": {"en": "not reached", "fr": "non joint"},
    "att_form": {"en": "Record an attempt", "fr": "Noter une tentative"},
    "att_channel": {"en": "Channel", "fr": "Canal"},
    "att_note": {"en": "Note on this attempt (optional)",
                 "fr": "Note sur cette tentative (facultative)"},
    "att_reached_q": {"en": "The customer was reached", "fr": "Le client a été joint"},
    "att_add": {"en": "Record the attempt", "fr": "Enregistrer la tentative"},
    "att_choose": {"en": "Choose a channel (and keep the note under 4,000 characters).",
                   "fr": "Choisissez un canal (et limitez la note à 4 000 caractères)."},
    "att_not": {"en": "Attempt not recorded: {detail}.",
                "fr": "Tentative non enregistrée : {detail}."},
    "att_done": {"en": "Attempt by {channel} recorded. The task stays yours until you record "
                       "its outcome.",
                 "fr": "Tentative par {channel} enregistrée. La tâche reste à vous jusqu'à ce "
                       "que vous en notiez le résultat."},
    "ch_phone": {"en": "phone", "fr": "téléphone"},
    "ch_email": {"en": "email", "fr": "e-mail"},
    "ch_sms": {"en": "SMS", "fr": "SMS"},
    "ch_in_person": {"en": "in person", "fr": "en personne"},
    "ch_letter": {"en": "letter", "fr": "courrier"},
    "ch_chat": {"en": "chat", "fr": "messagerie"},
    "rel_button": {"en": "Give the task back to the queue", "fr": "Remettre la tâche dans la file"},
    "rel_done": {"en": "The task is back in the queue for anyone to claim.",
                 "fr": "La tâche est de retour dans la file : chacun peut la prendre."},
    "rel_not": {"en": "Not released: {detail}.", "fr": "Non remise : {detail}."},
    "rea_label": {"en": "Hand the task to", "fr": "Confier la tâche à"},
    "rea_button": {"en": "Reassign", "fr": "Réattribuer"},
    "rea_done": {"en": "The task is now {name}'s.",
                 "fr": "La tâche est désormais confiée à {name}."},
    "rea_not": {"en": "Not reassigned: {detail}.", "fr": "Non réattribuée : {detail}."},
}
CATALOG.update(QUEUE)


# -- issue 18: the customer's own copy, rights requests, the DPO and the authority --------------
CATALOG.update({
    "mydata_title": {"en": "Your data and your rights", "fr": "Vos données et vos droits"},
    "mydata_text": {
        "en": "Download a copy of everything we hold about you and how we use it, ask us "
              "to correct, restrict or erase your data, and follow your requests.",
        "fr": "Téléchargez une copie de tout ce que nous détenons à votre sujet et de la façon "
              "dont nous l'utilisons, demandez-nous de corriger, limiter ou effacer vos "
              "données, et suivez vos demandes."},
    "copy_view": {"en": "See my copy", "fr": "Voir ma copie"},
    "copy_download_html": {"en": "Download my copy (document)",
                           "fr": "Télécharger ma copie (document)"},
    "copy_download_json": {"en": "Download my copy (JSON data)",
                           "fr": "Télécharger ma copie (données JSON)"},
    "rights_link": {"en": "My requests", "fr": "Mes demandes"},
    "erase_link": {"en": "Ask for my data to be erased",
                   "fr": "Demander l'effacement de mes données"},
    "dpo_title": {"en": "Questions and complaints", "fr": "Questions et réclamations"},
    "rights_title": {"en": "Your requests about your data",
                     "fr": "Vos demandes concernant vos données"},
    "rights_intro": {
        "en": "We answer every request within one month. If a request is complex we may take "
              "two more months: we then tell you why, before the first month is over.",
        "fr": "Nous répondons à chaque demande dans un délai d'un mois. Si une demande est "
              "complexe, nous pouvons prendre deux mois de plus : nous vous disons alors "
              "pourquoi, avant la fin du premier mois."},
    "rights_mine": {"en": "Your requests", "fr": "Vos demandes"},
    "rights_kind": {"en": "Request", "fr": "Demande"},
    "rights_received": {"en": "Received", "fr": "Reçue le"},
    "rights_deadline": {"en": "Answer by", "fr": "Réponse au plus tard le"},
    "rights_status": {"en": "Status", "fr": "État"},
    "rights_actions": {"en": "Actions", "fr": "Actions"},
    "rights_extended_note": {"en": "extended", "fr": "délai prolongé"},
    "rights_why_more_time": {"en": "Why more time:", "fr": "Pourquoi ce délai :"},
    "rights_cancel": {"en": "Cancel this request", "fr": "Annuler cette demande"},
    "rights_none": {"en": "You have made no request yet.",
                    "fr": "Vous n'avez encore fait aucune demande."},
    "rights_ask": {"en": "Make a request", "fr": "Faire une demande"},
    "rights_ask_intro": {
        "en": "Two requests are answered at once, without a form:",
        "fr": "Deux demandes ont une réponse immédiate, sans formulaire :"},
    "rights_access_how": {"en": "your copy is ready now, to read, print or download.",
                          "fr": "votre copie est prête tout de suite, à lire, imprimer ou "
                                "télécharger."},
    "rights_erasure_how": {
        "en": "after you confirm, it is carried out {n} days later unless you cancel it.",
        "fr": "après votre confirmation, il est effectué {n} jours plus tard, sauf si vous "
              "l'annulez."},
    "rights_which": {"en": "What do you ask for?", "fr": "Que demandez-vous ?"},
    "kind_access": {"en": "A copy of my data", "fr": "Une copie de mes données"},
    "kind_erasure": {"en": "Erasure of my data", "fr": "L'effacement de mes données"},
    "kind_rectification": {"en": "Correct my data", "fr": "Corriger mes données"},
    "kind_restriction": {"en": "Restrict the use of my data",
                         "fr": "Limiter l'utilisation de mes données"},
    "kind_objection": {"en": "Object to profiling", "fr": "M'opposer au profilage"},
    "kind_rectification_text": {
        "en": "something we hold about you is wrong (to contest an estimate, use the contest "
              "form on your page instead). A person corrects it and tells you.",
        "fr": "une donnée que nous détenons est fausse (pour contester une estimation, "
              "utilisez plutôt le formulaire de contestation de votre page). Une personne la "
              "corrige et vous le dit."},
    "kind_restriction_text": {
        "en": "your record is not used (no contact, no risk list, no training) until a "
              "person has reviewed your request. Done at once.",
        "fr": "votre dossier n'est pas utilisé (ni contact, ni liste de risque, ni "
              "entraînement) jusqu'à ce qu'une personne ait examiné votre demande. Fait "
              "immédiatement."},
    "kind_objection_text": {
        "en": "we stop estimating whether you may leave. Done at once; you can withdraw it "
              "on your page.",
        "fr": "nous cessons d'estimer si vous pourriez partir. Fait immédiatement ; vous "
              "pouvez la retirer sur votre page."},
    "rights_details": {"en": "In your words (optional)", "fr": "Avec vos mots (facultatif)"},
    "rights_send": {"en": "Send my request", "fr": "Envoyer ma demande"},
    "rights_pick_kind": {"en": "Choose what you ask for.", "fr": "Choisissez votre demande."},
    "rights_details_long": {"en": "Your text is too long: 4,000 characters at most.",
                            "fr": "Votre texte est trop long : 4 000 caractères au plus."},
    "rights_already_open": {
        "en": "You already have a request of this kind in progress: it is listed below.",
        "fr": "Vous avez déjà une demande de ce type en cours : elle figure ci-dessous."},
    "rights_sent": {"en": "Your request is received. We answer by {due} at the latest.",
                    "fr": "Votre demande est reçue. Nous répondons au plus tard le {due}."},
    "rights_sent_done": {"en": "Your request is received and already carried out.",
                         "fr": "Votre demande est reçue et déjà exécutée."},
    "rights_cancelled": {"en": "Your request is cancelled.",
                         "fr": "Votre demande est annulée."},
    "rstatus_open": {"en": "in progress", "fr": "en cours"},
    "rstatus_extended": {"en": "in progress (extended)", "fr": "en cours (délai prolongé)"},
    "rstatus_done": {"en": "done", "fr": "traitée"},
    "rstatus_refused": {"en": "refused", "fr": "refusée"},
    "rstatus_cancelled": {"en": "cancelled", "fr": "annulée"},
    "erase_when": {"en": "carried out on {when} unless you cancel it",
                   "fr": "effectué le {when} sauf si vous l'annulez"},
    "erase_title": {"en": "Erase my data", "fr": "Effacer mes données"},
    "erase_what": {
        "en": "We will erase everything we hold about you: your data, every estimate and its "
              "explanation, your disputes and their decisions, contact tasks, your contact "
              "address and your access links. Your page will no longer open.",
        "fr": "Nous effacerons tout ce que nous détenons à votre sujet : vos données, chaque "
              "estimation et son explication, vos contestations et leurs décisions, les "
              "tâches de contact, votre adresse de contact et vos liens d'accès. Votre page "
              "ne s'ouvrira plus."},
    "erase_kept": {
        "en": "We keep only a pseudonym (a code that does not name you) with the fact and date "
              "of the erasure and of your request, so that you are not profiled again and "
              "so that we can show we answered you.",
        "fr": "Nous ne gardons qu'un pseudonyme (un code qui ne vous nomme pas) avec le fait "
              "et la date de l'effacement et de votre demande, pour ne plus vous profiler et "
              "pouvoir montrer que nous vous avons répondu."},
    "erase_wait": {
        "en": "The erasure is carried out {n} days after you confirm (or sooner by our team). "
              "Until then you can cancel it from your page.",
        "fr": "L'effacement est effectué {n} jours après votre confirmation (ou plus tôt par "
              "notre équipe). D'ici là, vous pouvez l'annuler depuis votre page."},
    "erase_copy_first": {"en": "You may want to keep a copy first:",
                         "fr": "Vous voudrez peut-être garder une copie avant :"},
    "erase_understood": {"en": "I understand that my data will be erased and cannot be "
                               "recovered.",
                         "fr": "Je comprends que mes données seront effacées et ne pourront "
                               "pas être récupérées."},
    "erase_confirm": {"en": "Confirm the erasure request",
                      "fr": "Confirmer la demande d'effacement"},
    "erase_tick": {"en": "Tick the box to confirm that you understand.",
                   "fr": "Cochez la case pour confirmer que vous avez compris."},
    "erase_sent": {"en": "Your erasure request is received: it is carried out on {when} "
                         "unless you cancel it.",
                   "fr": "Votre demande d'effacement est reçue : elle est effectuée le "
                         "{when}, sauf si vous l'annulez."},
    "copy_title": {"en": "Your data: everything we hold about you",
                   "fr": "Vos données : tout ce que nous détenons à votre sujet"},
    "copy_made": {"en": "Copy made on {date}.", "fr": "Copie établie le {date}."},
    "copy_intro": {
        "en": "This copy lists every record we hold about you, what our model is for, how it "
              "decides and what it cannot do. It is yours to keep (GDPR Art. 15).",
        "fr": "Cette copie liste chaque donnée que nous détenons à votre sujet, à quoi sert "
              "notre modèle, comment il décide et ce qu'il ne peut pas faire. Elle est à vous "
              "(RGPD, art. 15)."},
    "copy_print_hint": {"en": "Use your browser's Print command for a paper copy.",
                        "fr": "Utilisez la commande Imprimer de votre navigateur pour une "
                              "copie papier."},
    "copy_you": {"en": "You", "fr": "Vous"},
    "copy_customer_id": {"en": "Customer number", "fr": "Numéro de client"},
    "copy_pseudonym": {"en": "Pseudonym used in our records",
                       "fr": "Pseudonyme utilisé dans nos dossiers"},
    "copy_first_seen": {"en": "In our records since", "fr": "Dans nos dossiers depuis"},
    "copy_contact": {"en": "Contact address (language)", "fr": "Adresse de contact (langue)"},
    "copy_none_held": {"en": "None held.", "fr": "Aucune donnée détenue."},
    "copy_restricted": {"en": "Use restricted (dispute under review)",
                        "fr": "Utilisation limitée (contestation en cours)"},
    "copy_objected": {"en": "Objection to profiling", "fr": "Opposition au profilage"},
    "copy_yes": {"en": "yes", "fr": "oui"},
    "copy_no": {"en": "no", "fr": "non"},
    "copy_procedure": {"en": "The procedure and principles applied",
                       "fr": "La procédure et les principes appliqués"},
    "copy_purpose": {"en": "What it is for", "fr": "À quoi cela sert"},
    "copy_how": {"en": "How it decides", "fr": "Comment il décide"},
    "copy_model": {"en": "Model {name}, version {version}: the data it uses",
                   "fr": "Modèle {name}, version {version} : les données qu'il utilise"},
    "copy_model_facts": {"en": "Trained on the data set {dataset} ({rows} customers) on "
                               "{trained}.",
                         "fr": "Entraîné sur le jeu de données {dataset} ({rows} clients) le "
                               "{trained}."},
    "copy_feature": {"en": "Data", "fr": "Donnée"},
    "copy_feature_what": {"en": "What it is", "fr": "Ce que c'est"},
    "copy_feature_why": {"en": "Why it is used", "fr": "Pourquoi elle est utilisée"},
    "copy_cannot": {"en": "What it cannot do", "fr": "Ce qu'il ne peut pas faire"},
    "copy_recourse": {"en": "What would change the estimate",
                      "fr": "Ce qui changerait l'estimation"},
    "copy_predictions": {"en": "Estimates about you ({n})",
                         "fr": "Estimations vous concernant ({n})"},
    "copy_estimate": {"en": "estimated chance of leaving {pct}, {band} risk",
                      "fr": "probabilité de départ estimée à {pct}, risque {band}"},
    "copy_band_low": {"en": "low", "fr": "faible"},
    "copy_band_medium": {"en": "medium", "fr": "moyen"},
    "copy_band_high": {"en": "high", "fr": "élevé"},
    "copy_pred_facts": {"en": "Model {model} · {source}", "fr": "Modèle {model} · {source}"},
    "copy_source_api": {"en": "scored on request", "fr": "évaluée à la demande"},
    "copy_source_batch": {"en": "scored in the nightly run", "fr": "évaluée lors du calcul "
                                                                  "de nuit"},
    "copy_source_review": {"en": "computed again after a review corrected your data",
                           "fr": "recalculée après la correction de vos données lors d'un "
                                 "examen"},
    "copy_withdrawn": {"en": "withdrawn after a review: no longer used",
                       "fr": "retirée après examen : plus utilisée"},
    "copy_route_human_contact": {
        "en": "Outcome: a person from our retention team may get in touch with you.",
        "fr": "Suite donnée : une personne de notre équipe de fidélisation peut vous "
              "contacter."},
    "copy_route_none": {"en": "Outcome: nothing (no contact).",
                        "fr": "Suite donnée : aucune (pas de contact)."},
    "copy_value": {"en": "Value used", "fr": "Valeur utilisée"},
    "copy_effect": {"en": "Effect", "fr": "Effet"},
    "copy_shap": {"en": "Contribution (log-odds)", "fr": "Contribution (log-odds)"},
    "copy_base": {"en": "Base value {base}; with the contributions: {margin}.",
                  "fr": "Valeur de base {base} ; avec les contributions : {margin}."},
    "copy_disputes": {"en": "Your disputes ({n})", "fr": "Vos contestations ({n})"},
    "copy_decision_upheld": {"en": "Upheld", "fr": "Maintenue"},
    "copy_decision_rectified": {"en": "Data corrected", "fr": "Données corrigées"},
    "copy_decision_overturned": {"en": "Withdrawn", "fr": "Retirée"},
    "copy_objections": {"en": "Objections to profiling", "fr": "Oppositions au profilage"},
    "copy_objected_at": {"en": "Objected on {at}", "fr": "Opposition le {at}"},
    "copy_by_phone": {"en": "by phone, with our staff",
                      "fr": "par téléphone, avec un conseiller"},
    "copy_withdrawn_at": {"en": "withdrawn on {at}", "fr": "retirée le {at}"},
    "copy_tasks": {"en": "Contacts by our retention team",
                   "fr": "Contacts de notre équipe de fidélisation"},
    "copy_created": {"en": "Created", "fr": "Créé le"},
    "copy_outcome": {"en": "Outcome", "fr": "Résultat"},
    "copy_note": {"en": "Note", "fr": "Note"},
    "copy_messages": {"en": "Messages we sent you", "fr": "Messages que nous vous avons "
                                                          "envoyés"},
    "copy_subject": {"en": "Subject", "fr": "Objet"},
    "copy_to": {"en": "To", "fr": "À"},
    "copy_access": {"en": "Access to your page", "fr": "Accès à votre page"},
    "copy_access_text": {"en": "Links issued: {links}; sessions opened: {sessions}.",
                         "fr": "Liens émis : {links} ; sessions ouvertes : {sessions}."},
    "copy_used": {"en": "used on {at}", "fr": "utilisé le {at}"},
    "copy_history": {"en": "What was done with your data", "fr": "Ce qui a été fait de vos "
                                                                 "données"},
    "copy_history_text": {
        "en": "Every action about you recorded in our tamper-evident log, oldest first.",
        "fr": "Chaque action vous concernant enregistrée dans notre journal infalsifiable, "
              "de la plus ancienne à la plus récente."},
    "copy_when": {"en": "When", "fr": "Quand"},
    "copy_what": {"en": "What", "fr": "Quoi"},
    "copy_who": {"en": "By", "fr": "Par"},
    "copy_by_you": {"en": "you", "fr": "vous"},
    "copy_by_staff": {"en": "our staff", "fr": "notre personnel"},
    "copy_by_system": {"en": "the system", "fr": "le système"},
    "staff_rights_title": {"en": "Rights requests", "fr": "Demandes d'exercice des droits"},
    "staff_rights_intro": {
        "en": "Answer each request within one month of receipt. Extend it once, by two "
              "months, only within that month and with a reason the customer is told.",
        "fr": "Répondez à chaque demande dans le mois de sa réception. Prolongez-la une "
              "fois, de deux mois, seulement dans ce mois et avec une raison communiquée "
              "au client."},
    "staff_rights_overdue_count": {"en": "{n} request(s) past their deadline.",
                                   "fr": "{n} demande(s) en retard."},
    "staff_rights_filter": {"en": "Which requests", "fr": "Quelles demandes"},
    "staff_rights_f_open": {"en": "In progress", "fr": "En cours"},
    "staff_rights_f_overdue": {"en": "Overdue", "fr": "En retard"},
    "staff_rights_f_closed": {"en": "Closed", "fr": "Closes"},
    "staff_rights_f_all": {"en": "All", "fr": "Toutes"},
    "staff_rights_customer": {"en": "Customer (pseudonym)", "fr": "Client (pseudonyme)"},
    "staff_rights_handler": {"en": "Handled by", "fr": "Traitée par"},
    "staff_rights_via_customer": {"en": "from their page", "fr": "depuis sa page"},
    "staff_rights_via_assisted": {"en": "by phone", "fr": "par téléphone"},
    "staff_rights_overdue": {"en": "Overdue by {n} day(s)", "fr": "En retard de {n} jour(s)"},
    "staff_rights_days_left": {"en": "{n} day(s) left", "fr": "encore {n} jour(s)"},
    "staff_rights_auto": {"en": "erased automatically on {when}",
                          "fr": "effacement automatique le {when}"},
    "staff_rights_details": {"en": "The customer's words", "fr": "Les mots du client"},
    "staff_rights_take": {"en": "Take", "fr": "Prendre"},
    "staff_rights_extend": {"en": "Extend by two months", "fr": "Prolonger de deux mois"},
    "staff_rights_reason_label": {"en": "Why (the customer reads it)",
                                  "fr": "Pourquoi (le client le lira)"},
    "staff_rights_extend_do": {"en": "Extend and tell the customer",
                               "fr": "Prolonger et prévenir le client"},
    "staff_rights_answer": {"en": "Answer", "fr": "Répondre"},
    "staff_rights_outcome_label": {"en": "What was done, or why not (the customer reads it)",
                                   "fr": "Ce qui a été fait, ou pourquoi non (le client le "
                                         "lira)"},
    "staff_rights_done": {"en": "Done", "fr": "Traitée"},
    "staff_rights_erase_now": {"en": "Erase now", "fr": "Effacer maintenant"},
    "staff_rights_refuse": {"en": "Refuse", "fr": "Refuser"},
    "staff_rights_none": {"en": "No request here.", "fr": "Aucune demande ici."},
    "staff_rights_taken": {"en": "You handle this request now.",
                           "fr": "Vous traitez désormais cette demande."},
    "staff_rights_extended": {"en": "Extended; the customer is told.",
                              "fr": "Délai prolongé ; le client est prévenu."},
    "staff_rights_closed": {"en": "Answered; the customer is told.",
                            "fr": "Réponse donnée ; le client est prévenu."},
    "staff_rights_unknown": {"en": "Nothing was done: choose an action.",
                             "fr": "Rien n'a été fait : choisissez une action."},
    "staff_rights_reason": {"en": "Give a reason of at least 10 characters.",
                            "fr": "Donnez une raison d'au moins 10 caractères."},
    "staff_rights_outcome": {"en": "Say what was done, or why not (3 characters at least).",
                             "fr": "Dites ce qui a été fait, ou pourquoi non (3 caractères "
                                   "au moins)."},
    "staff_rights_refused": {"en": "Not done:", "fr": "Non effectué :"},
})

# issue 16 (recourse): what would lower a risk (staff) / change an estimate (customer)
RECOURSE: dict[str, dict[str, str]] = {
    "rc_h": {"en": "What would lower this risk", "fr": "Ce qui ferait baisser ce risque"},
    "rc_unavailable": {"en": "No model is being served right now: this cannot be worked out.",
                       "fr": "Aucun modèle n'est en service pour le moment : impossible de "
                             "le calculer."},
    "rc_intro": {"en": "The smallest changes of what the model's schema marks as changeable, "
                       "within its limits, each re-scored exactly by the model in use. Nothing "
                       "is offered automatically: proposing one is your call.",
                 "fr": "Les plus petits changements de ce que le schéma du modèle désigne comme "
                       "modifiable, dans ses limites, chacun recalculé exactement par le modèle "
                       "utilisé. Rien n'est proposé automatiquement : c'est à vous de décider."},
    "rc_option": {"en": "Option {n}", "fr": "Possibilité {n}"},
    "rc_new_score": {"en": "new estimate {score}", "fr": "nouvelle estimation {score}"},
    "rc_from": {"en": "Instead of {score} now.", "fr": "Au lieu de {score} aujourd'hui."},
    "rc_changes": {"en": "What changes", "fr": "Ce qui change"},
    "rc_reasons": {"en": "How the reasons change", "fr": "Comment les raisons changent"},
    "rc_search": {"en": "Worked out from {n} changed records (up to {k} changes at once).",
                  "fr": "Calculé sur {n} dossiers modifiés (jusqu'à {k} changements à la "
                        "fois)."},
    "rc_search_one": {"en": "Worked out from {n} changed record (up to {k} changes at once).",
                      "fr": "Calculé sur {n} dossier modifié (jusqu'à {k} changements à la "
                            "fois)."},
    "rc_incomplete": {"en": "Larger combinations were left out to keep it quick.",
                      "fr": "Les combinaisons plus grandes ont été laissées de côté pour "
                            "rester rapide."},
    "rc_status_options": {
        "en": "Each of these would bring the estimate below the high-risk band.",
        "fr": "Chacune de ces possibilités ferait passer l'estimation sous la tranche de "
              "risque élevé."},
    "rc_status_lowers_only": {
        "en": "Nothing that can change brings the estimate below the high-risk band; these "
              "lower it the most.",
        "fr": "Rien de ce qui peut changer ne fait passer l'estimation sous la tranche de "
              "risque élevé ; ces possibilités la baissent le plus."},
    "rc_status_none": {
        "en": "Nothing that can change would lower this estimate: it rests on facts that "
              "cannot be changed (such as time as a customer).",
        "fr": "Rien de ce qui peut changer ne baisserait cette estimation : elle repose sur "
              "des faits qui ne changent pas (comme l'ancienneté)."},
    "rc_status_no_levers": {
        "en": "The model in use marks nothing as something that can change (its training "
              "schema has no actionable feature), so nothing is proposed.",
        "fr": "Le modèle utilisé ne désigne rien comme pouvant changer (son schéma "
              "d'entraînement n'a aucune donnée modifiable) : rien n'est donc proposé."},
    "rc_status_already_below": {
        "en": "The estimate is already below the high-risk band: nothing to propose.",
        "fr": "L'estimation est déjà sous la tranche de risque élevé : rien à proposer."},
    "rc_status_restricted": {
        "en": "A dispute is open: the record is not used until a reviewer decides, so "
              "nothing is worked out.",
        "fr": "Une contestation est en cours : le dossier n'est pas utilisé avant la décision "
              "d'un examinateur, rien n'est donc calculé."},
    "rc_status_objected": {
        "en": "The customer objected to profiling: nothing is worked out about them.",
        "fr": "Le client s'est opposé au profilage : rien n'est calculé à son sujet."},
    "rc_status_no_prediction": {"en": "There is no estimate in use for this customer.",
                                "fr": "Aucune estimation n'est en vigueur pour ce client."},
    "rc_status_model_changed": {
        "en": "The stored record does not fit the model now in use: score the customer again.",
        "fr": "Le dossier enregistré ne correspond pas au modèle utilisé : recalculez le "
              "score du client."},
    # the customer's page
    "me_rc_h": {"en": "What would change this estimate",
                "fr": "Ce qui changerait cette estimation"},
    "me_rc_if": {"en": "If this changed:", "fr": "Si ceci changeait :"},
    "me_rc_then": {"en": "the estimate would be {pct} ({words}).",
                   "fr": "l'estimation serait de {pct} ({words})."},
    "me_rc_note": {
        "en": "Worked out with the same model, changing only what you or we can change. "
              "This is neither advice nor an offer, and facts that cannot change, such as how "
              "long you have been with us, are left as they are.",
        "fr": "Calculé avec le même modèle, en ne changeant que ce que vous ou nous pouvons "
              "changer. Ce n'est ni un conseil ni une offre, et ce qui ne peut pas changer, "
              "comme votre ancienneté, reste tel quel."},
    "me_rc_status_options": {
        "en": "Any one of these changes would bring the estimate below the level at which "
              "our retention team is asked to get in touch:",
        "fr": "Un seul de ces changements suffirait à faire passer l'estimation sous le "
              "niveau à partir duquel notre équipe de fidélisation est invitée à vous "
              "contacter :"},
    "me_rc_status_lowers_only": {
        "en": "No change of what can change would bring the estimate below the level at "
              "which our retention team is asked to get in touch; these would lower it the "
              "most:",
        "fr": "Aucun changement possible ne ferait passer l'estimation sous le niveau à partir "
              "duquel notre équipe de fidélisation est invitée à vous contacter ; ceux-ci la "
              "baisseraient le plus :"},
    "me_rc_status_none": {
        "en": "Nothing you or we can change would lower this estimate: it rests on facts "
              "that cannot change.",
        "fr": "Rien de ce que vous ou nous pouvons changer ne baisserait cette estimation : "
              "elle repose sur des faits qui ne changent pas."},
    "me_rc_status_no_levers": {
        "en": "This cannot be worked out for this estimate: the model does not say what could "
              "change.",
        "fr": "Impossible de le calculer pour cette estimation : le modèle n'indique pas ce "
              "qui pourrait changer."},
    "me_rc_status_already_below": {
        "en": "This estimate is below the level at which our retention team is asked to get "
              "in touch: nothing needs to change.",
        "fr": "Cette estimation est sous le niveau à partir duquel notre équipe de "
              "fidélisation est invitée à vous contacter : rien n'a besoin de changer."},
    "me_rc_status_restricted": {
        "en": "While your dispute is being reviewed, your data is not used, so nothing is "
              "worked out.",
        "fr": "Pendant l'examen de votre contestation, vos données ne sont pas utilisées : "
              "rien n'est donc calculé."},
    "me_rc_status_objected": {
        "en": "You objected to profiling, so nothing is worked out about you.",
        "fr": "Vous vous êtes opposé au profilage : rien n'est donc calculé à votre sujet."},
    "me_rc_status_no_prediction": {"en": "There is no estimate about you in use.",
                                   "fr": "Aucune estimation vous concernant n'est en vigueur."},
    "me_rc_status_model_changed": {
        "en": "This cannot be worked out at the moment: the model has changed since your "
              "estimate was made.",
        "fr": "Impossible de le calculer pour le moment : le modèle a changé depuis votre "
              "estimation."},
}
CATALOG.update(RECOURSE)

# issue 18: the compliance report page (its sections' words: serving/compliance/wording.py)
CATALOG.update({
    "cr_nav": {"en": "Compliance report", "fr": "Rapport de conformité"},
    "cr_lead": {
        "en": "Built now from the database, the settings and the model registry: the record "
              "of processing, the rights requests and disputes of the period (counts only, "
              "small counts hidden), the model versions served with their cards, and the "
              "audit chain verified. Nothing in it names a customer.",
        "fr": "Établi à l'instant depuis la base, les réglages et le registre des modèles : "
              "le registre des traitements, les demandes d'exercice des droits et les "
              "contestations de la période (des effectifs seulement, les petits masqués), "
              "les versions du modèle en service avec leur fiche, et la chaîne d'audit "
              "vérifiée. Rien n'y désigne un client."},
    "cr_period": {"en": "Period", "fr": "Période"},
    "cr_since": {"en": "From (included)", "fr": "Du (inclus)"},
    "cr_until": {"en": "Until (excluded)", "fr": "Au (exclu)"},
    "cr_show": {"en": "Build the report for this period",
                "fr": "Établir le rapport pour cette période"},
    "cr_download_html": {"en": "Download the printable report (HTML)",
                         "fr": "Télécharger le rapport imprimable (HTML)"},
    "cr_download_json": {"en": "Download the figures (JSON)",
                         "fr": "Télécharger les chiffres (JSON)"},
    "cr_bad_date": {"en": "“{value}” is not a date: write it YYYY-MM-DD (for example "
                          "2026-01-31), or leave the field empty for no bound.",
                    "fr": "« {value} » n'est pas une date : écrivez-la AAAA-MM-JJ (par "
                          "exemple 2026-01-31), ou laissez le champ vide pour ne pas borner."},
})

_PROBLEMS = check_catalog(CATALOG)
if _PROBLEMS:  # refused at import: the app does not start with a half-written catalogue
    raise RuntimeError("serving/web/i18n.py CATALOG: " + "; ".join(_PROBLEMS))
