"""Read the sentences out of whatever a model printed.

We ask for {"sentences": [...]}, but small models add chatter, fences and notes, use other
keys, stop mid-JSON at max_tokens, or print a numbered list instead. `parse_sentences` tries,
in order:

1. JSON values found anywhere in the text (json_reader.py, lenient: single quotes, trailing
   commas, bare keys and Python literals are accepted; at a cut or a syntax error it keeps
   the complete strings before it);
2. list items ("1. ", "2) ", "(3) ", "- ", "• ", "Sentence 4: "), ignoring every other line;
3. plain lines, once header and trailer chatter ("Here are...", "Note: ...") is dropped.
   A single line counts only if it is quoted, follows a header, or is a question ("?"):
   a lone line of prose is more often a refusal or an answer than a paraphrase.

It never invents text: every sentence is a tidied string of the JSON, or a tidied part of a
line without its markup (quotes, bullets, numbering, labels, **bold**). It never raises:
when nothing is found the format is "none", with problems saying why; the pipeline turns
that into invalid_response. Sentences without any letter or digit ("...", "?") are dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .json_reader import JsonValue, find_json_values
from .normalize import LABEL_WORDS, PAIRS, normalize, tidy

__all__ = ["ItemReader", "ParseNote", "ParsedOutput", "parse_sentences"]


class ParseNote(str):
    """A note on how an output was read. It is its English text, which the CLI and the
    library show; its code and values let the Studio word it in the page's language
    (catalogue `parse.<code>`, `count` choosing the singular)."""

    code: str
    values: dict

    def __new__(cls, code: str, english: str, **values) -> ParseNote:
        note = super().__new__(cls, english)
        note.code = code
        note.values = values
        return note

    def __getnewargs_ex__(self):  # a copy (deepcopy of a trace) keeps the code and values
        return (self.code, str(self)), self.values


@dataclass
class ParsedOutput:
    sentences: list[str]
    format: str  # "json", "json_fragment", "list", "lines" or "none"
    problems: list[ParseNote] = field(default_factory=list)


# Keys under which models put their list, best first (after the expected one).
_LIST_KEYS = (
    "sentences", "paraphrases", "questions", "utterances", "variations", "variants",
    "rephrasings", "reformulations", "phrases", "examples", "alternatives", "items",
    "results", "outputs", "output", "answers", "answer", "response", "data", "list",
)
# Keys that hold the text of one item: [{"text": "..."}], {"sentence": "..."}.
_TEXT_KEYS = (
    "text", "sentence", "paraphrase", "question", "utterance", "content", "value", "phrase",
    "rephrasing", "reformulation", "variation", "variant", "output", "s",
)


# ---------------------------------------------------------------------------------------
# From a JSON value to its strings.

def _lookup(obj: dict, names) -> object:
    lowered = {k.lower() if isinstance(k, str) else k: k for k in obj}
    for name in names:
        if name in lowered:
            return obj[lowered[name]]
    return _MISSING


_MISSING = object()


def _text_of(item: dict) -> str | None:
    value = _lookup(item, _TEXT_KEYS)
    if isinstance(value, str):
        return value
    strings = [v for v in item.values() if isinstance(v, str)]
    return strings[0] if len(strings) == 1 else None


def _strings(value: object, expected_key: str, depth: int = 0) -> list[str]:  # noqa: C901
    """The candidate sentences held by a JSON value, in order (not yet tidied)."""
    if depth > 8:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        out: list[str] = []
        for item in value:
            if isinstance(item, str):
                out.append(item)
            elif isinstance(item, dict):
                text = _text_of(item)
                if text is not None:
                    out.append(text)
                else:
                    out.extend(_strings(item, expected_key, depth + 1))
            elif isinstance(item, list):
                out.extend(_strings(item, expected_key, depth + 1))
        return out
    if not isinstance(value, dict) or not value:
        return []
    found = _lookup(value, (expected_key.lower(), *_LIST_KEYS))
    if found is not _MISSING:
        if isinstance(found, str):
            return _split_text(found)
        return _strings(found, expected_key, depth + 1)
    text = _text_of(value)
    if text is not None and _lookup(value, _TEXT_KEYS) is not _MISSING:
        return [text]  # one {"sentence": "..."} object, as JSON-lines answers print them
    if all(isinstance(v, str) for v in value.values()) and \
            all(isinstance(k, str) and k[-1:].isdigit() for k in value):
        return list(value.values())  # {"1": "...", "2": "..."} or {"sentence1": ...}
    # Any other shape: the nested list with the most strings.
    best: list[str] = []
    for v in value.values():
        if isinstance(v, (list, dict)):
            candidate = _strings(v, expected_key, depth + 1)
            if len(candidate) > len(best):
                best = candidate
    return best


def _split_text(text: str) -> list[str]:
    """A string where a list was expected: {"sentences": "1. a\\n2. b"} or just one."""
    items, _ = _list_items(text)
    if items:
        return items
    lines = [line for line in text.splitlines() if line.strip()]
    return lines if lines else []


def _keep(raw: list[str]) -> tuple[list[str], int]:
    kept = []
    dropped = 0
    for item in raw:
        text = tidy(item)
        if text and normalize(text):
            kept.append(text)
        elif text:
            dropped += 1
    return kept, dropped


# ---------------------------------------------------------------------------------------
# Lists and lines.

_FENCE = re.compile(r"\s*(```|~~~)")
# Item markers; the label branch turns "Sentence 1: ..." lines into items too. Bounded
# quantifiers and a match anchored at the line start keep this linear.
_MARKER = re.compile(
    r"\s{0,40}(?:"
    r"(?P<num>\d{1,3})\s?(?P<sep>[.)])(?!\d)\s*"
    r"|\d{1,3}\s?[-–—:]\s+"
    r"|[(\[]\d{1,3}[)\]]\s*"
    r"|#\d{1,3}\s?[.:)-]?\s+"
    r"|[-*•–—·▪►◦‣+]\s+"
    r"|(?:" + LABEL_WORDS + r")\s{0,3}#?\d{1,3}\s{0,3}(?:[:：.)]|[-–—]\s)\s*"
    r")",
    re.IGNORECASE,
)
# A bold label before the sentence: "**Formal:** Could you..." or "**Casual**: where's...".
_BOLD_LABEL = re.compile(r"\*\*[^*\n]{1,40}?(?::\s{0,3}\*\*|\*\*\s{0,3}:)\s*")
_HEADER_START = (
    "here are", "here is", "here's", "heres", "sure", "certainly", "of course", "okay",
    "ok,", "ok!", "absolutely", "great", "below are", "the following", "following are",
    "voici", "voilà", "voila", "bien sûr", "bien sur", "d'accord", "d’accord", "très bien",
    "ci-dessous", "les phrases", "paraphrases", "json", "output", "answer", "réponse",
    "reponse",
)
_TRAILER_START = (
    "note", "remarque", "i hope", "hope this", "let me know", "feel free", "these sentences",
    "these paraphrases", "these are", "these variations", "these questions", "all of these",
    "each of these", "each sentence", "j'espère", "j’espère", "n'hésitez", "n’hésitez",
    "ces phrases", "ces questions", "toutes ces", "explanation", "explication", "i've",
    "i have", "i tried", "as an ai", "i'm sorry", "i am sorry", "i cannot", "i can't",
    "sorry", "désolé", "je suis désolé", "je ne peux", "in these", "dans ces",
)
_QUESTION_END = ("?", "？", "؟", ";")  # ";" is the Greek question mark after NFKC


_JSON_PIECE = re.compile(r"""[\[\]{}]|["'][\w -]{1,40}["']\s{0,3}:""")


def _is_chatter(line: str) -> bool:
    folded = line.casefold().lstrip("*_#>( ")
    return folded.startswith(_HEADER_START) or folded.startswith(_TRAILER_START)


def _is_header(line: str) -> bool:
    stripped = line.rstrip("*_ ")
    return stripped.endswith((":", "：")) or line.lstrip().startswith("#")


def _closing_quote(text: str) -> int:
    """Index of the quote closing the one at text[0], or -1."""
    opening = text[0]
    closing = PAIRS.get(opening)
    if closing is None:
        return -1
    if opening in "'’‘`":
        # An apostrophe only closes when it is not inside a word (can't).
        for i in range(1, len(text)):
            if text[i] == closing and not (i + 1 < len(text) and text[i + 1].isalnum()
                                           and text[i - 1].isalnum()):
                return i
        return -1
    if closing == opening:
        return text.find(closing, 1)
    depth = 0
    for i, ch in enumerate(text):  # « « nested » outer »
        if ch == opening:
            depth += 1
        elif ch == closing:
            depth -= 1
            if depth == 0:
                return i
    return -1


def _clean_item(content: str) -> str:
    """The sentence of one list item or line, before tidy()."""
    content = _BOLD_LABEL.sub("", content, count=1) if content.startswith("**") else content
    content = content.replace("**", "").replace("__", "").strip()
    if len(content) >= 2 and content[0] == content[-1] and content[0] in "*_`":
        content = content[1:-1].strip()  # *italic* or `code`
    content = content.rstrip(",;").rstrip()
    # '"Where is my parcel?" (informal)': the quotation is the sentence, the rest a comment.
    if content and content[0] in PAIRS:
        close = _closing_quote(content)
        if close > 0:
            rest = content[close + 1:].strip()
            if rest[:1] in ("(", "[") or rest[:2] in ("- ", "– ", "— "):
                content = content[:close + 1]
    return content


def _inline_items(content: str, number: int, sep: str) -> list[str]:
    """'1. a 2. b 3. c' on one line: split at the next numbers in sequence only."""
    parts = []
    while True:
        marker = f" {number + 1}{sep} "
        at = content.find(marker)
        if at < 0:
            parts.append(content)
            return parts
        parts.append(content[:at])
        content = content[at + len(marker):]
        number += 1


def _content_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip() and not _FENCE.match(line)]


