"""GB 11643 ID numbers, GB 32100 credit codes and contact numbers: pure checks, no database.

The valid samples are computed here with the standards' weights written out again, so a wrong
weight or table in crm.clients.identifiers makes these tests fail instead of agreeing with it.
"""

from datetime import date, timedelta

import pytest

from crm.clients import identifiers as ids

# GB 11643-1999: weights 2^(17-i) mod 11 over the first 17 digits; check by S mod 11.
GB11643_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
GB11643_CHECK = {
    0: "1",
    1: "0",
    2: "X",
    3: "9",
    4: "8",
    5: "7",
    6: "6",
    7: "5",
    8: "4",
    9: "3",
    10: "2",
}

# GB 32100-2015: 31 characters (no I, O, Z, S, V), value = index; weights 3^(i) mod 31.
GB32100_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
GB32100_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def id_check(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, GB11643_WEIGHTS, strict=True))
    return GB11643_CHECK[total % 11]


def id_number(first17: str) -> str:
    return first17 + id_check(first17)


def uscc_check(first17: str) -> str:
    pairs = zip(first17, GB32100_WEIGHTS, strict=True)
    total = sum(GB32100_ALPHABET.index(c) * w for c, w in pairs)
    return GB32100_ALPHABET[(31 - total % 31) % 31]


def uscc(first17: str) -> str:
    return first17 + uscc_check(first17)


def body_with_check(make, check, wanted: str, prefix: str) -> str:
    """A 17-character body (prefix + counter) whose check character is `wanted`."""
    for n in range(100000):
        body = prefix + f"{n:0{17 - len(prefix)}d}"
        if check(body) == wanted:
            return make(body)
    raise AssertionError(f"no body with check {wanted}")


def other_char(alphabet: str, char: str) -> str:
    return next(c for c in alphabet if c != char)


# --- GB 11643 resident ID numbers -------------------------------------------------------------


def test_weights_of_the_test_are_the_standards():
    # Weight i is 2^(17-i) mod 11, so the table above is not a copy of the module's.
    assert [pow(2, 17 - i, 11) for i in range(17)] == GB11643_WEIGHTS
    assert [pow(3, i, 31) for i in range(17)] == GB32100_WEIGHTS


@pytest.mark.parametrize(
    "value",
    [
        "11010519491231002X",  # the example in GB 11643 itself
        "440524198001010013",
        id_number("11010519850615123"),
        id_number("31011520000229456"),  # 29 February of a leap year
    ],
)
def test_valid_id_numbers_pass(value):
    assert ids.check_id_number(value) is None


def test_every_check_character_is_computed_like_the_standard():
    # One ID number per possible check character, X included.
    for check in "0123456789X":
        value = body_with_check(id_number, id_check, check, "11010519900101")
        assert value[-1] == check
        assert ids.check_id_number(value) is None, value
        assert ids.id_number_check_char(value[:17]) == check


def test_lower_case_x_is_accepted_and_stored_upper():
    value = body_with_check(id_number, id_check, "X", "11010519900101")
    lower = value[:17] + "x"
    assert ids.check_id_number(lower) is None
    assert ids.normalise_id_number(lower) == value
    assert ids.mask_id_number(lower) == value[:4] + "*" * 10 + value[-4:]


def test_full_width_digits_of_a_chinese_input_method_are_normalised():
    value = id_number("11010519850615123")
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in value)
    assert ids.check_id_number(full_width) is None
    assert ids.normalise_id_number(full_width) == value


def test_wrong_check_character_names_the_expected_one():
    value = id_number("11010519850615123")
    wrong = value[:17] + other_char("0123456789X", value[-1])
    message = ids.check_id_number(wrong)
    assert message is not None
    assert "check character" in str(message)
    assert f"expected {value[-1]}" in str(message)


@pytest.mark.parametrize("birth", ["19990230", "19991301", "19990000", "20230229"])
def test_impossible_birth_dates_are_refused(birth):
    value = id_number(f"110105{birth}123")
    message = ids.check_id_number(value)
    assert message is not None and "date of birth" in str(message)


def test_birth_dates_in_the_future_or_before_1900_are_refused():
    tomorrow = date.today() + timedelta(days=1)
    for birth in (f"{tomorrow:%Y%m%d}", "18991231"):
        message = ids.check_id_number(id_number(f"110105{birth}123"))
        assert message is not None and "out of range" in str(message)


@pytest.mark.parametrize(
    "value, length",
    [
        ("11010519850615123", 17),
        ("1101051985061512345", 19),
        ("", 0),
        ("110105850615123", 15),  # the old 15-digit cards are not accepted
    ],
)
def test_wrong_length_says_how_long(value, length):
    message = ids.check_id_number(value)
    assert message is not None
    assert "18 characters" in str(message) and f"has {length}" in str(message)


