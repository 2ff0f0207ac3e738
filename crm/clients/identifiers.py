"""Pure checks of Chinese identifiers and contact numbers. No database, no Flask.

Each check returns None when the value is valid, or an error message (a lazy translatable
string) that says what is wrong, so that forms and importers report the same words.
"""

import re
import unicodedata
from datetime import date

from flask_babel import lazy_gettext as _l

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"  # index: S mod 11

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

# re.ASCII: a bare \d would also match other scripts' digits, which int() and the check
# character arithmetic then choke on. fullmatch: "$" alone lets a trailing newline through.
MOBILE_RE = re.compile(r"1[3-9]\d{9}", re.ASCII)
# Landline with area code: 010-12345678, 0755 1234567, optional extension.
LANDLINE_RE = re.compile(r"0\d{2,3}[- ]?\d{7,8}(?:[- ]?(?:转|ext\.?|x)?\d{1,6})?", re.ASCII)
POSTCODE_RE = re.compile(r"\d{6}", re.ASCII)
ID_NUMBER_RE = re.compile(r"\d{17}[\dX]", re.ASCII)


def normalise_text(value: str) -> str:
    """What a number field stores: NFKC turns the full-width digits and letters a Chinese input
    method types into ASCII; surrounding blanks go."""
    return unicodedata.normalize("NFKC", value).strip()


def normalise_id_number(value: str) -> str:
    return normalise_text(value).upper()


def id_number_check_char(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK[total % 11]


def check_id_number(value: str) -> str | None:
    """GB 11643 resident ID number: 18 characters, real birth date, check character."""
    v = normalise_id_number(value)
    if len(v) != 18:
        return _l("An ID number has 18 characters; this one has %(n)d.", n=len(v))
    if not ID_NUMBER_RE.fullmatch(v):
        return _l("An ID number is 17 digits followed by a digit or X.")
    try:
        date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    except ValueError:
        return _l("Characters 7-14 of the ID number are not a real date of birth.")
    if int(v[6:10]) < 1900 or date(int(v[6:10]), int(v[10:12]), int(v[12:14])) > date.today():
        return _l("The date of birth in the ID number is out of range.")
    expected = id_number_check_char(v[:17])
    if v[17] != expected:
        return _l("The ID number's check character is wrong (expected %(c)s).", c=expected)
    return None


def id_number_gender(value: str) -> str:
    return "male" if int(normalise_id_number(value)[16]) % 2 else "female"


def id_number_birth_date(value: str) -> date:
    v = normalise_id_number(value)
    return date(int(v[6:10]), int(v[10:12]), int(v[12:14]))


def mask_id_number(value: str) -> str:
    v = normalise_id_number(value)
    return v[:4] + "*" * (len(v) - 8) + v[-4:]


def normalise_credit_code(value: str) -> str:
    return normalise_text(value).upper()


def credit_code_check_char(first17: str) -> str:
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def check_credit_code(value: str) -> str | None:
    """GB 32100 unified social credit code: 18 characters of a 31-letter alphabet."""
    v = normalise_credit_code(value)
    if len(v) != 18:
        return _l("A unified social credit code has 18 characters; this one has %(n)d.", n=len(v))
    bad = sorted({c for c in v if c not in USCC_ALPHABET})
    if bad:
        return _l(
            "A unified social credit code cannot contain %(chars)s (I, O, Z, S, V are never used).",
            chars=", ".join(bad),
        )
    expected = credit_code_check_char(v[:17])
    if v[17] != expected:
        return _l("The credit code's check character is wrong (expected %(c)s).", c=expected)
    return None


def check_mobile(value: str) -> str | None:
    if not MOBILE_RE.fullmatch(normalise_text(value)):
        return _l("A mobile number is 11 digits starting with 13-19.")
    return None


def check_phone(value: str) -> str | None:
    """A phone field takes a mobile number or a landline with its area code."""
    v = normalise_text(value)
    if MOBILE_RE.fullmatch(v) or LANDLINE_RE.fullmatch(v):
        return None
    return _l("Write a landline with its area code (e.g. 010-12345678) or an 11-digit mobile.")


def check_postcode(value: str) -> str | None:
    if not POSTCODE_RE.fullmatch(normalise_text(value)):
        return _l("A postcode has 6 digits.")
    return None
