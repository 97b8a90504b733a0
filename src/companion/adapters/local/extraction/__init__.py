"""Pattern extraction: what a user says about themselves, as memory candidates.

With no LLM configured this is how the companion learns. It recognises the common ways
people state facts about themselves ("my name is Ada", "I have a dog called Biscuit",
"I moved to Berlin") and turns each into a :class:`MemoryCandidate` with a stable key.

The modules, in the order an utterance passes through them:

- :mod:`.keys`: the key vocabulary (``name``, ``location.home``, ``favourite.colour``,
  ``pet.dog.biscuit`` ...), shared with answering, reconciliation and the LLM adapters.
- :mod:`.clauses`: cutting an utterance into the clauses that state something.
- :mod:`.values`: reading a value, a name or a negation out of a clause.
- :mod:`.personal`, :mod:`.relations`, :mod:`.preferences`, :mod:`.plans`: one
  extractor per kind of fact.
- :mod:`.reader`: :func:`extract_candidates`, which runs the extractors over each clause.
"""

from __future__ import annotations

from companion.adapters.local.extraction.reader import extract_candidates
from companion.domain.keys import (
    KEY_AGE,
    KEY_EMPLOYER,
    KEY_HOME,
    KEY_NAME,
    KEY_ORIGIN,
    KEY_ROLE,
    article,
    canonical_relation,
    canonical_species,
    dislikes_key,
    family_key,
    favourite_key,
    goal_key,
    likes_key,
    normalise_thing,
    pet_key,
    plan_key,
    slugify,
    strip_articles,
)

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
