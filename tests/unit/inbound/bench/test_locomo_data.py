"""Reading LoCoMo files, and LoCoMo's recall@k."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from companion.domain.errors import InvalidInput
from companion.inbound.bench.locomo import recall_at
from companion.inbound.bench.locomo_data import load_locomo, normalize_dia_id, parse_session_date

TINY = [
    {
        "sample_id": "conv-x",
        "conversation": {
            "speaker_a": "Ana",
            "speaker_b": "Ben",
            "session_1_date_time": "1:56 pm on 8 May, 2023",
            "session_1": [
                {"speaker": "Ana", "dia_id": "D1:1", "text": "I joined a choir!"},
                {"speaker": "Ben", "dia_id": "D1:2", "text": "Nice", "blip_caption": "a stage"},
            ],
            "session_2_date_time": "9:05 am on 12 June, 2023",
            "session_2": [{"speaker": "Ben", "dia_id": "D2:1", "text": "How was it?"}],
        },
        "observation": {
            "session_1_observation": {"Ana": [["Ana joined a choir.", "D1:1"]], "Ben": []},
            "session_2_observation": {"Ben": [["Ben asked about it.", ["D2:1"]]]},
        },
        "qa": [
            {
                "question": "What did Ana join?",
                "answer": "a choir",
                "evidence": ["D1:1"],
                "category": 4,
            },
            {
                "question": "Odd",
                "adversarial_answer": "x",
                "evidence": ["D:1:2; D2:1"],
                "category": 5,
            },
            {"question": "No evidence", "answer": "x", "evidence": [], "category": 3},
        ],
    }
]


def test_a_locomo_file_loads_with_threads_dates_and_captions(tmp_path: Path) -> None:
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(TINY))
    (conv,) = load_locomo(path)
    assert conv.speakers == ("Ana", "Ben")
    assert [i.text for i in conv.dialog] == [
        "Ana: I joined a choir!",
        "Ben: Nice [shares a photo of a stage]",
        "Ben: How was it?",
    ]
    assert [(i.thread, i.position) for i in conv.dialog] == [
        ("session_1", 0),
        ("session_1", 1),
        ("session_2", 0),
    ]
    assert conv.dialog[2].said_at == datetime(2023, 6, 12, 9, 5, tzinfo=UTC)
    assert [(o.text, o.sources) for o in conv.observations] == [
        ("Ana joined a choir.", ("D1:1",)),
        ("Ben asked about it.", ("D2:1",)),
    ]
    assert conv.questions[1].evidence == ("D1:2", "D2:1")  # malformed ids tolerated
    assert conv.last_session_at == datetime(2023, 6, 12, 9, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("D1:3", ["D1:3"]), ("D:11:26", ["D11:26"]), ("D8:6; D9:17", ["D8:6", "D9:17"]), ("D", [])],
)
def test_dialog_ids(raw: str, expected: list[str]) -> None:
    assert normalize_dia_id(raw) == expected


def test_session_dates() -> None:
    assert parse_session_date("12:04 am on 1 January, 2024") == datetime(
        2024, 1, 1, 0, 4, tzinfo=UTC
    )
    assert parse_session_date("12:30 pm on 3 March, 2023") == datetime(
        2023, 3, 3, 12, 30, tzinfo=UTC
    )
    with pytest.raises(InvalidInput):
        parse_session_date("yesterday")


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        "[]",
        '{"a": 1}',
        '[{"sample_id": "x"}]',
        '[{"sample_id": "x", "conversation": {}}]',
    ],
)
def test_bad_files_are_one_clear_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(InvalidInput):
        load_locomo(path)


def test_recall_counts_evidence_found_in_the_top_k() -> None:
    retrieved = [("D1:1",), ("D3:2", "D3:3"), (), ("D2:1",)]
    assert recall_at(retrieved, ["D1:1", "D2:1"], 1) == 0.5
    assert recall_at(retrieved, ["D1:1", "D2:1"], 3) == 0.5
    assert recall_at(retrieved, ["D1:1", "D2:1"], 4) == 1.0
    assert recall_at(retrieved, ["D3:3"], 2) == 1.0
