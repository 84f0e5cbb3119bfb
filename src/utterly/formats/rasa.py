"""Rasa NLU training data (`nlu.yml`, format version "3.1").

Written: one `- intent: <FAQ title>` per FAQ, the FAQ's locale, answer, description and
tags as the intent's `metadata`, and `examples` as a list of `{text, metadata: {origin,
locale}}` (Rasa 3 keeps per-example metadata and ignores what it does not use). Read: that
form, and the plain `examples: |` block of `- text` lines that people and `rasa data`
write. Examples that carry no Utterly metadata are genuine Rasa data: their entity
annotations (`[Paris](city)`, `[Paris]{"entity": "city"}`) become plain text.
Synonyms, regexes and lookup tables are left out (listed in `BotData.warnings`).

Every YAML scalar is read as text (PyYAML's BaseLoader), so `yes`, `null` or `1.0` stay
the words they are.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import yaml

from ..errors import InvalidRequest
from .model import (
    BotData,
    BotSource,
    Collector,
    Limits,
    SentenceData,
    Tally,
    TooMany,
    as_text,
    check_locale,
    check_origin,
    default_locale,
    invalid,
)

VERSION = "3.1"
# [text](entity), [text](entity:value), [text]{"entity": …}, [text][{…}, …]
_ANNOTATION = re.compile(r"\[([^\[\]\n]+)\](?:\([^()\n]*\)|\{[^{}\n]*\}|\[[^\[\]\n]*\])")
_BULLET = re.compile(r"^\s*[-*+]\s?(.*)$")


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data):
        return True


def _represent_text(dumper: yaml.SafeDumper, value: str):
    # PyYAML writes some line breaks (U+0085) raw in plain or single-quoted scalars and
    # reads them back as spaces; double quotes escape every character that is not
    # printable, line breaks included.
    style = None if value.isprintable() else '"'
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_text)

try:  # libyaml writes the same YAML some 5 times faster ...
    class _FastDumper(yaml.CSafeDumper):
        def ignore_aliases(self, data):
            return True

    _FastDumper.add_representer(str, _represent_text)
except AttributeError:  # PyYAML built without libyaml
    _FastDumper = None


def _within_bmp(value) -> bool:
    """... but escapes what lies beyond U+FFFF (emoji), which PyYAML writes as it is."""
    if isinstance(value, str):
        return not value or max(value) <= "\uffff"
    if isinstance(value, dict):
        return all(_within_bmp(k) and _within_bmp(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_within_bmp(v) for v in value)
    return True


# ---- writing ----------------------------------------------------------------------------

# PyYAML builds a node per value it writes: a long FAQ goes out this many examples at a time.
EXAMPLES_AT_ONCE = 500


def _yaml(value) -> str:
    fast = _FastDumper is not None and _within_bmp(value)
    return yaml.dump(value, Dumper=_FastDumper if fast else _Dumper, allow_unicode=True,
                     sort_keys=False, default_flow_style=False, width=1_000_000)


def _indented(text: str) -> str:
    # Every value is on one line (a text with a line break is written double-quoted, the
    # break escaped), so indenting lines indents the YAML.
    return "  " + text[:-1].replace("\n", "\n  ") + "\n"


def _written_item(faq) -> Iterator[str]:
    """One `- intent:` item, as yaml.dump writes it inside the `nlu` list."""
    item: dict = {"intent": faq.title}
    metadata = {k: getattr(faq, k) for k in ("locale", "answer", "description", "tags")
                if getattr(faq, k) is not None}
    if metadata:
        item["metadata"] = metadata
    chunk, started = [], False
    for s in faq.sentences:
        chunk.append({"text": s.text, "metadata": {"origin": s.origin, "locale": s.locale}})
        if len(chunk) == EXAMPLES_AT_ONCE:
            if not started:
                yield _yaml([item]) + "  examples:\n"
                started = True
            yield _indented(_yaml(chunk))
            chunk = []
    if not started and not chunk:
        yield _yaml([{**item, "examples": []}])
        return
    if not started:
        yield _yaml([item]) + "  examples:\n"
    if chunk:
        yield _indented(_yaml(chunk))


def stream(bot: BotSource) -> Iterator[str]:
    """The file in pieces: the header, then each FAQ's item (a long one in parts)."""
    name = _one_line(bot.name)
    yield (f"# Rasa NLU training data exported by Utterly"
           f"{' from the bot ' + name if name else ''}.\n"
           f"# Each example's metadata keeps its locale and origin (human or generated).\n"
           f'version: "{VERSION}"\n')
    empty = True
    for faq in bot.faqs(True):
        if empty:
            yield "nlu:\n"
            empty = False
        yield from _written_item(faq)
    if empty:
        yield "nlu: []\n"


