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

import yaml

from .model import (
    BotData,
    Collector,
    SentenceData,
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


# ---- writing ----------------------------------------------------------------------------

def dump(bot: BotData) -> str:
    items = []
    for faq in bot.faqs:
        item: dict = {"intent": faq.title}
        metadata = {k: getattr(faq, k) for k in ("locale", "answer", "description", "tags")
                    if getattr(faq, k) is not None}
        if metadata:
            item["metadata"] = metadata
        item["examples"] = [{"text": s.text, "metadata": {"origin": s.origin,
                                                          "locale": s.locale}}
                            for s in faq.sentences]
        items.append(item)
    name = _one_line(bot.name)
    header = (f"# Rasa NLU training data exported by Utterly"
              f"{' from the bot ' + name if name else ''}.\n"
              f"# Each example's metadata keeps its locale and origin (human or generated).\n")
    body = yaml.dump({"nlu": items}, Dumper=_Dumper, allow_unicode=True, sort_keys=False,
                     default_flow_style=False, width=1_000_000)
    return f'{header}version: "{VERSION}"\n{body}'


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



class _Loader(yaml.BaseLoader):
    """Every scalar as text; no aliases: `*name` repeated can make a small file a huge
    tree, and the files Rasa and people write do not need them."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise invalid(f"line {mark.line + 1}", "the YAML uses an alias (`*name`)",
                          "write the values out in full: anchors and aliases are not read")
        return super().compose_node(parent, index)


def _compose(text: str):
    loader = _Loader(text)
    try:
        return loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}" if mark else ""
        raise invalid(where, f"not valid YAML: {exc.problem or exc.context}",
                      "check the indentation and quoting of this line") from None
    except yaml.YAMLError as exc:
        raise invalid("", f"not valid YAML: {exc}", "save the file as YAML text") from None
    except RecursionError:
        raise invalid("", "the YAML nests too deeply",
                      "send Rasa NLU training data: `version: \"3.1\"` then `nlu:`") from None
    finally:
        loader.dispose()


def plain_text(text: str) -> str:
    """A Rasa example without its entity annotations."""
    return _ANNOTATION.sub(lambda m: m.group(1), text)


def load(data: str | bytes, *, locale: str | None = None) -> BotData:  # noqa: C901
    """Rasa NLU YAML. `locale` is for examples whose intent and metadata give none."""
    root = _compose(as_text(data))
    if root is None:
        raise invalid("", "the file is empty", "send a Rasa nlu.yml with an `nlu:` list")
    tree = _Tree()
    top = tree.mapping(root, "file")
    if "nlu" not in top:
        raise invalid(tree.where(root), "there is no `nlu:` list",
                      "send Rasa NLU training data: `version: \"3.1\"` then `nlu:`", "nlu")
    collector = Collector()
    skipped: dict[str, int] = {}
    for item_node in tree.sequence(top["nlu"], "nlu"):
        item = tree.mapping(item_node, "nlu item")
        where = tree.where(item_node)
        if "intent" not in item:
            kind = next((k for k in ("synonym", "regex", "lookup") if k in item), "other")
            skipped[kind] = skipped.get(kind, 0) + 1
            continue
        title = tree.scalar(item["intent"], "intent")
        if not title.strip():
            raise invalid(where, "`intent` is empty", "name the intent", "intent")
        faq = collector.faq(title, where)
        meta = tree.mapping(item["metadata"], "metadata") if "metadata" in item else {}
        _faq_fields(tree, faq, meta, where)
        intent_locale = faq.locale
        examples = item.get("examples")
        if examples is None:
            continue
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
            continue
        for example in tree.sequence(examples, "examples"):
            line_where = tree.where(example)
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
            origin = check_origin(tree.scalar(origin_node, "origin", required=False),
                                  line_where)
            locale_node = ex_meta.get("locale")
            if locale_node is not None:
                sentence_locale = check_locale(tree.scalar(locale_node, "locale"), line_where)
            else:
                sentence_locale = intent_locale or default_locale(locale, line_where)
            collector.add(title, SentenceData(text, sentence_locale, origin, line_where))
    for kind, count in skipped.items():
        collector.warnings.append(f"left out {count} `{kind}` item(s): only intents are FAQs")
    return collector.finish()


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
