import pytest

from crm.archives import rules


def test_archive_number_has_every_level_in_order():
    assert (
        rules.archive_number("Z001", 2026, "D30", "contracts", 3, 12) == "Z001-2026-D30-HT-003-0012"
    )
    assert rules.archive_number("Z001", 2025, "Y", "basic", 1, 1) == "Z001-2025-Y-JC-001-0001"


@pytest.mark.parametrize(
    "retention, volume, item", [("D5", 1, 1), ("Y", 0, 1), ("Y", 1, 0), ("Y", 1, 10000)]
)
def test_archive_number_refuses_what_would_break_its_form(retention, volume, item):
    with pytest.raises(ValueError):
        rules.archive_number("Z001", 2026, retention, "basic", volume, item)


def test_six_categories_with_distinct_codes():
    assert len(rules.CATEGORIES) == 6
    assert len({code for code, _ in rules.CATEGORIES.values()}) == 6


def test_sign_off_lists_each_missing_part():
    assert rules.sign_off_missing(False, " ", False) == ["customer_signed", "handler", "approved"]
    assert rules.sign_off_missing(True, "张三", False) == ["approved"]
    assert rules.sign_off_missing(True, "张三", True) == []


@pytest.mark.parametrize(
    "form, archived, paper, file, status",
    [
        ("both", False, True, True, "draft"),
        ("both", True, True, True, "linked"),
        ("both", True, False, True, "missing_paper"),
        ("both", True, True, False, "missing_electronic"),
        ("paper", True, True, False, "paper_only"),
        ("electronic", True, False, True, "electronic_only"),
        ("electronic", True, False, False, "missing_electronic"),
    ],
)
def test_dual_status(form, archived, paper, file, status):
    assert rules.dual_status(form, archived, paper, file) == status


def test_location_needs_all_four_parts():
    assert rules.has_location("A101", "3", "2", "17")
    assert not rules.has_location("A101", "3", "", "17")


@pytest.mark.parametrize(
    "total, percent, count",
    [(0, 15, 0), (3, 15, 1), (100, 15, 15), (101, 15, 16), (10, 100, 10), (5, 0, 1)],
)
def test_rotating_share(total, percent, count):
    assert rules.share_count(total, percent) == count