@pytest.mark.parametrize(
    "value",
    [
        "11010519850615123A",
        "1101A5198506151234",
        "11010519850615X234",
        "1101051985061512٣4",  # an Arabic-Indic digit: str.isdigit() says yes
        "11010519850615 234",
    ],
)
def test_letters_and_other_characters_are_refused(value):
    message = ids.check_id_number(value)
    assert message is not None and "17 digits followed by a digit or X" in str(message)


def test_gender_and_birth_date_come_from_the_number():
    male = id_number("11010519850615123")  # sequence 123: odd
    female = id_number("11010519850615124")
    assert ids.id_number_gender(male) == "male"
    assert ids.id_number_gender(female) == "female"
    assert ids.id_number_birth_date(male) == date(1985, 6, 15)


def test_mask_keeps_four_characters_each_end():
    assert ids.mask_id_number("11010519491231002X") == "1101**********002X"


# --- GB 32100 unified social credit codes -----------------------------------------------------


@pytest.mark.parametrize(
    "first17",
    [
        "91110105MA01ABCDE",
        "N2110105000000001",  # position 1 a letter (N: farmers' cooperatives)
        "Y1110105000000002",  # Y: other registration authorities
        "A1110105000000003",
        "12100000400000624",
    ],
)
def test_valid_credit_codes_pass(first17):
    assert ids.check_credit_code(uscc(first17)) is None


def test_every_credit_code_check_character_is_computed_like_the_standard():
    for check in GB32100_ALPHABET:
        value = body_with_check(uscc, uscc_check, check, "9111010")
        assert ids.check_credit_code(value) is None, value
        assert ids.credit_code_check_char(value[:17]) == check


def test_credit_code_lower_case_is_normalised():
    value = uscc("91110105MA01ABCDE")
    assert ids.check_credit_code(value.lower()) is None
    assert ids.normalise_credit_code(" " + value.lower() + " ") == value


@pytest.mark.parametrize("letter", list("IOZSV"))
def test_letters_outside_the_alphabet_are_refused(letter):
    body = "9111010" + letter + "000000000"
    # The check character cannot be computed for such a body; any last character will do.
    message = ids.check_credit_code(body + "0")
    assert message is not None
    assert letter in str(message) and "I, O, Z, S, V" in str(message)


def test_credit_code_with_wrong_check_character_names_the_expected_one():
    value = uscc("91110105MA01ABCDE")
    wrong = value[:17] + other_char(GB32100_ALPHABET, value[-1])
    message = ids.check_credit_code(wrong)
    assert message is not None
    assert f"expected {value[-1]}" in str(message)


@pytest.mark.parametrize("value, length", [("9111010500000000", 16), ("9" * 19, 19)])
def test_credit_code_of_wrong_length(value, length):
    message = ids.check_credit_code(value)
    assert message is not None and f"has {length}" in str(message)


# --- phones, mobiles, postcodes ---------------------------------------------------------------


@pytest.mark.parametrize("value", ["13800138000", "19912345678", "１３８００１３８０００"])
def test_valid_mobiles(value):
    assert ids.check_mobile(value) is None


@pytest.mark.parametrize(
    "value",
    [
        "12800138000",  # second digit 2
        "1380013800",  # 10 digits
        "138001380000",  # 12 digits
        "138-0013-8000",
        "13800138000\n0",
        "1380013800a",
        "13८00138000",  # a Devanagari digit
    ],
)
def test_invalid_mobiles(value):
    message = ids.check_mobile(value)
    assert message is not None and "11 digits" in str(message)


@pytest.mark.parametrize(
    "value",
    [
        "010-12345678",
        "0755 1234567",
        "02166668888",
        "010-12345678-8001",
        "021-5555777转123",
        "13800138000",
    ],
)
def test_valid_phones(value):
    assert ids.check_phone(value) is None


@pytest.mark.parametrize("value", ["12345678", "010-123", "1-800-FLOWERS", "110", "+86 10 1234"])
def test_invalid_phones(value):
    message = ids.check_phone(value)
    assert message is not None and "area code" in str(message)


@pytest.mark.parametrize("value", ["100000", "200001", "０１００５０"])
def test_valid_postcodes(value):
    assert ids.check_postcode(value) is None


@pytest.mark.parametrize("value", ["10000", "1000000", "10000a", "100 00"])
def test_invalid_postcodes(value):
    message = ids.check_postcode(value)
    assert message is not None and "6 digits" in str(message)
