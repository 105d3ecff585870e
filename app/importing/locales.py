"""Locales of translation columns: `Field(SPANISH)`, `Field(es)` or `Field(es_ES)`."""

from __future__ import annotations

import re

LANGUAGE_NAMES: dict[str, str] = {
    "ARABIC": "ar", "CHINESE": "zh", "CZECH": "cs", "DANISH": "da", "DUTCH": "nl", "ENGLISH": "en",
    "FINNISH": "fi", "FRENCH": "fr", "GERMAN": "de", "GREEK": "el", "HEBREW": "he", "HINDI": "hi",
    "HUNGARIAN": "hu", "INDONESIAN": "id", "ITALIAN": "it", "JAPANESE": "ja", "KOREAN": "ko",
    "NORWEGIAN": "no", "POLISH": "pl", "PORTUGUESE": "pt", "ROMANIAN": "ro", "RUSSIAN": "ru",
    "SLOVAK": "sk", "SPANISH": "es", "SWEDISH": "sv", "THAI": "th", "TURKISH": "tr",
    "UKRAINIAN": "uk", "VIETNAMESE": "vi",
}  # fmt: skip
_KNOWN_CODES = frozenset(LANGUAGE_NAMES.values())
_CODE = re.compile(r"^([a-zA-Z]{2})(?:[_-]([a-zA-Z]{2}))?$")


def normalise_locale(text: str) -> str | None:
    """`SPANISH` -> `es`, `es-es` -> `es_ES`; None for a locale we do not know."""
    name = text.strip()
    if name.upper() in LANGUAGE_NAMES:
        return LANGUAGE_NAMES[name.upper()]
    match = _CODE.match(name)
    if match is None or match.group(1).lower() not in _KNOWN_CODES:
        return None
    language, region = match.group(1).lower(), match.group(2)
    return f"{language}_{region.upper()}" if region else language
