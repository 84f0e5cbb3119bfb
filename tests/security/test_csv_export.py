"""Row 9: CSV export neutralises formulas (OWASP CSV injection). The attack: a bot_user
adds the sentence `=cmd|' /C calc'!A0`; whoever exports the bot and opens the file in a
spreadsheet runs it."""

from __future__ import annotations

import csv
import io

import pytest

from utterly.formats import csv as csv_format

PAYLOADS = ["=cmd|' /C calc'!A0", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)*cmd|'/C calc'!A0",
            "\t=1+2", "\r=1+3", "'=already quoted"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_exported_cells_never_start_a_formula_and_import_back_unchanged(world):
    bob = world.studio.api("bob")
    faq = bob.post(f"/api/bots/{world.bot}/faqs", json={"title": "=HYPERLINK(\"x\")",
                                                        "locale": "fr"})
    assert faq.status_code == 201, faq.text
    added = bob.post(f"/api/bots/{world.bot}/faqs/{faq.json()['id']}/sentences/batch",
                     json={"sentences": [{"text": t} for t in PAYLOADS]})
    assert added.status_code == 201, added.text

    exported = bob.get(f"/api/bots/{world.bot}/export", params={"format": "csv"})
    assert exported.status_code == 200
    rows = list(csv.reader(io.StringIO(exported.text, newline="")))
    for row in rows[1:]:
        for cell in row:
            assert not cell or cell[0] not in "=+-@\t\r", row
    texts = {r[1] for r in rows[1:]}
    assert "'=cmd|' /C calc'!A0" in texts and "''=already quoted" in texts
    assert {r[0] for r in rows[1:]} >= {"'=HYPERLINK(\"x\")"}

    # the file comes back as it went out
    stored = bob.get(f"/api/bots/{world.bot}/faqs/{faq.json()['id']}/sentences").json()
    data = csv_format.load(exported.content)
    back = {s.text for f in data.faqs for s in f.sentences}
    assert {s["text"] for s in stored["items"]} <= back
    assert "=HYPERLINK(\"x\")" in {f.title for f in data.faqs}