def _list_items(text: str) -> tuple[list[str], int]:
    """The raw items of the list lines of text (other lines ignored), and how many lines
    that were neither items nor chatter were ignored."""
    items: list[str] = []
    ignored = 0
    for line in _content_lines(text):
        if line.lstrip().startswith("**") and _MARKER.match(line.replace("**", "", 2)):
            line = line.replace("**", "", 2)  # "**1.** Where..." or "**1. Where...**"
        match = _MARKER.match(line)
        if not match:
            if not (_is_chatter(line) or _is_header(line)):
                ignored += 1
            continue
        content = line[match.end():]
        if match.group("num"):
            pieces = _inline_items(content, int(match.group("num")), match.group("sep"))
        else:
            pieces = [content]
        for piece in pieces:
            cleaned = _clean_item(piece)
            if _is_header(cleaned):
                continue  # "1. Formal:" heads a nested list
            items.append(cleaned)
    return items, ignored


def _plain_lines(text: str) -> tuple[list[str], list[str]]:
    """Lines that may be sentences, and notes about the decision."""
    kept: list[tuple[str, bool]] = []  # (line, was quoted)
    header_seen = False
    too_long = 0
    for line in _content_lines(text):
        stripped = line.strip()
        if _is_header(stripped):
            header_seen = True
            continue
        if _is_chatter(stripped):
            header_seen = header_seen or not kept
            continue
        if _JSON_PIECE.match(stripped) or stripped.rstrip(",")[-1:] in ("{", "[", "]", "}"):
            continue  # a piece of JSON ('{', '"sentences": [', '],'), not a sentence
        if len(stripped) > 300:
            too_long += 1
            continue
        cleaned = _clean_item(stripped)
        kept.append((cleaned, cleaned[:1] in PAIRS))
    notes = []
    if too_long:
        notes.append(ParseNote("long_lines", f"ignored {too_long} line(s) longer than "
                               "300 characters", count=too_long, max=300))
    if len(kept) == 1:
        line, quoted = kept[0]
        if not (quoted or header_seen or tidy(line).endswith(_QUESTION_END)):
            notes.append(ParseNote("single_prose", "a single line of prose is not a list "
                                   f"of sentences: {tidy(line)[:80]!r}",
                                   line=tidy(line)[:80]))
            return [], notes
    return [line for line, _ in kept], notes


