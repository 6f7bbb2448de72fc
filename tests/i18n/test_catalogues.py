"""The French catalogues are whole and their compiled .mo files are those of the .po files in the repo.

A fresh machine may have no GNU gettext, so the .mo files are committed and nothing compiles them at
run time; this reads both with Python alone. After `makemessages`, translate every new entry and run
`compilemessages` (docs/development.md, "Translations").
"""
import ast
import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings

LOCALE = Path(settings.BASE_DIR) / "locale"
CATALOGUES = [(language, domain) for language, _name in settings.LANGUAGES if language != "en"
              for domain in ("django", "djangojs")]


def read_po(path: Path) -> list[dict]:
    """The entries of a .po file: msgid, msgid_plural, msgstr or msgstr[n], flags; obsolete (#~) ones left out."""
    entries, entry, key = [], None, None
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        if not line.strip():
            if entry and "msgid" in entry:
                entries.append(entry)
            entry = None
            continue
        if line.startswith("#~"):
            continue
        entry = entry if entry is not None else {"flags": set()}
        if line.startswith("#,"):
            entry["flags"] |= {flag.strip() for flag in line[2:].split(",")}
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            entry[key] += ast.literal_eval(line)
        else:
            key, literal = re.fullmatch(r'(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?) (".*")', line).groups()
            entry[key] = ast.literal_eval(literal)
    return entries


def translations(entry: dict) -> list[str]:
    return [value for key, value in sorted(entry.items()) if key.startswith("msgstr")]


@pytest.mark.parametrize("language, domain", CATALOGUES)
def test_every_entry_is_translated_and_none_is_fuzzy(language, domain):
    entries = read_po(LOCALE / language / "LC_MESSAGES" / f"{domain}.po")
    assert len(entries) > 10
    header, messages = entries[0], entries[1:]
    assert "fuzzy" not in header["flags"], "the header is marked fuzzy: compilemessages would skip the file"
    untranslated = [e["msgid"] for e in messages if not all(translations(e))]
    fuzzy = [e["msgid"] for e in messages if "fuzzy" in e["flags"]]
    assert not untranslated, f"untranslated in {language}/{domain}.po: {untranslated}"
    assert not fuzzy, f"fuzzy in {language}/{domain}.po: {fuzzy}"


@pytest.mark.parametrize("language, domain", CATALOGUES)
def test_the_mo_file_is_compiled_from_the_po_file(language, domain):
    folder = LOCALE / language / "LC_MESSAGES"
    with open(folder / f"{domain}.mo", "rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    stale = []
    for entry in read_po(folder / f"{domain}.po")[1:]:
        if "msgid_plural" in entry:
            for n, form in ((1, "msgstr[0]"), (2, "msgstr[1]")):
                if compiled.ngettext(entry["msgid"], entry["msgid_plural"], n) != entry[form]:
                    stale.append(entry["msgid"])
        elif compiled.gettext(entry["msgid"]) != entry["msgstr"]:
            stale.append(entry["msgid"])
    assert not stale, f"{folder / domain}.mo is older than its .po (run compilemessages): {stale}"


@pytest.mark.parametrize("language, domain", CATALOGUES)
def test_placeholders_survive_translation(language, domain):
    for entry in read_po(LOCALE / language / "LC_MESSAGES" / f"{domain}.po")[1:]:
        wanted = set(re.findall(r"%\(\w+\)s", entry["msgid"]))
        for text in translations(entry):
            assert set(re.findall(r"%\(\w+\)s", text)) == wanted, entry["msgid"]