def dump(bot: BotData) -> str:
    return "".join(stream(BotSource.of(bot)))


def _one_line(text: str) -> str:
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())[:200]


# ---- reading ----------------------------------------------------------------------------

class _Tree:
    """The YAML node tree, read with line numbers for the error messages."""

    def where(self, node) -> str:
        return f"line {node.start_mark.line + 1}"

    def scalar(self, node, name: str, *, required: bool = True) -> str | None:
        if node is None:
            if required:
                raise invalid("", f"`{name}` is missing", f"add `{name}`", name)
            return None
        if not isinstance(node, yaml.ScalarNode):
            raise invalid(self.where(node), f"`{name}` is not a text", f"write `{name}` as a "
                          "text", name)
        return node.value

    def mapping(self, node, name: str) -> dict:
        if not isinstance(node, yaml.MappingNode):
            raise invalid(self.where(node), f"`{name}` is not a mapping",
                          f"write `{name}` as `key: value` lines", name)
        result = {}
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                result[key.value] = value
        return result

    def sequence(self, node, name: str) -> list:
        if not isinstance(node, yaml.SequenceNode):
            raise invalid(self.where(node), f"`{name}` is not a list",
                          f"write `{name}` as a list of `- ` items", name)
        return node.value



try:  # libyaml reads about 7 times faster; the nodes are still composed here, in Python
    from yaml._yaml import CParser as _Parser

    class _Base(_Parser, yaml.composer.Composer, yaml.constructor.BaseConstructor,
                yaml.resolver.BaseResolver):
        def __init__(self, stream):
            _Parser.__init__(self, stream)
            yaml.composer.Composer.__init__(self)
            yaml.constructor.BaseConstructor.__init__(self)
            yaml.resolver.BaseResolver.__init__(self)
except ImportError:  # PyYAML built without libyaml
    _Base = yaml.BaseLoader