# ---------------------------------------------------------------------------------------

def parse_sentences(text: str, *, expected_key: str = "sentences") -> ParsedOutput:  # noqa: C901
    """The sentences in a model's output, how they were found, and what went wrong."""
    if not isinstance(text, str) or not text.strip():
        return ParsedOutput([], "none", [ParseNote("empty", "the output is empty")])

    values = find_json_values(text)
    useful = []
    empty_json: JsonValue | None = None
    for value in values:
        sentences, dropped = _keep(_strings(value.value, expected_key))
        if sentences:
            useful.append((value, sentences, dropped))
        elif empty_json is None and isinstance(value.value, (dict, list)) and \
                (value.status != "broken" or value.value):
            empty_json = value

    if useful:
        return _from_json(useful)
    if values:
        # What the JSON values held is settled (nothing); only the text between them may
        # still be a list, e.g. after an echoed '{"sentences": ["..."]}' format hint.
        # A broken value stays: the lines after its error may be the list.
        gaps, position = [], 0
        for value in values:
            if value.status != "broken":
                gaps.append(text[position:value.start])
                position = value.end
        gaps.append(text[position:])
        text = "\n".join(gaps)

    items, ignored = _list_items(text)
    sentences, dropped = _keep(items)
    if sentences:
        problems = []
        if ignored:
            problems.append(ParseNote("not_list_items", f"ignored {ignored} line(s) that "
                                      "were not list items", count=ignored))
        if dropped:
            problems.append(_dropped(dropped, "item"))
        return ParsedOutput(sentences, "list", problems)

    lines, notes = _plain_lines(text)
    sentences, dropped = _keep(lines)
    if len(sentences) == 1 and len(lines) > 1:
        sentences = []  # the other lines had no words: one line is not a list (see above)
        notes.append(ParseNote("one_line_with_words", "only one line held words"))
    if sentences:
        if dropped:
            notes.append(_dropped(dropped, "line"))
        return ParsedOutput(sentences, "lines", notes)

    if empty_json is not None:
        if empty_json.status == "complete":
            problem = ParseNote("json_empty", "the JSON held no sentences")
        elif empty_json.status == "truncated":
            problem = ParseNote("json_cut_before_first", "the output is JSON cut off "
                                "before its first complete sentence")
        else:
            problem = ParseNote("json_broken_before_first", "the JSON is malformed at "
                                f"character {empty_json.end} before its first complete "
                                "sentence", position=empty_json.end)
        fmt = "json" if empty_json.status == "complete" and not empty_json.lenient \
            else "json_fragment"
        return ParsedOutput([], fmt, [problem, *notes])
    summary = " ".join(text.split())
    summary = summary[:80] + ("…" if len(summary) > 80 else "")
    return ParsedOutput([], "none", [ParseNote(
        "nothing_found", f"found no JSON, list or sentence lines in the output: {summary!r}",
        summary=summary), *notes])


