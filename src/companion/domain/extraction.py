"""Pattern extraction: what a user says about themselves, as memory candidates.

With no LLM configured this is how the companion learns. It recognises the common ways
people state facts about themselves ("my name is Ada", "I have a dog called Biscuit",
"I moved to Berlin") and turns each into a :class:`MemoryCandidate` with a stable key.

The key vocabulary at the top is shared: answering, reconciliation and the LLM adapters
rely on the same keys (``name``, ``location.home``, ``favourite.colour``,
``pet.dog.biscuit`` ...), so a fact learnt one way is found and updated the other way.

How an utterance is read: it is cut into sentences, each sentence into clauses (before
"and I", ", my", "but we" ...); questions are dropped; each clause is offered to the
extractors, most specific first, and a stretch of text read by one is not read again.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from companion.domain.errors import InvalidInput
from companion.domain.models import MemoryCandidate, MemoryCategory
from companion.domain.validation import MAX_TURN_TEXT, validate_candidate

__all__ = [
    "KEY_AGE",
    "KEY_EMPLOYER",
    "KEY_HOME",
    "KEY_NAME",
    "KEY_ORIGIN",
    "KEY_ROLE",
    "article",
    "canonical_relation",
    "canonical_species",
    "dislikes_key",
    "extract_candidates",
    "family_key",
    "favourite_key",
    "goal_key",
    "likes_key",
    "normalise_thing",
    "pet_key",
    "plan_key",
    "slugify",
    "strip_articles",
]

# --- key vocabulary -----------------------------------------------------------------------

KEY_NAME = "name"
KEY_AGE = "age"
KEY_HOME = "location.home"
KEY_ORIGIN = "location.origin"
KEY_EMPLOYER = "work.employer"
KEY_ROLE = "work.role"
MAX_SLUG = 40


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _with_plurals(words: str) -> dict[str, str]:
    return {word + ending: word for word in words.split() for ending in ("", "s")}


_SPECIES = {
    **dict.fromkeys(_words("dog dogs puppy puppies pup doggy"), "dog"),
    **dict.fromkeys(_words("cat cats kitten kittens kitty"), "cat"),
    **dict.fromkeys(_words("rabbit rabbits bunny bunnies"), "rabbit"),
    **dict.fromkeys(("guinea pig", "guinea pigs"), "guinea pig"),
    **dict.fromkeys(_words("mouse mice"), "mouse"),
    **dict.fromkeys(_words("fish goldfish"), "fish"),
    **_with_plurals(
        "parrot bird budgie cockatiel parakeet hamster gerbil horse pony turtle tortoise "
        "snake lizard gecko iguana rat ferret hedgehog chicken hen goat"
    ),
}
_RELATIONS = {
    **dict.fromkeys(_words("mother mom mum mommy mummy mama ammi amma"), "mother"),
    **dict.fromkeys(_words("father dad daddy papa abbu abba baba"), "father"),
    **dict.fromkeys(_words("grandmother grandma granny nani dadi"), "grandmother"),
    **dict.fromkeys(_words("grandfather grandpa granddad grandad"), "grandfather"),
    **dict.fromkeys(_words("kid kids child children"), "child"),
    **dict.fromkeys(_words("aunt aunts auntie aunty"), "aunt"),
    **dict.fromkeys(("fiance", "fianc\u00e9"), "fiance"),
    **dict.fromkeys(("fiancee", "fianc\u00e9e"), "fiancee"),
    **_with_plurals(
        "sister brother wife husband partner girlfriend boyfriend son daughter uncle cousin "
        "niece nephew friend"
    ),
}
_THING_ALIASES = {"color": "colour", "film": "movie", "flavor": "flavour", "programme": "show"}
_THING_FILLER = re.compile(
    r"^(?:(?:favou?rite|fave|fav)\s+)?(?:(?:kind|type|sort|genre|style)\s+of\s+)*"
)
_NO_SINGULAR = _words("series news clothes glasses")


def slugify(text: str, *, max_words: int = 0) -> str:
    """A key segment for ``text``: ASCII ``[a-z0-9_]``, at most 40 characters, never empty.

    Text with no ASCII letters or digits (Urdu, emoji) becomes a short stable hash, so
    every key is valid and the same text always gives the same key.
    """
    normalised = " ".join(unicodedata.normalize("NFC", text).casefold().split())
    folded = unicodedata.normalize("NFKD", normalised).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", folded)
    slug = "_".join(words[:max_words] if max_words else words)[:MAX_SLUG].strip("_")
    if slug:
        return slug
    return hashlib.sha1(normalised.encode("utf-8"), usedforsecurity=False).hexdigest()[:10]


def normalise_thing(thing: str) -> str:
    """The canonical words for what a favourite is of: "kind of Colors" -> "colour"."""
    words = _THING_FILLER.sub("", " ".join(thing.casefold().split())).split()
    result = []
    for word in words:
        if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
            word = word if word in _NO_SINGULAR else word[:-1]
        result.append(_THING_ALIASES.get(word, word))
    return " ".join(result)


def canonical_species(word: str) -> str | None:
    """The canonical species for a pet word ("puppies" -> "dog"), or ``None``."""
    return _SPECIES.get(" ".join(word.casefold().split()))


def canonical_relation(word: str) -> str | None:
    """The canonical relation for a family word ("mum" -> "mother"), or ``None``."""
    return _RELATIONS.get(" ".join(word.casefold().split()))


def strip_articles(text: str) -> str:
    """``text`` without leading articles, possessives or "to" (keys ignore them)."""
    return re.sub(r"^(?:(?:a|an|the|my|our|some|to)\s+)+", "", text.strip(), flags=re.I)


def favourite_key(thing: str) -> str:
    """``favourite.<thing>``: ``favourite.colour`` for "favorite color"."""
    return f"favourite.{slugify(normalise_thing(thing))}"


def likes_key(thing: str) -> str:
    """``likes.<thing>``: ``likes.hiking``."""
    return f"likes.{slugify(strip_articles(thing))}"


def dislikes_key(thing: str) -> str:
    """``dislikes.<thing>``: ``dislikes.mushrooms``."""
    return f"dislikes.{slugify(strip_articles(thing))}"


def pet_key(species: str, name: str) -> str:
    """``pet.<species>.<name>``: ``pet.dog.biscuit``."""
    return f"pet.{slugify(species)}.{slugify(name)}"


def family_key(relation: str, name: str) -> str:
    """``family.<relation>.<name>``, or ``friend.<name>`` for a friend."""
    if relation == "friend":
        return f"friend.{slugify(name)}"
    return f"family.{slugify(relation)}.{slugify(name)}"


def goal_key(goal: str) -> str:
    """``goal.<up to six words>``: ``goal.learn_spanish``."""
    return f"goal.{slugify(strip_articles(goal), max_words=6)}"


def plan_key(plan: str) -> str:
    """``plan.<up to six words>``: ``plan.exam``."""
    return f"plan.{slugify(strip_articles(plan), max_words=6)}"


def article(word: str) -> str:
    """ "a" or "an" before ``word``, by its first letter (right often enough)."""
    return "an" if word[:1].lower() in "aeiou" else "a"


def _alternation(words: Iterable[str]) -> str:
    # Longest first, so "guinea pigs" wins over "guinea pig".
    ordered = sorted(words, key=len, reverse=True)
    return "(?:" + "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in ordered) + ")"


# --- the entry point ----------------------------------------------------------------------

_I = re.IGNORECASE
_PERSONAL = MemoryCategory.PERSONAL


@dataclass(frozen=True, slots=True)
class _Hit:
    """Candidates read from one clause, and the characters they were read from."""

    start: int
    end: int
    candidates: tuple[MemoryCandidate, ...]


def extract_candidates(text: str) -> list[MemoryCandidate]:
    """Memories worth keeping from one utterance, in order of appearance, one per key.

    Never raises: text that states nothing recognisable (questions, chit-chat, other
    languages) gives an empty list. Every candidate passes ``validate_candidate``.
    """
    found: dict[str, MemoryCandidate] = {}
    for clause in _clauses(text[:MAX_TURN_TEXT]):
        for candidate in _extract_clause(clause):
            try:
                checked = validate_candidate(candidate)
            except InvalidInput:
                continue
            # Keeps the first position but takes the later value: saying the same slot
            # twice in one breath is a correction.
            found[checked.key or checked.text] = checked
    return list(found.values())


def _extract_clause(clause: str) -> Iterator[MemoryCandidate]:
    taken: list[tuple[int, int]] = []
    hits: list[_Hit] = []
    for extractor in _EXTRACTORS:
        for hit in extractor(clause):
            if not any(hit.start < end and start < hit.end for start, end in taken):
                taken.append((hit.start, hit.end))
                hits.append(hit)
    for hit in sorted(hits, key=lambda h: h.start):
        yield from hit.candidates


# --- clauses ------------------------------------------------------------------------------

_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\x00": " "})
# A full stop after a title does not end a sentence ("Dr. Smith", "St. Louis").
_SENTENCES = re.compile(
    r"(?<!\bDr\.)(?<!\bMr\.)(?<!\bMs\.)(?<!\bSt\.)(?<!\bMrs\.)"
    r"(?<=[.!?\u2026\u061f\u06d4])\s+|[\r\n;]+"
)
_ASKING = (
    r"(?:do|did|can|could|would|will)\s+you\b|isn't\b|aren't\b|right\b|"
    r"(?:what|who|where|when|why|how)\b"
)
_CLAUSES = re.compile(
    r"\s*(?:,\s*(?:(?:and|but|so|plus|also|then)\s+)?|\s(?:and|but|so|plus|then)\s+)"
    rf"(?=(?:also\s+)?(?:my|i|we|our)\b|{_ASKING})",
    _I,
)
# "I live in Paris and work at Acme": the second verb has the first one's subject.
_IMPLICIT_I = re.compile(
    r"\b(and|but)\s+(?=(?:also\s+|really\s+)?(?:live|work|love|like|enjoy|hate|have|want|"
    r"moved|dislike|adore)\b)",
    _I,
)
_FILLER = re.compile(
    r"^(?:(?:hi|hello|hey|hiya|yo|sala+m|as+alam\w*(?:\s+(?:o|u|wa)?\s*alaikum)?|well|so|"
    r"oh|ah|um+|uh+|ok(?:ay)?|yeah|yes|no|also|and|but|then|plus|actually|anyway|btw|"
    r"by\s+the\s+way|just\s+so\s+you\s+know|fyi|guess\s+what|fun\s+fact|"
    r"(?:please\s+)?remember(?:\s+that)?|note(?:\s+that)?|you\s+should\s+know(?:\s+that)?|"
    r"i\s+want\s+you\s+to\s+(?:know|remember)(?:\s+that)?|let\s+me\s+tell\s+you(?:\s+that)?|"
    r"i\s+should\s+(?:mention|tell\s+you)(?:\s+that)?)\b[\s,!:.\-]*)+",
    _I,
)
_AUX = r"is|are|was|were|do|does|did|am|can|could|would|will|should|have|has"
_QUESTION_START = re.compile(
    rf"^(?:(?:{_AUX}|had|shall|may|might|isn't|aren't|don't|doesn't|didn't|won't|right)\b|"
    rf"(?:what|who|where|when|why|how|which|whose)(?:'s|'re|$|(?:\s+\S+){{0,3}}?\s+"
    rf"(?:{_AUX})\s+(?:i|my|you|your|we|it|he|she|they|there|the|this|that)\b))",
    _I,
)
# Contractions and speech-to-text spellings in one form, so each pattern spells it once.
_CANON = tuple(
    (re.compile(pattern, _I), replacement)
    for pattern, replacement in (
        (r"\bi\s+am\b|\bim\b", "I'm"),
        (r"\bi(?:'ve|\s+have)\s+got\b|\bive\s+got\b|\bi've\b|\bive\b", "I have"),
        (r"\bi\s+would\b", "I'd"),
        (r"\bi\s+will\b", "I'll"),
        (r"\bdo\s+not\b|\bdont\b", "don't"),
        (r"\bcannot\b|\bcan\s+not\b|\bcant\b", "can't"),
        (r"\bis\s+not\b|\bisnt\b", "isn't"),
        (r"\bwanna\b", "want to"),
        (r"\bgonna\b", "going to"),
        (r"\bname's\b", "name is"),
    )
)


def _clauses(text: str) -> Iterator[str]:
    """The statements in ``text``, one clause at a time: questions and fillers dropped."""
    for sentence in _SENTENCES.split(text.translate(_QUOTES)):
        sentence = " ".join(sentence.split())
        asks = sentence.endswith(("?", "\u061f"))
        if re.search(r"\bi\b", sentence, _I):
            sentence = _IMPLICIT_I.sub(r"\1 I ", sentence)
        parts = _CLAUSES.split(sentence)
        for index, part in enumerate(parts):
            clause = _FILLER.sub("", part.strip()).strip()
            # "My dog is Rex, isn't he cute?": only the last clause carries the "?".
            if not clause or _QUESTION_START.match(clause) or (asks and index == len(parts) - 1):
                continue
            for pattern, replacement in _CANON:
                clause = pattern.sub(replacement, clause)
            yield clause


# --- reading values -----------------------------------------------------------------------

_NEGATION = re.compile(r"\b(?:not|never|no\s+longer|nor)\b|n't\b", _I)
_DAYS = r"monday|tuesday|wednesday|thursday|friday|saturday|sunday"
_PERIODS = (
    r"morning|afternoon|evening|night|weekend|week|month|year|summer|winter|spring|autumn|"
    r"fall|semester|term"
)
_NUMBER = r"a|an|one|two|three|four|five|six|seven|eight|nine|ten|a\s+few|a\s+couple\s+of|\d+"
_WHEN_BODY = (
    r"(?:the\s+day\s+after\s+)?tomorrow(?:\s+(?:morning|afternoon|evening|night))?|"
    rf"tonight|later\s+today|today|this\s+(?:coming\s+)?(?:{_DAYS}|{_PERIODS})|"
    rf"next\s+(?:{_DAYS}|{_PERIODS})|on\s+(?:{_DAYS})|"
    rf"(?:in|within)\s+(?:{_NUMBER})\s+(?:days?|weeks?|months?|years?)|soon"
)
_WHEN = re.compile(rf"\b(?:{_WHEN_BODY})\b", _I)
_DAY = re.compile(rf"\b(?:{_DAYS})\b")
# Where a value ends. A "." inside a clause is an abbreviation, not an end.
_END = (
    r"[;!?(){}\[\]\"]|\s-\s|\s+(?:because|since|but|though|although|when|whenever|if|"
    r"unless|while|which|who|whom|where|whose|so\s+that|as\s+well|a\s+lot|so\s+much|"
    r"very\s+much|by\s+the\s+way|i\s+guess|i\s+think|right\s+now|these\s+days|"
    r"at\s+the\s+moment|nowadays|yesterday|ago|last\s+\w+|"
    rf"(?:{_NUMBER})\s+(?:years?|months?|weeks?|days?)|{_WHEN_BODY})\b"
)


def _stops(extra: str) -> re.Pattern[str]:
    return re.compile(_END + extra, _I)


_STOP_PLACE = _stops(r"|,|\s+(?:with|for|now|currently|and|or|in\s+\d{4}|recently)\b")
_STOP_EMPLOYER = _stops(r"|,|\s+(?:as|and|or|now|for\s+(?:the\s+)?(?:past|over|about))\b")
_STOP_ROLE = _stops(r"|,|\s+(?:at|for|in|with|and|or|of|from|now)\b")
_STOP_THING = _stops(r"|\s+(?:too|more\s+than|the\s+most|most\s+of\s+all|best|with\s+my)\b")
_STOP_VALUE = _stops(r"|,")
_TRAILING = _words(
    "too also now lol haha though then really btw please thanks anyway actually ok okay "
    "right yeah lately currently anymore"
)
_PRONOUNS = _words(
    "you it that this them him her me us everything nothing something anything everyone "
    "lots here there"
)


def _phrase(text: str, pos: int, stop: re.Pattern[str], max_words: int) -> tuple[str, int]:
    """The words at ``pos`` up to a stop word or punctuation, and where they end."""
    rest = text[pos:]
    found = stop.search(rest)
    chunk = rest[: found.start()] if found else rest
    words = chunk.split()[:max_words]
    while words and words[-1].lower().strip(".,!?'\"") in _TRAILING:
        words.pop()
    return " ".join(words).strip(" \"'.,!?:;-"), pos + len(chunk.rstrip())


def _negated(clause: str, value_start: int) -> bool:
    return bool(_NEGATION.search(clause[:value_start]))


_NAME_WORD = re.compile(r"\s*([^\W\d_][\w'-]*)")
_NEXT_NAME_WORD = re.compile(r"\.?\s+([^\W\d_][\w'-]*)")
_NAME_LIST = re.compile(r"\s*,\s*(?:and\s+)?|\s+(?:and|&)\s+|\s*&\s*", _I)
_NOT_NAME = _words(
    "a an the and or but so is was are am be called named name who which that this he she "
    "it they we you i me my your his her our their its from with in at on of for to too "
    "also very really just now here there today tomorrow tonight later back btw by thanks "
    "thank please lol haha yeah yes no not because since though if when while as like "
    "love loves likes has have had does do did will would can could should nice hi hello "
    "hey again right ok okay well actually anyway sometime maybe soon hai hoon hun \u06c1\u06d2 "
    "one two three four five six seven eight nine ten"
)
_TITLES = _words("dr mr mrs ms prof st")
_PARTICLES = _words("van von de da del der di du la le al el bin bint ibn")


def _capitalise(word: str, first: bool) -> str:
    if not word.islower() or (not first and word in _PARTICLES):
        return word
    return word[0].upper() + word[1:]


def _take_name(text: str, pos: int) -> tuple[str, int, bool] | None:
    """A name of up to three words at ``pos``: (name, end, whether it was capitalised)."""
    words: list[str] = []
    end = pos
    found = _NAME_WORD.match(text, pos)
    while found and len(words) < 3:
        word = found.group(1)
        possessive = word.lower().endswith("'s")
        word = (word[:-2] if possessive else word).strip("'-")
        folded = word.casefold()
        if not word or folded in _NOT_NAME or folded in _SPECIES or folded in _RELATIONS:
            break
        # "Ada here", "Ada loves": a lower-case word after a capitalised one is not
        # part of the name.
        if words and words[0][0].isupper() and word[0].islower() and word not in _PARTICLES:
            break
        if words and words[-1].casefold() in _TITLES and text[end : end + 1] == ".":
            words[-1] += "."
        words.append(word)
        end = found.end() - (2 if possessive else 0)
        found = None if possessive else _NEXT_NAME_WORD.match(text, end)
    if not words:
        return None
    name = " ".join(_capitalise(word, index == 0) for index, word in enumerate(words))
    return name, end, words[0][0].isupper()


def _take_names(text: str, pos: int) -> tuple[list[tuple[str, bool]], int]:
    """Names listed at ``pos`` ("Tom and Jerry"), each with its capitalisation, and the end."""
    names: list[tuple[str, bool]] = []
    end = pos
    taken = _take_name(text, pos)
    while taken:
        names.append((taken[0], taken[2]))
        end = taken[1]
        separator = _NAME_LIST.match(text, end)
        taken = _take_name(text, separator.end()) if separator else None
        # "Biscuit and Two Cats called...": a list of names keeps the first one's case.
        if taken and taken[2] != names[0][1]:
            break
    return names, end


# --- extractors, one per kind of fact -----------------------------------------------------
# Each reads one clause and yields hits; they are tried in the order of _EXTRACTORS.

Extractor = Callable[[str], Iterator[_Hit]]


def _hit(start: int, end: int, *candidates: MemoryCandidate) -> _Hit:
    return _Hit(start, end, candidates)


_NAME_FORMS = tuple(
    re.compile(pattern, _I)
    for pattern in (
        r"\bmy\s+(?:full\s+|first\s+|real\s+|actual\s+)?name\s+is\s+(?:actually\s+|just\s+)?",
        r"\bI'm\s+(?:called|named|known\s+as)\s+",
        r"\b(?:you\s+can\s+|please\s+|just\s+)?call\s+me\s+",
        r"\b(?:people|everyone|everybody|my\s+friends)\s+calls?\s+me\s+",
        r"\bI\s+go\s+by\s+",
        r"\bmera\s+naam\s+",
        "\u0645\u06cc\u0631\u0627\\s+\u0646\u0627\u0645\\s+",  # Urdu: "my name"
    )
)
_BARE_NAME = re.compile(r"^I'm\s+", _I)
_BARE_NAME_END = re.compile(r"\s*(?:$|[,.!]|(?:from|by|btw|here|speaking)\b)", _I)
# Capitalised words that follow "I'm" without being a name.
_NOT_BARE_NAME = _words(
    "american british english pakistani indian german french italian spanish canadian "
    "muslim christian jewish hindu catholic sikh buddhist fine good great sorry tired "
    "happy sad ready done home back busy free"
)


def _names(clause: str) -> Iterator[_Hit]:
    for form in _NAME_FORMS:
        found = form.search(clause)
        taken = _take_name(clause, found.end()) if found else None
        if found and taken and not _negated(clause, found.end()):
            yield _hit(found.start(), taken[1], _name(taken[0]))
            return
    # "I'm Ada." is a name only when capitalised and alone: "I'm tired", "I'm British".
    bare = _BARE_NAME.match(clause)
    taken = _take_name(clause, bare.end()) if bare else None
    if (
        taken
        and taken[2]
        and taken[0].casefold() not in _NOT_BARE_NAME
        and _BARE_NAME_END.match(clause, taken[1])
    ):
        yield _hit(0, taken[1], _name(taken[0]))


def _name(name: str) -> MemoryCandidate:
    return MemoryCandidate(_PERSONAL, f"Name is {name}", 9, KEY_NAME, name)


_AGE_FORMS = tuple(
    re.compile(pattern, _I)
    for pattern in (
        r"\bI'm\s+(?P<v>\d{1,3})(?:\s*(?:years?|yrs?)(?:\s+old)?|\s+y/?o)?"
        r"(?=\s*(?:$|[,.!]|now\b|today\b|this\s+year\b))",
        r"\bmy\s+age\s+is\s+(?P<v>\d{1,3})\b",
        r"\bI\s+(?:just\s+)?turned\s+(?P<v>\d{1,3})\b",
    )
)


def _ages(clause: str) -> Iterator[_Hit]:
    for form in _AGE_FORMS:
        found = form.search(clause)
        if found and not _negated(clause, found.start("v")) and 0 < int(found["v"]) <= 130:
            age = str(int(found["v"]))
            candidate = MemoryCandidate(_PERSONAL, f"Is {age} years old", 6, KEY_AGE, age)
            yield _hit(found.start(), found.end(), candidate)
            return


_ADJ = (
    r"(?:older|younger|little|big|twin|eldest|oldest|youngest|elder|step|half|best|late|"
    r"lovely|beautiful|sweet|cute|new|old|young|pet|dear|lazy|fat|fluffy|black|white|brown|"
    r"ginger|grey|gray|tabby|two|three|rescue)\s+"
)
_COUNT = r"(?:(?:a|an|one|two|three|four|five|\d+)\s+)?"
_STRONG_LINK = re.compile(r"called|named|name", _I)
_WEAK_LINK_END = re.compile(r"\s*(?:$|[,.!]|and\b|who\b|by\s+the\s+way\b)", _I)
KinForms = tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]


def _kin_forms(vocab: str) -> KinForms:
    """The three ways people introduce a pet or a person, for one vocabulary."""
    possessive = re.compile(  # "my dog's name is Biscuit", "my wife Sarah"
        rf"\b(?:my|our)\s+(?P<adj>(?:{_ADJ})*)(?P<w>{vocab})\b"
        r"(?P<link>(?:'s|s'|')?\s+names?\s+(?:is|are|was)|\s+(?:is|are)\s+(?:called|named)|"
        r",?\s+(?:called|named)|\s+(?:is|are)|,|)\s+",
        _I,
    )
    having = re.compile(  # "I have two cats called Tom and Jerry", "and a cat called Tom"
        rf"\b(?:(?:I|we)\s+(?:have|own|got|adopted|rescued)|and|,)\s+{_COUNT}"
        rf"(?P<adj>(?:{_ADJ})*)(?P<w>{vocab})\b,?\s+"
        r"(?:called|named|whose\s+names?\s+(?:is|are))\s+",
        _I,
    )
    naming = re.compile(  # "Biscuit is my dog"
        r"\b(?P<n>[^\W\d_][\w'-]*(?:\s+[^\W\d_][\w'-]*)?)\s+(?:is|was)\s+(?:my|our)\s+"
        rf"(?P<adj>(?:{_ADJ})*)(?P<w>{vocab})\b",
        _I,
    )
    return possessive, having, naming


_PET_FORMS = _kin_forms(_alternation(_SPECIES))
_KIN_FORMS = _kin_forms(_alternation(_RELATIONS))
KinBuilder = Callable[[str, str, bool], MemoryCandidate | None]


def _kin(clause: str, forms: KinForms, build: KinBuilder) -> Iterator[_Hit]:
    possessive, having, naming = forms
    for found in (*possessive.finditer(clause), *having.finditer(clause)):
        names, end = _take_names(clause, found.end())
        link = found.groupdict().get("link")
        # Without "called"/"named" only a capitalised name counts: "my wife Sarah" but
        # not "my dog is happy".
        weak = link is not None and not _STRONG_LINK.search(link)
        if not names or _negated(clause, found.start()):
            continue
        if weak and not all(capitalised for _, capitalised in names):
            continue
        if (
            weak
            and link
            and link.strip() in ("is", "are")
            and not _WEAK_LINK_END.match(clause, end)
        ):
            continue
        best = "best" in found["adj"].lower()
        built = (build(found["w"], name, best) for name, _ in names)
        yield _hit(found.start(), end, *(candidate for candidate in built if candidate))
    for found in naming.finditer(clause):
        words = found["n"].split()
        while words and (not words[0][0].isupper() or words[0].casefold() in _NOT_NAME):
            words.pop(0)
        if words and all(w[0].isupper() and w.casefold() not in _NOT_NAME for w in words):
            candidate = build(found["w"], " ".join(words), "best" in found["adj"].lower())
            if candidate:
                yield _hit(found.start("n"), found.end(), candidate)


def _pet(word: str, name: str, best: bool) -> MemoryCandidate | None:
    species = canonical_species(word)
    if species is None:
        return None
    text = f"Has {article(species)} {species} called {name}"
    return MemoryCandidate(MemoryCategory.RELATIONSHIP, text, 7, pet_key(species, name), name)


# There is one of each: "Mother is called Amina" reads better than "Has a mother called".
_ONLY_ONE = _words("mother father wife husband partner girlfriend boyfriend fiance fiancee")


def _relative(word: str, name: str, best: bool) -> MemoryCandidate | None:
    relation = canonical_relation(word)
    if relation is None:
        return None
    if relation == "friend" and best:
        text = f"Best friend is called {name}"
    elif relation in _ONLY_ONE:
        text = f"{relation.capitalize()} is called {name}"
    else:
        text = f"Has {article(relation)} {relation} called {name}"
    key = family_key(relation, name)
    return MemoryCandidate(MemoryCategory.RELATIONSHIP, text, 7, key, name)


def _pets(clause: str) -> Iterator[_Hit]:
    return _kin(clause, _PET_FORMS, _pet)


def _family(clause: str) -> Iterator[_Hit]:
    return _kin(clause, _KIN_FORMS, _relative)


_WORK_AT = re.compile(
    r"\bI(?:'m)?\s+(?:currently\s+|now\s+|also\s+|still\s+)?(?:work|working|employed)\s+"
    r"(?P<prep>at|for|in)\s+",
    _I,
)
_WORK_AS = re.compile(
    r"\b(?:I(?:'m)?\s+(?:currently\s+|now\s+|also\s+|still\s+)?(?:work|working)\s+as|"
    r"my\s+(?:job|profession|occupation|job\s+title|role)\s+is)\s+(?:an?\s+)?(?!to\b)",
    _I,
)
_I_AM_A = re.compile(r"\bI'm\s+an?\s+", _I)
_ROLE_AFTER = re.compile(r"\s+as\s+(?:an?\s+)?", _I)
_EMPLOYER_AFTER = re.compile(r"\s+(?P<prep>at|for)\s+", _I)
# "I'm a teacher" is a job, "I'm a big fan" is not: the last word must look like one.
_JOB_WORD = re.compile(
    r"(?:er|or|ist|ian|ant|ent|eer|ect|ess|eur|man|woman|nurse|chef|cook|pilot|coach|judge|"
    r"clerk|tutor|barista|vet|dev|medic|mechanic|surgeon|ceo|cto|intern|analyst)$",
    _I,
)
_NOT_JOB = _words(
    "fan bit little lot big huge real total vegetarian vegan christian libertarian "
    "introvert extrovert perfectionist optimist pessimist member believer lover beginner "
    "person mother father brother sister daughter son parent grandmother grandfather "
    "winner loser foreigner minor dreamer other leo"
)


def _employer(prep: str, employer: str) -> MemoryCandidate:
    text = f"Works {prep.lower()} {employer}"
    return MemoryCandidate(_PERSONAL, text, 7, KEY_EMPLOYER, employer)


def _role(role: str, lead: str) -> MemoryCandidate:
    # "my job is teaching" -> "Works in teaching"; "I work as a nurse" -> "Works as a nurse".
    text = f"Works in {role}" if role.endswith("ing") else f"{lead} {article(role)} {role}"
    return MemoryCandidate(_PERSONAL, text, 7, KEY_ROLE, role)


def _work(clause: str) -> Iterator[_Hit]:
    for found in _WORK_AT.finditer(clause):
        employer, end = _phrase(clause, found.end(), _STOP_EMPLOYER, 6)
        if not employer or employer.lower() in _PRONOUNS or _negated(clause, found.start()):
            continue
        candidates = [_employer(found["prep"], employer)]
        role_at = _ROLE_AFTER.match(clause, end)
        role, role_end = _phrase(clause, role_at.end(), _STOP_ROLE, 5) if role_at else ("", end)
        if role:
            candidates.append(_role(role, "Works as"))
            end = role_end
        yield _hit(found.start(), end, *candidates)
    for form, lead in ((_WORK_AS, "Works as"), (_I_AM_A, "Is")):
        for found in form.finditer(clause):
            role, end = _phrase(clause, found.end(), _STOP_ROLE, 5)
            words = role.lower().split()
            if not words or _negated(clause, found.start()):
                continue
            if form is _I_AM_A and (
                not _JOB_WORD.search(words[-1]) or {words[0], words[-1]} & _NOT_JOB
            ):
                continue
            candidates = [_role(role, lead)]
            employer_at = _EMPLOYER_AFTER.match(clause, end)
            if employer_at:
                employer, employer_end = _phrase(clause, employer_at.end(), _STOP_EMPLOYER, 6)
                if employer:
                    candidates.append(_employer(employer_at["prep"], employer))
                    end = employer_end
            yield _hit(found.start(), end, *candidates)


_PLACE_FORMS = tuple(
    (re.compile(pattern, _I), key)
    for pattern, key in (
        (
            r"\bI\s+(?:currently\s+|now\s+|still\s+)?live\s+(?P<prep>in|near|at|on|outside)\s+",
            KEY_HOME,
        ),
        (
            r"\bI'm\s+(?:currently\s+|now\s+)?(?:living|based|staying)\s+(?P<prep>in|near)\s+",
            KEY_HOME,
        ),
        (r"\bI\s+(?:have\s+)?(?:just\s+|recently\s+)?(?:moved|relocated)\s+to\s+", KEY_HOME),
        (r"\bmy\s+(?:home|house|flat|apartment)\s+is\s+(?P<prep>in|near)\s+", KEY_HOME),
        (r"\bI\s+reside\s+(?P<prep>in)\s+", KEY_HOME),
        (r"\bI'm\s+(?:originally\s+)?from\s+", KEY_ORIGIN),
        (r"\bI\s+(?:originally\s+)?come\s+from\s+", KEY_ORIGIN),
        (r"\bI\s+was\s+born\s+in\s+", KEY_ORIGIN),
    )
)
_NOT_TITLED = _words("a an the my our this that some")


def _place_name(place: str) -> str:
    words = place.split()
    # Speech-to-text writes "new york": a short lower-case place name gets its capitals.
    if place.islower() and len(words) <= 3 and words[0] not in _NOT_TITLED:
        return " ".join(word[0].upper() + word[1:] for word in words)
    return place


def _places(clause: str) -> Iterator[_Hit]:
    for form, key in _PLACE_FORMS:
        found = form.search(clause)
        if not found or _negated(clause, found.start()):
            continue
        place, end = _phrase(clause, found.end(), _STOP_PLACE, 6)
        if not place or place.lower() in _PRONOUNS or place[0].isdigit():
            continue
        place = _place_name(place)
        if key == KEY_ORIGIN:
            candidate = MemoryCandidate(_PERSONAL, f"Is from {place}", 6, key, place)
        else:
            prep = (found.groupdict().get("prep") or "in").lower()
            candidate = MemoryCandidate(_PERSONAL, f"Lives {prep} {place}", 8, key, place)
        yield _hit(found.start(), end, candidate)
        return


_FAVOURITE_WORD = r"(?:(?:very|absolute|all[- ]time|most)\s+)?(?:favou?rite|fave|fav)"
_FAVOURITE = re.compile(
    rf"\bmy\s+{_FAVOURITE_WORD}\s+(?P<thing>[^\W\d_]+(?:\s+[^\W\d_]+){{0,3}}?)\s+"
    r"(?:is|are|would\s+be|has\s+to\s+be)\s+",
    _I,
)
_FAVOURITE_LAST = re.compile(  # "Green is my favourite colour"
    rf"^(?P<v>[^,]+?)\s+(?:is|are)\s+my\s+{_FAVOURITE_WORD}\s+"
    r"(?P<thing>[^\W\d_]+(?:\s+[^\W\d_]+)?)\s*$",
    _I,
)


def _favourite(thing: str, value: str) -> MemoryCandidate | None:
    canonical = normalise_thing(thing)
    if not value or not canonical or value.lower() in _PRONOUNS:
        return None
    text = f"Favourite {canonical} is {value}"
    return MemoryCandidate(MemoryCategory.PREFERENCE, text, 5, favourite_key(thing), value)


def _favourites(clause: str) -> Iterator[_Hit]:
    for found in _FAVOURITE.finditer(clause):
        value, end = _phrase(clause, found.end(), _STOP_VALUE, 6)
        candidate = _favourite(found["thing"], value)
        if candidate and not _negated(clause, found.end()):
            yield _hit(found.start(), end, candidate)
    last = _FAVOURITE_LAST.match(clause)
    if last and len(last["v"].split()) <= 6 and not _negated(clause, last.end("v")):
        candidate = _favourite(last["thing"], last["v"].strip())
        if candidate:
            yield _hit(0, len(clause), candidate)


_ADV = (
    r"(?:(?:really|also|still|just|eventually|one\s+day|someday|so|truly|absolutely|"
    r"totally|kind\s+of|kinda|do)\s+)*"
)
# (pattern, how the memory text leads, whether the verb is an "-ing" form)
_GOAL_FORMS = tuple(
    (re.compile(pattern, _I), lead, gerund)
    for pattern, lead, gerund in (
        (rf"\bI\s+{_ADV}(?P<verb>want|hope|plan|intend|aim|wish)\s+to\s+", "{Verb}s to", False),
        (r"\bI'd\s+(?:really\s+)?(?P<verb>like|love)\s+to\s+", "Would {verb} to", False),
        (rf"\bI\s+{_ADV}dream\s+(?:of|about)\s+", "Dreams of", False),
        (
            r"\bI'm\s+(?:really\s+|also\s+)?(?P<verb>planning|hoping|trying|aiming|determined|"
            r"saving\s+up|preparing)\s+to\s+",
            "Is {verb} to",
            False,
        ),
        (
            r"\bmy\s+(?:(?:main|big|biggest|long[- ]term|new|one|only|life|ultimate|current|"
            r"personal)\s+)*(?P<verb>goal|dream|aim|ambition|plan|resolution|wish|mission)"
            r"(?:\s+for\s+(?:this|next|the)\s+\w+)?\s+is\s+(?P<to>to\s+)?",
            "{Verb} is",
            False,
        ),
        (
            r"\bI'm\s+(?:currently\s+|now\s+|also\s+)?(?P<verb>learning|studying|training\s+for|"
            r"practi[cs]ing|saving\s+(?:up\s+)?for|working\s+towards?)\s+",
            "Is {verb}",
            True,
        ),
    )
)
# "I'm learning Spanish" and "I want to learn Spanish" fill the same goal.learn_spanish.
_GERUND_BASE = {
    "studying": "study",
    "practicing": "practise",
    "practising": "practise",
    "saving": "save",
}
_CHAT_VERBS = _words(
    "know ask say tell talk chat speak check hear see test understand remember thank share "
    "mention add clarify confirm sleep"
)
_BIG_GOALS = _words("goal dream ambition aim plan mission")


def _lead(template: str, verb: str) -> str:
    verb = " ".join(verb.lower().split())
    return template.format(verb=verb, Verb=verb.capitalize())


def _is_chatter(value: str) -> bool:
    words = value.lower().split()
    return not words or words[0] in _CHAT_VERBS or words[0] in _PRONOUNS


def _goals(clause: str) -> Iterator[_Hit]:
    for form, template, gerund in _GOAL_FORMS:
        found = form.search(clause)
        if not found or _negated(clause, found.start()):
            continue
        goal, end = _phrase(clause, found.end(), _STOP_VALUE, 12)
        if _is_chatter(goal):
            continue
        verb = (found.groupdict().get("verb") or "dream").lower()
        lead = _lead(template, verb) + (" to" if found.groupdict().get("to") else "")
        if gerund:
            first, _, rest = verb.partition(" ")
            base = _GERUND_BASE.get(first, first.removesuffix("ing"))
            key = goal_key(f"{base} {rest} {goal}")
        else:
            key = goal_key(goal)
        importance = 7 if verb in _BIG_GOALS else 6
        candidate = MemoryCandidate(MemoryCategory.GOAL, f"{lead} {goal}", importance, key, goal)
        yield _hit(found.start(), end, candidate)
        return


_PLAN_FORMS = tuple(
    (re.compile(pattern, _I), lead)
    for pattern, lead in (
        (r"\bI\s+have\s+to\s+", "Has to"),
        (r"\bI\s+have\s+(?=(?:an?|my|the|some|two|three|\d+)\s)", "Has"),
        (r"\bI'll\s+", "Will"),
        (rf"\bI\s+{_ADV}(?P<verb>want|plan|hope|intend|need)\s+to\s+", "{Verb}s to"),
        (r"\bI'm\s+(?!(?:feeling|being|thinking|wondering|kidding|joking)\b)(?=\w+ing\b)", "Is"),
        (r"\bmy\s+(?=[\w\s'-]+?\s+(?:is|are)\s*$)", ""),  # "my exam is tomorrow"
    )
)
# Keys name the plan, not the planning: "going to Lahore" -> plan.lahore.
_PLAN_SUBJECT = re.compile(r"^(?:going|planning|hoping|about)\s+to\s+|\s+(?:is|are)$", _I)
_DANGLING = re.compile(r"\s+(?:by|on|in|at|for|until|before|after)$", _I)


def _plans(clause: str) -> Iterator[_Hit]:
    when = _WHEN.search(clause)
    if not when:
        return
    start, stop = when.span()
    core = clause[:start] + clause[stop:]
    moment = _DAY.sub(lambda day: day[0].capitalize(), " ".join(when.group().lower().split()))
    for form, template in _PLAN_FORMS:
        found = form.search(core)
        if not found or _negated(core, found.start()):
            continue
        plan, end = _phrase(core, found.end(), _STOP_VALUE, 10)
        if _is_chatter(plan):
            continue
        plan = _DANGLING.sub("", plan)
        subject = _PLAN_SUBJECT.sub("", plan)
        if template:
            text = f"{_lead(template, found.groupdict().get('verb') or '')} {plan} {moment}"
        else:
            text = f"Has {article(subject)} {subject} {moment}"
        value = f"{subject} {moment}"
        candidate = MemoryCandidate(MemoryCategory.EVENT, text, 6, plan_key(subject), value)
        # Positions after the removed time expression shift back by its length.
        end = end if end <= start else end + (stop - start)
        yield _hit(min(found.start(), start), max(end, stop), candidate)
        return


_DISLIKES = re.compile(
    rf"\bI\s+{_ADV}(?P<verb>don't\s+(?:really\s+)?(?:like|love|enjoy|care\s+for)|hate|"
    r"dislike|detest|loathe|despise|can't\s+stand|can't\s+bear|never\s+liked?)\s+|"
    r"\bI'm\s+not\s+(?P<fan>(?:a\s+)?(?:big\s+|huge\s+)?fan\s+of|into|keen\s+on|fond\s+of)\s+",
    _I,
)
_LIKES = re.compile(
    rf"\bI\s+{_ADV}(?P<verb>like|love|enjoy|adore|prefer)\s+|"
    r"\bI'm\s+(?:really\s+|also\s+|so\s+)?(?P<fan>into|(?:a\s+)?(?:big\s+|huge\s+)?fan\s+of|"
    r"fond\s+of|keen\s+on|passionate\s+about|obsessed\s+with|crazy\s+about)\s+",
    _I,
)
_LIST = re.compile(r"\s*,\s*(?:and\s+|or\s+)?|\s+(?:and|or|&)\s+", _I)
_PREFERENCE_LEADS = {
    **dict.fromkeys(("love", "adore", "passionate about", "obsessed with", "crazy about"), "Loves"),
    "enjoy": "Enjoys",
    **dict.fromkeys(("hate", "detest", "loathe", "despise"), "Hates"),
    **dict.fromkeys(("can't stand", "can't bear"), "Can't stand"),
}


def _preferences(clause: str, form: re.Pattern[str], likes: bool) -> Iterator[_Hit]:
    for found in form.finditer(clause):
        if likes and _negated(clause, found.start()):
            continue
        phrase, end = _phrase(clause, found.end(), _STOP_THING, 16)
        items = [item.strip() for item in _LIST.split(phrase) if item.strip()]
        # "I like hiking, swimming and reading" is three likes; a long phrase is one.
        if not 2 <= len(items) <= 6 or any(len(item.split()) > 4 for item in items):
            items = [phrase] if phrase else []
        how = " ".join((found["verb"] or found["fan"] or "").lower().split())
        lead = _PREFERENCE_LEADS.get(how, "Likes" if likes else "Doesn't like")
        candidates = []
        for item in items:
            shown = item[3:] if item.lower().startswith("to ") else item
            bare = strip_articles(item).lower()
            if not shown or _is_chatter(bare) or bare.startswith(("your ", "you ")):
                continue
            key = likes_key(shown) if likes else dislikes_key(shown)
            text = f"{lead} {item}"
            candidates.append(MemoryCandidate(MemoryCategory.PREFERENCE, text, 5, key, shown))
        if candidates:
            yield _hit(found.start(), end, *candidates)


def _dislikes(clause: str) -> Iterator[_Hit]:
    return _preferences(clause, _DISLIKES, likes=False)


def _likes(clause: str) -> Iterator[_Hit]:
    return _preferences(clause, _LIKES, likes=True)


# Most specific first: "I love my wife Sarah" is a relative, not a like, and "I'm
# planning to run a marathon next year" a dated plan before it is a goal.
_EXTRACTORS: tuple[Extractor, ...] = (
    _names,
    _ages,
    _pets,
    _family,
    _work,
    _places,
    _favourites,
    _plans,
    _goals,
    _dislikes,
    _likes,
)