class _Loader(_Base):
    """Every scalar as text; no aliases: `*name` repeated can make a small file a huge
    tree, and the files Rasa and people write do not need them."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise invalid(f"line {mark.line + 1}", "the YAML uses an alias (`*name`)",
                          "write the values out in full: anchors and aliases are not read")
        return super().compose_node(parent, index)


def _walk(loader: _Loader, tree: _Tree, tally: Tally) -> Iterator[tuple[dict, str]]:
    """The `nlu` list's items, one at a time: (its keys' nodes, where it starts); a list of
    examples is read into `_Example`s as it is composed, each counted on `tally`."""
    loader.get_event()  # the stream's start
    if loader.check_event(yaml.StreamEndEvent):
        raise invalid("", "the file is empty", "send a Rasa nlu.yml with an `nlu:` list")
    loader.get_event()  # the document's start
    if not loader.check_event(yaml.MappingStartEvent):
        tree.mapping(loader.compose_node(None, None), "file")
    root = f"line {loader.get_event().start_mark.line + 1}"
    found = False
    while not loader.check_event(yaml.MappingEndEvent):
        key = loader.compose_node(None, None)
        if not (isinstance(key, yaml.ScalarNode) and key.value == "nlu"):
            loader.compose_node(None, None)  # version, and what Rasa's NLU data leaves out
            continue
        found = True
        if not loader.check_event(yaml.SequenceStartEvent):
            tree.sequence(loader.compose_node(None, None), "nlu")
        loader.get_event()
        while not loader.check_event(yaml.SequenceEndEvent):
            yield _item(loader, tree, tally)
        loader.get_event()
    loader.get_event()  # the mapping's end
    loader.get_event()  # the document's end
    if not loader.check_event(yaml.StreamEndEvent):
        mark = loader.peek_event().start_mark
        raise invalid(f"line {mark.line + 1}", "not valid YAML: a second document starts here",
                      "send one YAML document: remove the `---` line and what follows")
    if not found:
        raise invalid(root, "there is no `nlu:` list",
                      "send Rasa NLU training data: `version: \"3.1\"` then `nlu:`", "nlu")


def _item(loader: _Loader, tree: _Tree, tally: Tally) -> tuple[dict, str]:
    if not loader.check_event(yaml.MappingStartEvent):
        tree.mapping(loader.compose_node(None, None), "nlu item")
    where = f"line {loader.get_event().start_mark.line + 1}"
    fields: dict = {}
    while not loader.check_event(yaml.MappingEndEvent):
        key = loader.compose_node(None, None)
        name = key.value if isinstance(key, yaml.ScalarNode) else None
        if name == "examples" and loader.check_event(yaml.SequenceStartEvent):
            loader.get_event()
            examples = []
            while not loader.check_event(yaml.SequenceEndEvent):
                node = loader.compose_node(None, None)
                tally.tick(tree.where(node))
                examples.append(_example(tree, node))
            loader.get_event()
            fields[name] = examples
            continue
        value = loader.compose_node(None, None)
        if name is not None:
            fields[name] = value
    loader.get_event()
    return fields, where


# (text, origin, locale or None: the intent's, where), or the error the example makes
_Example = tuple[str, str, str | None, str]


def _example(tree: _Tree, example) -> _Example | InvalidRequest:
    """An example of a list, read as soon as it is composed. Its error, if any, is kept
    for when its intent is read (an item without one, a synonym, reads no examples)."""
    line_where = tree.where(example)
    try:
        if isinstance(example, yaml.ScalarNode):
            text, ex_meta = example.value, {}
        else:
            fields = tree.mapping(example, "example")
            text = tree.scalar(fields.get("text"), "text")
            ex_meta = (tree.mapping(fields["metadata"], "metadata")
                       if "metadata" in fields else {})
        origin_node = ex_meta.get("origin")
        if origin_node is None:  # genuine Rasa data, not an Utterly export
            text = plain_text(text).strip()
        if not text.strip():
            raise invalid(line_where, "an example is empty", "write the example's text",
                          "text")
        origin = check_origin(tree.scalar(origin_node, "origin", required=False), line_where)
        locale_node = ex_meta.get("locale")
        locale = (check_locale(tree.scalar(locale_node, "locale"), line_where)
                  if locale_node is not None else None)
    except InvalidRequest as exc:
        return exc
    return text, origin, locale, line_where


def plain_text(text: str) -> str:
    """A Rasa example without its entity annotations."""
    return _ANNOTATION.sub(lambda m: m.group(1), text)


def load(data: str | bytes, *, locale: str | None = None,
         limits: Limits | None = None) -> BotData:
    """Rasa NLU YAML. `locale` is for examples whose intent and metadata give none.

    The file is never one tree of nodes (a node weighs some 300 bytes): each `nlu` item is
    composed on its own, and its list of examples example by example, each read at once
    and counted, so that a file with too many stops at one past the bound."""
    collector = Collector(limits)
    tree = _Tree()
    skipped: dict[str, int] = {}
    loader = _Loader(as_text(data))
    try:
        try:
            for item, where in _walk(loader, tree, collector.sentences_read):
                _read_item(collector, tree, item, where, locale, skipped)
        except TooMany:
            raise
        except InvalidRequest:
            # As when the whole file was read first: a YAML error (or an alias) further on
            # is the one to report. Reading on takes events only, never nodes.
            while not loader.check_event(yaml.StreamEndEvent):
                if loader.check_event(yaml.AliasEvent):
                    loader.compose_node(None, None)  # raises
                loader.get_event()
            raise
    except yaml.MarkedYAMLError as exc:
        if "nesting depth" in str(exc.problem):  # libyaml's own bound on it
            raise _too_deep() from None
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}" if mark else ""
        raise invalid(where, f"not valid YAML: {exc.problem or exc.context}",
                      "check the indentation and quoting of this line") from None
    except yaml.YAMLError as exc:
        raise invalid("", f"not valid YAML: {exc}", "save the file as YAML text") from None
    except RecursionError:
        raise _too_deep() from None
    finally:
        loader.dispose()
    for kind, count in skipped.items():
        collector.warnings.append(f"left out {count} `{kind}` item(s): only intents are FAQs")
    return collector.finish()


def _too_deep() -> InvalidRequest:
    return invalid("", "the YAML nests too deeply",
                   "send Rasa NLU training data: `version: \"3.1\"` then `nlu:`")


def _read_item(collector: Collector, tree: _Tree, item: dict, where: str,  # noqa: C901
               locale: str | None, skipped: dict[str, int]) -> None:
    if "intent" not in item:
        kind = next((k for k in ("synonym", "regex", "lookup") if k in item), "other")
        skipped[kind] = skipped.get(kind, 0) + 1
        return
    title = tree.scalar(item["intent"], "intent")
    if not title.strip():
        raise invalid(where, "`intent` is empty", "name the intent", "intent")
    faq = collector.faq(title, where)
    meta = tree.mapping(item["metadata"], "metadata") if "metadata" in item else {}
    _faq_fields(tree, faq, meta, where)
    intent_locale = faq.locale
    examples = item.get("examples")
    if examples is None:
        return
    if isinstance(examples, yaml.ScalarNode):
        for offset, line in enumerate(examples.value.split("\n")):
            if not line.strip():
                continue
            line_where = f"line {examples.start_mark.line + 2 + offset}"
            match = _BULLET.match(line)
            if not match or not match.group(1).strip():
                raise invalid(line_where, "an example line does not start with `- `",
                              "write each example as `- text` on its own line")
            text = plain_text(match.group(1)).strip()
            sentence_locale = intent_locale or default_locale(locale, line_where)
            collector.add(title, SentenceData(text, sentence_locale, "human", line_where))
        return
    if not isinstance(examples, list):
        tree.sequence(examples, "examples")
    for example in examples:
        if isinstance(example, InvalidRequest):
            raise example
        text, origin, sentence_locale, line_where = example
        sentence_locale = sentence_locale or intent_locale or default_locale(locale, line_where)
        collector.add(title, SentenceData(text, sentence_locale, origin, line_where),
                      counted=True)


def _faq_fields(tree: _Tree, faq, meta: dict, where: str) -> None:
    if "locale" in meta:
        faq.locale = check_locale(tree.scalar(meta["locale"], "locale"), where,
                                  "metadata.locale")
    for key in ("answer", "description"):
        if key in meta:
            setattr(faq, key, tree.scalar(meta[key], key))
    if "tags" in meta:
        node = meta["tags"]
        if not isinstance(node, yaml.SequenceNode) or not all(
                isinstance(tag, yaml.ScalarNode) for tag in node.value):
            raise invalid(tree.where(node), "`metadata.tags` is not a list of texts",
                          "write tags as a list: `tags: [billing, account]`", "metadata.tags")
        faq.tags = [tree.scalar(tag, "tags") for tag in node.value]
