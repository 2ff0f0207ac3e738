#!/usr/bin/env bash
# Extract our UI strings from crm/, merge them into the zh_Hans_CN and en catalogues, compile.
#   scripts/i18n.sh              extract + update + compile; lists zh_Hans_CN strings to translate
#   scripts/i18n.sh --pot FILE   only extract the template into FILE (tests/test_i18n.py uses it)
# Safe to re-run: with no new strings every file stays byte-for-byte as it was.
# New strings arrive untranslated (no fuzzy guesses): translate them in
# crm/translations/zh_Hans_CN/LC_MESSAGES/messages.po and run this again to compile.
# The en catalogue stays empty on purpose: the English msgids are the English text.
set -euo pipefail

cd "$(dirname "$0")/.."
if [[ -x .venv/bin/pybabel ]]; then BIN=.venv/bin/; else BIN=; fi
PYBABEL=${PYBABEL:-${BIN}pybabel}
PYTHON=${PYTHON:-${BIN}python}
DIR=crm/translations

extract() {
    # Sorted output and file-only locations: moving code around does not rewrite catalogues.
    "$PYBABEL" -q extract --mapping-file=babel.cfg --output-file="$1" \
        --keyword=_l --keyword=lazy_gettext --keyword=lazy_ngettext:1,2 \
        --keyword=lazy_pgettext:1c,2 --keyword=pgettext:1c,2 --sort-output --add-location=file \
        --project=crm --version=0.1 --copyright-holder="" .
}

if [[ ${1:-} == --pot ]]; then
    extract "$2"
    exit 0
fi

# The template is a by-product, kept in a temp dir so that it never churns in git.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
extract "$work/messages.pot"

"$PYBABEL" -q update --input-file="$work/messages.pot" --output-dir="$DIR" \
    --no-fuzzy-matching --ignore-pot-creation-date

# Babel's checks (e.g. a translation that lost a %(name)s) fail the run, after the listing below.
status=0
"$PYBABEL" compile --directory="$DIR" --statistics || status=$?
# Our corrections to Flask-Admin's own catalogue (domain "admin", hand-kept; crm/admin/i18n.py).
"$PYBABEL" compile --directory="$DIR" --domain=admin --statistics || status=$?

"$PYTHON" - "$DIR/zh_Hans_CN/LC_MESSAGES/messages.po" <<'PY'
import sys

from babel.messages.pofile import read_po

with open(sys.argv[1], "rb") as f:
    catalog = read_po(f)
todo = [m for m in catalog if m.id and (m.fuzzy or not all(
    m.string if isinstance(m.string, tuple) else [m.string]))]
for m in todo:
    print(f"  needs zh_Hans_CN: {m.id!r}", file=sys.stderr)
if todo:
    print(f"{len(todo)} string(s) to translate in {sys.argv[1]}", file=sys.stderr)
PY
exit $status
