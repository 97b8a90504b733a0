"""The key vocabulary: how a fact is keyed, so a fact learnt one way is found the other way.

Answering, reconciliation and the LLM adapters rely on the same keys (``name``,
``location.home``, ``favourite.colour``, ``pet.dog.biscuit`` ...). The pet and family
word lists live here because they decide the ``<species>`` and ``<relation>`` segments.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

__all__ = [
    "KEY_AGE",
    "KEY_EMPLOYER",
    "KEY_HOME",
    "KEY_NAME",
    "KEY_ORIGIN",
    "KEY_ROLE",
    "RELATION_WORDS",
    "SPECIES_WORDS",
    "article",
    "canonical_relation",
    "canonical_species",
    "dislikes_key",
    "family_key",
    "favourite_key",
    "forget_names",
    "goal_key",
    "likes_key",
    "normalise_thing",
    "pet_key",
    "plan_key",
    "slugify",
    "strip_articles",
    "word_set",
]

KEY_NAME = "name"
KEY_AGE = "age"
KEY_HOME = "location.home"
KEY_ORIGIN = "location.origin"
KEY_EMPLOYER = "work.employer"
KEY_ROLE = "work.role"
MAX_SLUG = 40


def forget_names(forget_key: str, key: str | None) -> bool:
    """Whether a request to forget ``forget_key`` names the memory keyed ``key``: a key
    ending with "." names a whole family ("pet.dog." is every dog), any other only itself."""
    if key is None:
        return False
    return key.startswith(forget_key) if forget_key.endswith(".") else key == forget_key


def word_set(text: str) -> frozenset[str]:
    """The whitespace-separated words of ``text``, as a set (how word lists are spelt)."""
    return frozenset(text.split())


def _with_plurals(words: str) -> dict[str, str]:
    return {word + ending: word for word in words.split() for ending in ("", "s")}


_SPECIES = {
    **dict.fromkeys(word_set("dog dogs puppy puppies pup doggy"), "dog"),
    **dict.fromkeys(word_set("cat cats kitten kittens kitty"), "cat"),
    **dict.fromkeys(word_set("rabbit rabbits bunny bunnies"), "rabbit"),
    **dict.fromkeys(("guinea pig", "guinea pigs"), "guinea pig"),
    **dict.fromkeys(word_set("mouse mice"), "mouse"),
    **dict.fromkeys(word_set("fish goldfish"), "fish"),
    **_with_plurals(
        "parrot bird budgie cockatiel parakeet hamster gerbil horse pony turtle tortoise "
        "snake lizard gecko iguana rat ferret hedgehog chicken hen goat"
    ),
}
_RELATIONS = {
    **dict.fromkeys(word_set("mother mom mum mommy mummy mama ammi amma"), "mother"),
    **dict.fromkeys(word_set("father dad daddy papa abbu abba baba"), "father"),
    **dict.fromkeys(word_set("grandmother grandma granny nani dadi"), "grandmother"),
    **dict.fromkeys(word_set("grandfather grandpa granddad grandad"), "grandfather"),
    **dict.fromkeys(word_set("kid kids child children"), "child"),
    **dict.fromkeys(word_set("aunt aunts auntie aunty"), "aunt"),
    **dict.fromkeys(("fiance", "fianc\u00e9"), "fiance"),
    **dict.fromkeys(("fiancee", "fianc\u00e9e"), "fiancee"),
    **_with_plurals(
        "sister brother wife husband partner girlfriend boyfriend son daughter uncle cousin "
        "niece nephew friend"
    ),
}
SPECIES_WORDS = frozenset(_SPECIES)
"""Every word (lower-case) that names a kind of pet: "dog", "puppies", "guinea pig" ..."""
RELATION_WORDS = frozenset(_RELATIONS)
"""Every word (lower-case) that names a relative or friend: "mum", "sister", "friends" ..."""

_THING_ALIASES = {"color": "colour", "film": "movie", "flavor": "flavour", "programme": "show"}
_THING_FILLER = re.compile(
    r"^(?:(?:favou?rite|fave|fav)\s+)?(?:(?:kind|type|sort|genre|style)\s+of\s+)*"
)
_NO_SINGULAR = word_set("series news clothes glasses")


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
