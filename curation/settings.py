"""The base of every settings class: one YAML section, validated on load, immutable once read.

Each stage's settings class lives beside the stage that reads it (``ExtractSettings`` in ``curation.extract``,
``SearchSettings`` in ``climb.search`` ...); ``pipelines.config.RunConfig`` only assembles them. An unknown key
is an error rather than a silently ignored typo, and a frozen section cannot be changed behind a stage's back
after the run's config hash was taken.

Values are taken as written, never coerced (pydantic's strict mode): ``true`` is not the count 1, ``2.7`` is not
the count 2 and ``"100"`` is not a number, so a typo cannot run as something else. Integers are accepted where
a float is expected. No float may be infinite or NaN: every comparison against one is silently false, so it
would pass every bound and surface as a wrong result after the costly stages. Every numeric field carries
bounds as well; those that size an allocation (counts, pools, batches) have an upper bound that keeps the
memory of one worker bounded, and the message of a value past it names the field and the limit.

The annotated types below are the shared vocabulary of those bounds, so that each limit is written once;
:func:`describe_error` is the one way a validation error becomes the one-line message naming its field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

#: seeds go to numpy, scikit-learn and LightGBM, which take 0 .. 2**32 - 1
SEED_MAX = 2**32 - 1
#: the longest path Linux takes (PATH_MAX); a longer name cannot be opened
NAME_MAX_CHARS = 4096
#: a threshold counted in words, lines or characters of one document: a billion is past any document
THRESHOLD_MAX = 10**9
#: tokens in one LLM chunk or reply: the longest context of current models; more can never be served
LLM_TOKENS_MAX = 1 << 17
#: how much of an offending value an error message quotes
_QUOTE_CHARS = 80


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


def _not_blank(value: str) -> str:
    """A path or name that is empty (or only spaces) resolves to the folder it is read from, and a NUL byte is
    refused by every file system call only once the stage opens it: both are refused when the config is read."""
    if not value.strip():
        raise ValueError("must not be empty")
    if "\x00" in value:
        raise ValueError("must not contain a NUL character")
    return value


#: a path, glob, URL or model name: not empty, no NUL
Name = Annotated[str, Field(max_length=NAME_MAX_CHARS), AfterValidator(_not_blank)]
#: a random seed as numpy takes it
Seed = Annotated[int, Field(ge=0, le=SEED_MAX)]
#: a share, ratio or probability
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
#: a document-level threshold (at least so many words, at most so many characters ...); 0 is allowed
Threshold = Annotated[int, Field(ge=0, le=THRESHOLD_MAX)]


def describe_error(err: Mapping[str, Any]) -> str:
    """One pydantic error (an item of ``ValidationError.errors()``) as one line: the dotted path of the field,
    the value given (cut short) and what is allowed."""
    loc = [str(p) for p in err["loc"]]
    where = ".".join(loc)
    kind = err["type"]
    if kind == "extra_forbidden":
        return f"{where}: unknown key"
    if kind == "missing":
        return f"{where}: required but missing"
    message = err["msg"].removeprefix("Value error, ")
    if kind == "value_error":
        named = _self_named(message, loc)
        if named is not None:
            return named
    if kind == "literal_error":
        return f"{where}: got {_quote(err.get('input'))}, allowed: {err['ctx']['expected']}"
    return f"{where}: got {_quote(err.get('input'))}: {message}"


def _quote(value: Any) -> str:
    """``repr`` of a value, cut short: the message stays one readable line whatever was written."""
    text = repr(value)
    return text if len(text) <= _QUOTE_CHARS else text[: _QUOTE_CHARS - 3] + "..."


def _self_named(message: str, loc: list[str]) -> str | None:
    """A validator message that names its own field, completed to the full path; None if it names none.

    A whole-config check (empty location) names its field itself (``llm: ...``); a section validator may start
    with a name on its location path (``dedup: ...``, ``math_aware.overrides.c4: ...``), which is then prefixed
    with the path above that name, instead of repeating the location and the value in front of it."""
    if not loc:
        return message
    head, sep, _ = message.partition(": ")
    first = head.split(".")[0]
    if not sep or first not in loc:
        return None
    above = loc[: max(i for i, p in enumerate(loc) if p == first)]  # the deepest: validators sit low
    return ".".join([*above, message]) if above else message
