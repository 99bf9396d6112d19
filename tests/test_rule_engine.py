"""Tests for themes.rule_engine: the rule tagger's batch kernels match its documented semantics."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from codebooks import MINIMAL

from themes.codebook import load_codebook
from themes.tagging import RuleTagger, build_nlp

# Written for these tests: sentences without final punctuation, clause breaks, stated absences
# before and after a theme, overlapping phrases and patterns, recommendation sections.
TEXTS = [
    "There was no evidence of domestic abuse",
    "Neglect was evident; there was no indication of domestic abuse but the home was chaotic.",
    "Information was not shared with the GP. The health visitor shared information promptly",
    "Domestic abuse was not a feature of this case. Neglect was",
    "The partnership should fund a post. Training should be commissioned for all staff.",
    "",
    "Concerns were not passed to the school and the referral was not sent on to the police.",
    "Her mother's depression and cannabis use were known to the GP but not to the school.",
]
SECTIONS = ["analysis", "findings", "analysis", None, "recommendations", None, "chronology", None]


@pytest.fixture(scope="module")
def tagger() -> RuleTagger:
    return RuleTagger()


def test_batches_of_any_size_give_the_same_mentions(tagger):
    texts, sections = TEXTS * 3, SECTIONS * 3
    whole = tagger.predict_mentions(texts, sections)
    one_by_one = RuleTagger(batch_size=1).predict_mentions(texts, sections)
    pd.testing.assert_frame_equal(whole, one_by_one)
    assert len(whole) > 10


def test_a_phrase_never_spans_two_texts(tagger):
    # Laid end to end in one batch, the last word of one text and the first of the next are
    # neighbours in the arrays; no phrase, pattern or sentence may join them.
    split = tagger.predict_mentions(
        ["The mother described domestic", "abuse in her last relationship"]
    )
    assert "domestic_abuse" not in set(split.theme_id)
    joined = tagger.predict_mentions(
        ["The mother described domestic abuse in her last relationship"]
    )
    assert "domestic_abuse" in set(joined.theme_id)


def test_a_sentence_without_final_punctuation_ends_with_its_text(tagger):
    frame = tagger.predict_mentions(["No evidence of neglect", "Domestic abuse was evident."])
    assert frame.set_index("theme_id").loc["neglect", "sentence"] == "No evidence of neglect"
    assert frame.set_index("theme_id").loc["neglect", "polarity"] == "absent"
    assert frame.set_index("theme_id").loc["domestic_abuse", "polarity"] == "concern"


def test_the_component_finds_the_same_matches_as_the_batch(tagger):
    nlp, _ = tagger._pipeline()
    matcher = nlp.get_pipe("themes_rule_matcher")
    tokens, (key, start, end) = matcher.match(nlp.tokenizer.pipe(TEXTS))
    for d, text in enumerate(TEXTS):
        offset = tokens.doc_start[d]
        in_doc = (start >= offset) & (start < tokens.doc_start[d + 1])
        batch = {
            (matcher.keys[k], s - offset, e - offset)
            for k, s, e in zip(key[in_doc], start[in_doc], end[in_doc], strict=True)
        }
        assert nlp(text).user_data["themes_matches"] == batch


# The minimal codebook with one theme whose token patterns use "+", "!" and a flag.
PLUS_PATTERN = MINIMAL.replace(
    """    terms: [first phrase, second phrase]
    token_patterns:
      - [{LEMMA: "alpha"}, {OP: "?"}, {LOWER: "beta"}]
""",
    """    terms: [missed visit]
    token_patterns:
      - [{LOWER: "visits"}, {LOWER: "were", OP: "+"}, {LOWER: "missed"}]
      - [{LIKE_NUM: true}, {LOWER: "visits"}, {OP: "?"}, {LOWER: "cancelled"}]
      - [{LOWER: "no"}, {LOWER: "further", OP: "!"}, {LOWER: "visit"}]
""",
)


def test_patterns_with_plus_and_not_operators_are_searched(tmp_path: Path):
    assert PLUS_PATTERN != MINIMAL
    path = tmp_path / "codebook.yaml"
    path.write_text(PLUS_PATTERN, encoding="utf-8")
    tagger = RuleTagger(load_codebook(path, require_contract=False))
    texts = [
        "Visits were were missed in May.",  # "+" repeats
        "Three visits were cancelled.",  # flag first token, optional wildcard
        "There was no home visit.",  # "!" consumes any word but "further"
        "There was no further visit.",
        "No evidence of a missed visit.",
    ]
    frame = tagger.predict_mentions(texts)
    found = {(i, e) for i, e in zip(frame.text_index, frame.evidence, strict=True)}
    assert found == {
        (0, "Visits were were missed"),
        (1, "Three visits were cancelled"),
        (2, "no home visit"),
        (4, "missed visit"),
    }
    assert frame.loc[frame.text_index == 4, "polarity"].tolist() == ["absent"]
    nlp = build_nlp(tagger._pipeline()[1])
    assert ("T|alpha", 0, 4) in nlp(texts[0]).user_data["themes_matches"]


@pytest.fixture(scope="module")
def semicolon_pipeline(tmp_path_factory) -> Path:
    """A saved spaCy pipeline whose sentencizer splits only at semicolons."""
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer", config={"punct_chars": [";"]})
    folder = tmp_path_factory.mktemp("pipeline")
    nlp.to_disk(folder)
    return folder


def test_a_users_pipeline_segments_the_sentences(semicolon_pipeline):
    text = "There was no evidence of neglect. Domestic abuse was reported; the school knew."
    blank = RuleTagger().predict_mentions([text]).set_index("theme_id")
    assert blank.loc["domestic_abuse", "polarity"] == "concern"
    # With the user's pipeline the first sentence runs to the semicolon, so the absence cue
    # reaches domestic abuse: the pipeline's segmentation, not ours, bounds the scope.
    user = RuleTagger(spacy_model=str(semicolon_pipeline)).predict_mentions([text])
    user = user.set_index("theme_id")
    assert user.loc["domestic_abuse", "sentence"] == (
        "There was no evidence of neglect. Domestic abuse was reported;"
    )
    assert user.loc["domestic_abuse", "polarity"] == "absent"
    nlp = build_nlp(base=semicolon_pipeline)
    assert nlp.pipe_names == ["sentencizer", "themes_rule_matcher"]


def test_a_missing_pipeline_is_a_clear_error():
    from themes.errors import ThemesError

    with pytest.raises(ThemesError, match="en_core_web_missing.*could not be loaded"):
        RuleTagger(spacy_model="en_core_web_missing").predict_mentions(["Neglect."])


def test_cli_tag_texts_takes_a_spacy_pipeline(tmp_path, semicolon_pipeline):
    import json

    from themes.cli import main

    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"id": "a", "text": "No evidence of neglect."}) + "\n")
    out = tmp_path / "out.jsonl"
    argv = ["tag-texts", str(source), "-o", str(out), "--method", "rules"]
    assert main([*argv, "--spacy-model", str(semicolon_pipeline)]) == 0
    (record,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert record["themes"] == [] and record["mentions"][0]["polarity"] == "absent"
