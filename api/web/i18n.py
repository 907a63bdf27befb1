"""Languages of the pages: gettext catalogues read with Babel, and local number formats.

A language is one file, ``locale/<lang>/LC_MESSAGES/messages.po``; the catalogues are read
when the app starts (no compile step), and English, the language of the message ids, needs
none. Numbers, money and times follow the language's conventions (Babel's CLDR data).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal, format_percent
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
SOURCE_LANGUAGE = "en"


def N_(message: str) -> str:
    """Marks a message id for the catalogues; it is translated where it is rendered."""
    return message


def read_catalogues(directory: Path = LOCALE_DIR) -> dict[str, NullTranslations]:
    """Every catalogue under ``directory``, by language tag, plus the source language."""
    found: dict[str, NullTranslations] = {SOURCE_LANGUAGE: NullTranslations()}
    for po in sorted(directory.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        lang = po.parents[1].name
        with po.open("rb") as f:
            catalog = read_po(f, locale=lang)
        buf = io.BytesIO()
        write_mo(buf, catalog)
        buf.seek(0)
        found[lang] = Translations(buf, domain=DOMAIN)
    return found


def negotiate(accept_language: str | None, languages: list[str]) -> str:
    """The best of ``languages`` for an ``Accept-Language`` header; the source language
    when none fits (``zh-CN;q=0.9, en;q=0.8`` -> ``zh``)."""
    ranked = []
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if tag:
            ranked.append((q, tag.strip()))
    for _, tag in sorted(ranked, key=lambda pair: -pair[0]):
        base = tag.replace("_", "-").split("-")[0].lower()
        if base in languages:
            return base
    return SOURCE_LANGUAGE


@dataclass(frozen=True)
class Local:
    """Messages and formats of one language, with the site's currency."""

    lang: str
    translations: NullTranslations
    currency: str = "CNY"

    @cached_property
    def locale(self) -> Locale:
        try:
            return Locale.parse(self.lang)
        except (UnknownLocaleError, ValueError):
            return Locale.parse(SOURCE_LANGUAGE)

    def gettext(self, message: str) -> str:
        return self.translations.gettext(message)

    def number(self, value: float, digits: int | None = None) -> str:
        """A number with the language's separators; ``digits`` decimals (default: 0 from
        10 up, else 1)."""
        if digits is None:
            digits = 0 if abs(value) >= 10 or abs(value) < 0.05 else 1
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return format_decimal(round(value, digits) + 0.0, format=pattern, locale=self.locale)

    def money(self, value: float, digits: int = 2) -> str:
        pattern = None if digits == 2 else "¤#,##0"
        return format_currency(value, self.currency, format=pattern, locale=self.locale)

    def percent(self, value_pu: float) -> str:
        return format_percent(value_pu, format="#,##0%", locale=self.locale)

    def time(self, moment: datetime) -> str:
        return format_time(moment, "HH:mm", tzinfo=moment.tzinfo, locale=self.locale)

    def day(self, day: date | datetime) -> str:
        return format_date(day.date() if isinstance(day, datetime) else day, "full",
                           locale=self.locale)

    def short_day(self, day: date | datetime) -> str:
        return format_date(day.date() if isinstance(day, datetime) else day, "medium",
                           locale=self.locale)

    def moment(self, moment: datetime) -> str:
        return format_datetime(moment, "medium", tzinfo=moment.tzinfo, locale=self.locale)
