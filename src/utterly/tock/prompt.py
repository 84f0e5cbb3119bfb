"""Tock's sentence-generation prompt templates, rendered the way Tock's orchestrator renders
them but inside Utterly's limits.

Tock renders its template once with the request's `inputs` and `format_instructions`
(LangChain's numbered-list instructions), and refuses a template that names a variable it
does not give. Here a jinja2 template runs in Utterly's sandbox with its time, memory and output limits
(`template_limits`); an f-string template may use top-level names only: `{a.b}` and `{a[0]}`
reach into objects, which a template from a settings page has no business doing.

The text rendered becomes the user message of an Utterly template, escaped so that nothing
in it is read as Jinja or as a `### role` line again.
"""

from __future__ import annotations

import re
import string

from jinja2 import TemplateSyntaxError, meta
from jinja2.sandbox import SandboxedEnvironment

from ..errors import ErrorCode, InvalidRequest
from ..template_limits import RenderFailed, TooCostly, render_limited

# What LangChain's NumberedListOutputParser asks for; Tock's default prompt puts it under
# "## Format" and parses the answer as a numbered list, which Utterly's reader also reads.
FORMAT_INSTRUCTIONS = ("Your response should be a numbered list with each item on a new line. "
                       "For example: \n\n1. foo\n\n2. bar\n\n3. baz")
FIELD = "prompt.template"
_ROLE_LINE = re.compile(r"^(\s*###\s*(system|user|assistant)\s*)$", re.IGNORECASE | re.MULTILINE)


def render(formatter: str, template: str, inputs: dict) -> str:
    """The text of Tock's prompt for these inputs. Raises InvalidRequest (field
    `prompt.template`) when the template cannot be rendered or is too costly."""
    context = {**inputs, "format_instructions": FORMAT_INSTRUCTIONS}
    if formatter == "f-string":
        return _format(template, context)
    _check_names(template, context)
    try:
        return render_limited(template, context, strict_undefined=False)
    except TooCostly as exc:
        raise InvalidRequest(f"the prompt template is too costly to render: {exc}",
                             field=FIELD, code=ErrorCode.TEMPLATE_TOO_COSTLY,
                             hint="render what the prompt needs: no big numbers, long "
                                  "repetitions or loops over large ranges") from None
    except RenderFailed as exc:
        raise InvalidRequest(f"the prompt template cannot be rendered: {exc.message}",
                             field=FIELD, hint="fix the Jinja2 syntax in Tock's Sentence "
                                               "generation settings") from None


def _check_names(template: str, context: dict) -> None:
    """Tock's orchestrator (LangChain) refuses a template whose variables the request does
    not give, even in a branch not taken: so here, with the names in the error. Parsing
    runs nothing of the template."""
    environment = SandboxedEnvironment()
    try:
        names = meta.find_undeclared_variables(environment.parse(template))
    except TemplateSyntaxError as exc:
        error = InvalidRequest(f"the prompt template cannot be rendered: {exc.message} (line "
                               f"{exc.lineno})", field=FIELD,
                               hint="fix the Jinja2 syntax in Tock's Sentence generation "
                                    "settings")
        error.error_name = "TemplateSyntaxError"  # as Tock names it
        raise error from None
    missing = sorted(names - set(context) - set(environment.globals))
    if missing:
        error = InvalidRequest(
            "the prompt template uses variables that Tock does not send: "
            + ", ".join("{{ " + name + " }}" for name in missing), field=FIELD,
            hint="use " + ", ".join(sorted(context)) + " in Tock's Sentence generation "
                 "settings")
        error.error_name = "KeyError"
        raise error


def _format(template: str, context: dict) -> str:
    out = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise InvalidRequest(f"the f-string prompt template is malformed: {exc}", field=FIELD,
                             hint="double the braces that are not a variable: {{ and }}") \
            from None
    for literal, name, spec, conversion in parsed:
        out.append(literal)
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise InvalidRequest(
                f"the f-string prompt template uses {{{name}}}: only plain names are "
                "allowed", field=FIELD,
                hint="use " + ", ".join(f"{{{k}}}" for k in context) + ", or the jinja2 "
                     "formatter for anything more")
        if name not in context:
            raise InvalidRequest(f"the f-string prompt template uses an unknown variable "
                                 f"{{{name}}}", field=FIELD,
                                 hint="available: " + ", ".join(context))
        out.append(str(context[name]))
    return "".join(out)


def as_utterly_template(text: str) -> str:
    """An Utterly template whose user message is `text`, verbatim, and whose answer starts
    a numbered list (the local model continues it; remote APIs get the message alone)."""
    escaped = text.replace("{", "{{ '{' }}")
    # A "### user" line inside the text would start a message of its own.
    escaped = _ROLE_LINE.sub(lambda m: "\u200b" + m.group(1), escaped)
    return f"### user\n{escaped}\n### assistant\n1."