def _from_json(useful: list[tuple[JsonValue, list[str], int]]) -> ParsedOutput:
    problems: list[str] = []
    if len(useful) > 1 and all(len(s) == 1 for _, s, _ in useful):
        # JSON lines: {"sentence": "a"}\n{"sentence": "b"}: one value per sentence.
        chosen = useful
        problems.append(ParseNote("json_lines", f"read {len(useful)} JSON values, one "
                                  "sentence each", count=len(useful)))
    else:
        best = max(useful, key=lambda u: len(u[1]))  # max() keeps the first of a tie
        chosen = [best]
        if len(useful) > 1:
            problems.append(ParseNote(
                "json_values", f"found {len(useful)} JSON values; used the one with "
                f"{len(best[1])} sentences", count=len(useful), used=len(best[1])))
    sentences = [s for _, found, _ in chosen for s in found]
    dropped = sum(d for _, _, d in chosen)
    lenient = set().union(*(v.lenient for v, _, _ in chosen))
    statuses = {v.status for v, _, _ in chosen}
    if "truncated" in statuses:
        problems.append(ParseNote("json_truncated", "output was truncated JSON; recovered "
                                  f"{len(sentences)} item(s)", count=len(sentences)))
    if "broken" in statuses:
        broken = next(v for v, _, _ in chosen if v.status == "broken")
        problems.append(ParseNote(
            "json_broken", f"the JSON is malformed at character {broken.end}; kept the "
            f"{len(sentences)} item(s) before it", position=broken.end, count=len(sentences)))
    if lenient:
        # what was lenient is named in English only: the Studio says that it was
        problems.append(ParseNote("json_not_strict",
                                  "the JSON is not strict: " + ", ".join(sorted(lenient))))
    if dropped:
        problems.append(_dropped(dropped, "item"))
    fmt = "json" if statuses == {"complete"} and not lenient else "json_fragment"
    return ParsedOutput(sentences, fmt, problems)


def _dropped(count: int, unit: str) -> ParseNote:
    return ParseNote("no_word_" + unit + "s", f"dropped {count} {unit}(s) without any word",
                     count=count)


class ItemReader:
    """The sentences of one answer while it is being written.

    A list item is a sentence as soon as its line ends, so the pipeline can judge it while
    the model goes on. What is not a list item (JSON, plain lines, a last line without its
    newline) waits for `finish`, which reads the whole answer with `parse_sentences` and
    returns what was not read already.
    """

    def __init__(self, start: str = ""):
        # `start` is the beginning of the answer the model was given ("1."), not written
        self.text = start
        self._scanned = 0
        self._read: set[str] = set()

    def feed(self, piece: str) -> list[str]:
        self.text += piece
        end = self.text.rfind("\n")
        if end < self._scanned:
            return []
        lines = self.text[self._scanned:end].split("\n")
        self._scanned = end + 1
        if self.text.lstrip()[:1] in ("{", "[", "`"):
            return []  # JSON (or a fenced block): read whole at the end
        out = []
        for line in lines:
            if not _MARKER.match(line):
                continue
            items, _ = _list_items(line)
            for sentence in _keep(items)[0]:
                if sentence not in self._read:
                    self._read.add(sentence)
                    out.append(sentence)
        return out

    def finish(self, complete: bool = True) -> ParsedOutput:
        """Everything the answer held that `feed` did not return. `complete`: the model
        ended its answer itself; otherwise a last unfinished line is dropped."""
        text = self.text if complete else self.text[:self._scanned]
        parsed = parse_sentences(text)
        fresh = [s for s in parsed.sentences if s not in self._read]
        self._read.update(fresh)
        return ParsedOutput(fresh, parsed.format, parsed.problems)
