"""The profile sections provisionhub ships: UNIWeb's profile and a part of its CV, in English and French.

Written as a catalogue document (section_documents.py), as an operator's file would be; an operator's
section of the same path takes the place of one of these.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from provisionhub.directory.section_documents import read_document
from provisionhub.directory.sections import Catalogue


def _text(en: str, fr: str, **more: Any) -> dict[str, Any]:
    return {"title": {"en": en, "fr": fr}, "type": "text", **more}


def _typed(kind: str, en: str, fr: str, **more: Any) -> dict[str, Any]:
    return {"title": {"en": en, "fr": fr}, "type": kind, **more}


def _choices(*rows: tuple[int, str, str] | tuple[int, str, str, int]) -> list[dict[str, Any]]:
    """Choices of a list of values from (id, English, French[, parent id]) rows."""
    return [
        {"id": row[0], "title": {"en": row[1], "fr": row[2]}, **({"parent": row[3]} if len(row) > 3 else {})}
        for row in rows
    ]


_DEGREE_TYPES = _choices(
    (1, "Doctorate", "Doctorat"),
    (2, "Master's Thesis", "Maîtrise avec mémoire"),
    (3, "Master's non-Thesis", "Maîtrise sans mémoire"),
    (4, "Bachelor's", "Baccalauréat"),
    (5, "Diploma", "Diplôme"),
    (6, "Post-doctorate", "Postdoctorat"),
)
_DEGREE_STATUSES = _choices(
    (1, "Completed", "Terminé"),
    (2, "In Progress", "En cours"),
    (3, "Withdrawn", "Abandonné"),
)
_ADDRESS_TYPES = _choices(
    (1, "Primary Affiliation", "Affiliation principale"),
    (2, "Secondary Affiliation", "Affiliation secondaire"),
    (3, "Home", "Domicile"),
    (4, "Temporary", "Temporaire"),
)
# Countries, then their subdivisions under them: read back as [id, province, country].
_LOCATIONS = _choices(
    (1, "Canada", "Canada"),
    (2, "United States", "États-Unis"),
    (3, "France", "France"),
    (10, "Ontario", "Ontario", 1),
    (11, "Quebec", "Québec", 1),
    (12, "British Columbia", "Colombie-Britannique", 1),
    (13, "Alberta", "Alberta", 1),
    (14, "Nova Scotia", "Nouvelle-Écosse", 1),
    (20, "New York", "New York", 2),
    (21, "California", "Californie", 2),
)

DOCUMENT: dict[str, Any] = {
    "pages": [
        {
            "title": {"en": "Profile", "fr": "Profil"},
            "sections": [
                {
                    # The person's own fields, whoever wrote them (any dialect): nothing of it is an item.
                    "title": {"en": "Membership Information", "fr": "Renseignements sur le membre"},
                    "single": True,
                    "fields": [
                        _text("Prefix", "Préfixe", person="name_prefix"),
                        _text("First Name", "Prénom", person="given_name"),
                        _text("Middle Name", "Deuxième prénom", person="middle_name"),
                        _text("Last Name", "Nom de famille", person="family_name"),
                        _text("Email", "Courriel", person="email"),
                        _text("Position Title", "Titre du poste", person="title"),
                        _text("Unit", "Unité", person="unit"),
                    ],
                },
                {
                    "title": {"en": "Biography", "fr": "Biographie"},
                    "single": True,
                    "fields": [_text("Biography", "Biographie")],
                },
                {
                    "title": {"en": "Research Interests", "fr": "Intérêts de recherche"},
                    "fields": [_typed("bilingual", "Interest", "Intérêt")],
                },
                {
                    "title": {"en": "Selected Degrees", "fr": "Diplômes choisis"},
                    "fields": [
                        _text("Degree Name", "Nom du diplôme"),
                        _text("Organization", "Organisation"),
                        _text("Specialty", "Spécialité"),
                    ],
                },
            ],
        },
        {
            "title": {"en": "CV", "fr": "CV"},
            "sections": [
                {
                    "title": {"en": "Personal Information", "fr": "Renseignements personnels"},
                    "sections": [
                        {
                            "title": {"en": "Address", "fr": "Adresse"},
                            "fields": [
                                _typed("lov", "Address Type", "Type d'adresse", choices=_ADDRESS_TYPES),
                                _text("Address - Line 1", "Adresse - ligne 1"),
                                _text("Address - Line 2", "Adresse - ligne 2"),
                                _text("Address - Line 3", "Adresse - ligne 3"),
                                _text("City", "Ville"),
                                _typed("lov", "Location", "Emplacement", choices=_LOCATIONS),
                                _text("Postal / Zip Code", "Code postal / zip"),
                                _typed("date", "Address Start Date", "Date de début de l'adresse"),
                                _typed("date", "Address End Date", "Date de fin de l'adresse"),
                            ],
                        },
                    ],
                },
                {
                    "title": {"en": "Education", "fr": "Formation"},
                    "sections": [
                        {
                            "title": {"en": "Degrees", "fr": "Diplômes"},
                            "fields": [
                                _typed("lov", "Degree Type", "Type de diplôme", choices=_DEGREE_TYPES),
                                _text("Degree Name", "Nom du diplôme"),
                                _text("Specialization", "Spécialisation"),
                                _text("Organization", "Organisation"),
                                _typed("lov", "Degree Status", "Statut du diplôme", choices=_DEGREE_STATUSES),
                                _typed("date", "Degree Start Date", "Date de début du diplôme"),
                                _typed("date", "Degree Received Date", "Date d'obtention du diplôme"),
                                _typed("bilingual", "Thesis Title", "Titre de la thèse"),
                                _typed("number", "Credits", "Crédits"),
                                _typed(
                                    "subsection",
                                    "Supervisors",
                                    "Superviseurs",
                                    fields=[
                                        _text("Supervisor Name", "Nom du superviseur"),
                                        _typed("date", "Start Date", "Date de début"),
                                        _typed("date", "End Date", "Date de fin"),
                                    ],
                                ),
                            ],
                        },
                    ],
                },
            ],
        },
    ]
}


@cache
def default_catalogue() -> Catalogue:
    """The catalogue provisionhub ships (read once: it never changes while running)."""
    return Catalogue(read_document(DOCUMENT, Catalogue([])))
