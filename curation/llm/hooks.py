"""What an LLM hook is, the built-in ones, and how a config names one.

A hook says how to turn a chunk of a document into chat messages and how to read the reply. It runs in one
of two modes: ``rewrite`` (every chunk of the document is rewritten and the replies are merged back, e.g.
``math-cleanup``) or ``annotate`` (the document's first chunk is shown to the model and a value is parsed
from the reply, e.g. ``quality-annotate``'s 0-5 score). A hook also carries a ``fingerprint`` of what it sends
to the model, which enters the cache key: editing any part of a prompt (system message or user template)
invalidates exactly the replies it produced, while editing a parser invalidates nothing (raw replies are
cached, so a new parser reads the old replies).

A config names a hook as a built-in name, a template mapping, or ``module:function``.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator

from curation.llm.protocol import Messages

REWRITE, ANNOTATE = "rewrite", "annotate"


class ReplyParseError(ValueError):
    """The reply does not have the shape the hook asked for; recorded as reason ``unparseable_reply``."""


@dataclass(frozen=True)
class Hook:
    """``parse`` returns the rewritten text (``None`` when the model says there is nothing worth keeping) in
    rewrite mode, or the annotation value in annotate mode; it raises ``ReplyParseError`` when it cannot.
    ``max_tokens=None`` lets the runner size each reply from its chunk's length.

    ``fingerprint`` left empty is computed by ``prompt_fingerprint`` from ``build_messages``, so every hook,
    built-in, template or hand-made, is keyed by the prompt it really sends.
    """

    name: str
    build_messages: Callable[[str], Messages]
    parse: Callable[[str], Any]
    mode: str = REWRITE
    fingerprint: str = ""
    max_tokens: int | None = None

    def __post_init__(self):
        if self.mode not in (REWRITE, ANNOTATE):
            raise ValueError(f"hook {self.name!r}: mode must be {REWRITE!r} or {ANNOTATE!r}, got {self.mode!r}")
        if not self.fingerprint:
            object.__setattr__(self, "fingerprint", prompt_fingerprint(self.build_messages))


def _digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


# stands in for the chunk when fingerprinting: text no prompt template contains, so it marks where the chunk goes
_PLACEHOLDER_CHUNK = "\x00chunk\x00"


def prompt_fingerprint(build_messages: Callable[[str], Messages], *extra: object) -> str:
    """Hash of the messages ``build_messages`` makes for a placeholder chunk, plus ``extra``.

    That is exactly what the model is sent besides the chunk, which the cache key holds itself (as it holds
    the model, max_tokens, temperature and seed). Parsers are left out on purpose. ``extra`` is for what the
    placeholder cannot show, such as the source of a prompt function whose output depends on the chunk.
    """
    return _digest(build_messages(_PLACEHOLDER_CHUNK), *extra)


def _messages(system: str | None, user: str) -> Messages:
    return ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": user}]


# -- math-cleanup ----------------------------------------------------------------------------------------
NO_USEFUL_CONTENT = "NO_USEFUL_CONTENT"

MATH_CLEANUP_SYSTEM = f"""\
You clean up text that was extracted from a web page, for a dataset of mathematical text. The text may be one \
part of a longer page. Rewrite it following these rules.
1. Keep the main content: explanations, definitions, theorems, proofs, worked examples, exercises, questions \
and the answers already on the page. Remove boilerplate: navigation menus, headers and footers, \
advertisements, cookie notices, share buttons, login prompts, lists of related links.
2. Keep every piece of mathematics and write it in LaTeX: inline maths as $...$, displayed maths as $$...$$. \
Convert plain-text or Unicode notation (x^2, √x, ∑, ≤, a/b) into LaTeX without changing its meaning.
3. Keep code exactly as it is, in fenced code blocks.
4. Keep questions exactly as they are. Do not answer or solve anything, and add no explanations, summaries \
or comments of your own.
5. Keep the original language and wording; only repair broken formatting.
6. If the text has no useful content at all, reply with exactly {NO_USEFUL_CONTENT} and nothing else.
Reply with the cleaned text only."""


def sentinel_parser(sentinel: str | None) -> Callable[[str], str | None]:
    """Rewrite-mode parser: the reply itself, or ``None`` when it is just the no-content sentinel."""

    def parse(reply: str) -> str | None:
        text = reply.strip()
        if sentinel and text.strip(" .`*\"'") == sentinel:
            return None
        return text

    return parse


MATH_CLEANUP = Hook(
    name="math-cleanup",
    build_messages=lambda chunk: _messages(MATH_CLEANUP_SYSTEM, chunk),
    parse=sentinel_parser(NO_USEFUL_CONTENT),
    mode=REWRITE,
)

# -- quality-annotate ------------------------------------------------------------------------------------
QUALITY_ANNOTATE_SYSTEM = """\
You rate web page extracts for how useful they are for teaching mathematics, from primary school to early \
university. Use this additive 5-point scale:
- Add 1 point if the extract has some mathematical content, even mixed with ads or other unrelated material.
- Add a 2nd point if it deals with mathematical concepts taught at school or university, even superficially \
or in a disorganised way.
- Add a 3rd point if it suits teaching: it introduces key concepts coherently, with reasoning, even if \
incomplete.
- Add a 4th point if it is highly relevant and useful for learning, like a textbook section or a tutorial \
with worked examples or step-by-step solutions.
- Add a 5th point if it is outstanding: clear, well-structured reasoning as an expert teacher would write, \
with nothing distracting.
An extract with no mathematics scores 0.
Justify your score in at most 50 words, then end with the line "Educational score: N" where N is 0 to 5."""

_SCORE_LINE = re.compile(r"educational\s+score\s*[:=]?\s*\**\s*([0-5])(?![\d.])", re.IGNORECASE)
_BARE_SCORE = re.compile(r"^\s*\**([0-5])\**\s*$")


def parse_quality_score(reply: str) -> int:
    """The last "Educational score: N" in the reply, or a reply that is only a digit 0-5."""
    found = _SCORE_LINE.findall(reply)
    if found:
        return int(found[-1])
    bare = _BARE_SCORE.match(reply)
    if bare:
        return int(bare.group(1))
    raise ReplyParseError(f"no 'Educational score: N' in reply {reply[:120]!r}")


QUALITY_ANNOTATE = Hook(
    name="quality-annotate",
    build_messages=lambda chunk: _messages(QUALITY_ANNOTATE_SYSTEM, f"Extract:\n{chunk}"),
    parse=parse_quality_score,
    mode=ANNOTATE,
    max_tokens=128,
)

BUILTIN_HOOKS: dict[str, Hook] = {hook.name: hook for hook in (MATH_CLEANUP, QUALITY_ANNOTATE)}


# -- hooks from config -----------------------------------------------------------------------------------
def template_hook(spec: Mapping[str, Any]) -> Hook:
    """A hook from a config mapping::

    name: summarise-proofs        # required
    prompt: "Rewrite ...:\\n{text}" # required; {text} is replaced by the chunk
    system: "You are ..."          # optional system message
    mode: rewrite                  # or annotate
    sentinel: NOTHING              # rewrite: reply meaning "drop this chunk"
    value_pattern: "score: (\\d+)"  # annotate: regex whose first group is the value (int if it looks like one)
    max_tokens: 256                # optional
    """
    unknown = set(spec) - {"name", "prompt", "system", "mode", "sentinel", "value_pattern", "max_tokens"}
    if unknown:
        raise ValueError(f"hook template: unknown field(s) {sorted(unknown)}")
    for required in ("name", "prompt"):
        if not spec.get(required):
            raise ValueError(f"hook template: field {required!r} is required")
    prompt, system, mode = spec["prompt"], spec.get("system"), spec.get("mode", REWRITE)
    if "{text}" not in prompt:
        raise ValueError(f"hook template {spec['name']!r}: field 'prompt' must contain {{text}}")
    if mode == ANNOTATE:
        if not spec.get("value_pattern"):
            raise ValueError(f"hook template {spec['name']!r}: annotate mode needs field 'value_pattern'")
        pattern = re.compile(spec["value_pattern"], re.IGNORECASE | re.DOTALL)

        def parse_value(reply: str) -> Any:
            match = None
            for match in pattern.finditer(reply):  # noqa: B007 - the last match is the answer
                pass
            if match is None:
                raise ReplyParseError(f"value_pattern {pattern.pattern!r} not found in {reply[:120]!r}")
            value = match.group(1) if pattern.groups else match.group(0)
            return int(value) if re.fullmatch(r"-?\d+", value.strip()) else value.strip()

        parse: Callable[[str], Any] = parse_value
    else:
        parse = sentinel_parser(spec.get("sentinel"))
    return Hook(
        name=spec["name"],
        build_messages=lambda chunk: _messages(system, prompt.replace("{text}", chunk)),
        parse=parse,
        mode=mode,
        max_tokens=spec.get("max_tokens"),
    )


def callable_hook(target: str) -> Hook:
    """``module:function``. The attribute is either a ``Hook`` or a prompt builder ``fn(chunk) -> messages``
    (a list of chat messages, or a string taken as the user message) whose reply is used as the rewrite."""
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"hook {target!r}: expected a built-in name ({', '.join(BUILTIN_HOOKS)}) or module:function")
    try:
        obj = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as err:
        raise ValueError(f"hook {target!r}: cannot load it ({err})") from err
    if isinstance(obj, Hook):
        return obj
    if not callable(obj):
        raise ValueError(f"hook {target!r}: {attribute} is neither a Hook nor callable")
    try:
        source = inspect.getsource(obj)
    except (OSError, TypeError):
        source = ""

    def build(chunk: str) -> Messages:
        messages = obj(chunk)
        return _messages(None, messages) if isinstance(messages, str) else list(messages)

    return Hook(
        name=target,
        build_messages=build,
        parse=sentinel_parser(None),
        mode=REWRITE,
        fingerprint=prompt_fingerprint(build, source),
    )


def get_hook(spec: str | Mapping[str, Any] | Hook) -> Hook:
    """Resolve a config's hook setting: a ``Hook``, a built-in name, ``module:function``, or a template mapping."""
    if isinstance(spec, Hook):
        return spec
    if isinstance(spec, Mapping):
        return template_hook(spec)
    if spec in BUILTIN_HOOKS:
        return BUILTIN_HOOKS[spec]
    if ":" in spec:
        return callable_hook(spec)
    raise ValueError(
        f"unknown hook {spec!r}: expected one of {', '.join(BUILTIN_HOOKS)}, module:function, or a template mapping"
    )


def _checked_hook_spec(spec: str | dict) -> str | dict:
    get_hook(spec)  # raises ValueError naming what is allowed
    return spec


#: A settings field naming a hook, checked when the config is read (one validator for every section with one)
HookSpec = Annotated[str | dict, AfterValidator(_checked_hook_spec)]
