"""Issue 18 point 5: the rules the code names (R1 … R17) are written in the repository, in
docs/rules.md: every "R<n>" in crm/ and tests/ resolves to a heading with its anchor, each rule
says where it lives in the code and which tests hold it, and every path it names exists."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "rules.md"
RULE = re.compile(r"\bR(\d+)\b")
HEADING = re.compile(r'^<a id="r(\d+)"></a>\n## R(\d+) (.+)$', re.M)


def _sections() -> dict[int, str]:
    text = DOC.read_text(encoding="utf-8")
    found = list(HEADING.finditer(text))
    sections = {}
    for i, match in enumerate(found):
        assert match[1] == match[2], f"anchor r{match[1]} on the heading of R{match[2]}"
        end = found[i + 1].start() if i + 1 < len(found) else len(text)
        sections[int(match[2])] = text[match.end() : end]
    return sections


def test_every_rule_the_code_names_has_its_heading_and_anchor():
    named = {}
    files = [*(ROOT / "crm").rglob("*.py"), *(ROOT / "tests").rglob("*.py")]
    for path in sorted(p for p in files if "node_modules" not in p.parts):
        for number in RULE.findall(path.read_text(encoding="utf-8")):
            named.setdefault(int(number), path.relative_to(ROOT).as_posix())
    assert len(named) > 10, "hardly an R-number found in crm/: the pattern is wrong"
    missing = {f"R{n}": where for n, where in named.items() if n not in _sections()}
    assert missing == {}, f"named in the code, not in docs/rules.md: {missing}"


def test_the_rules_are_r1_to_r17_in_order_each_with_code_and_tests():
    sections = _sections()
    assert list(sections) == list(range(1, 18))
    for number, body in sections.items():
        assert re.search(r"^- Code: ", body, re.M), f"R{number} says nowhere where it lives"
        assert re.search(r"^- Tests: ", body, re.M), f"R{number} names no tests"
        assert re.search(r"^\*Sources?: ", body, re.M), f"R{number} cites no source document"


def test_every_path_the_rules_name_exists():
    text = DOC.read_text(encoding="utf-8")
    paths = set(re.findall(r"`((?:crm|tests)/[^`\s]*)`", text))
    assert len(paths) > 50
    # `crm/access` is the access module or package; a folder ends with "/".
    missing = sorted(
        p for p in paths if not (ROOT / p).exists() and not (ROOT / f"{p}.py").exists()
    )
    assert missing == [], f"docs/rules.md names paths that do not exist: {missing}"


def test_the_readme_links_the_rules():
    assert "(docs/rules.md)" in (ROOT / "README.md").read_text(encoding="utf-8")
