"""Tests for themes.tagging: rules, polarity, section policy, classifier conventions, output."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from themes.errors import ThemesError
from themes.tagging import (
    TARGETS,
    RuleTagger,
    ThemeClassifier,
    build_nlp,
    combine_decisions,
    tag_texts,
)

ROOT = Path(__file__).resolve().parents[1]
MODEL_DIR = ROOT / "models" / "theme-classifier"


@pytest.fixture(scope="session")
def tagger() -> RuleTagger:
    return RuleTagger()


def mentions_of(tagger: RuleTagger, text: str, section: str | None = None):
    return tagger.predict_mentions([text], [section])


def themes_of(tagger: RuleTagger, text: str, section: str | None = None) -> set[str]:
    frame = mentions_of(tagger, text, section)
    return set(frame.loc[frame["counted"], "theme_id"])


# ---- polarity


def test_stated_absence_is_absent(tagger):
    frame = mentions_of(tagger, "There was no evidence of domestic abuse.")
    row = frame[frame.theme_id == "domestic_abuse"]
    assert row.polarity.tolist() == ["absent"]


def test_absence_cue_does_not_cross_a_clause_break(tagger):
    frame = mentions_of(
        tagger, "There was no evidence of drug use, but domestic abuse was a constant feature."
    )
    assert frame.loc[frame.theme_id == "domestic_abuse", "polarity"].tolist() == ["concern"]


@pytest.mark.parametrize(
    ("text", "theme"),
    [
        ("Domestic abuse was not a feature of this case.", "domestic_abuse"),
        ("Oversight by managers was not a factor here.", "supervision_management_oversight"),
        (
            "Parental substance misuse was not identified by any agency.",
            "parental_substance_misuse",
        ),
    ],
)
def test_stated_absence_after_the_theme_is_absent(tagger, text, theme):
    frame = mentions_of(tagger, text)
    assert frame.loc[frame.theme_id == theme, "polarity"].tolist() == ["absent"]


def test_absence_after_the_theme_stays_in_its_clause_and_window(tagger):
    clause = mentions_of(tagger, "Domestic abuse was frequent; drug use was not a factor.")
    assert clause.loc[clause.theme_id == "domestic_abuse", "polarity"].tolist() == ["concern"]
    far = mentions_of(
        tagger,
        "Domestic abuse shaped every part of the children's lives over many years and, by the "
        "review's end, the school's role was not a factor.",
    )
    assert far.loc[far.theme_id == "domestic_abuse", "polarity"].tolist() == ["concern"]


def test_codebook_phrases_always_match_as_written():
    import spacy

    from themes.tagging import _RuleMatcher

    nlp = spacy.blank("en")
    # "was" has a dozen lookup forms: the inflected variants must not crowd out the phrase itself
    variants = _RuleMatcher(nlp.vocab)._variants(nlp, "information was not shared", True)
    assert variants[0] == ["information", "was", "not", "shared"]
    assert len(variants) <= _RuleMatcher.max_variants


def test_good_practice_polarity(tagger):
    frame = mentions_of(tagger, "Information sharing between the school and the GP was prompt.")
    row = frame[frame.theme_id == "information_sharing"]
    assert row.polarity.tolist() == ["good_practice"]


def test_deficit_is_concern(tagger):
    frame = mentions_of(tagger, "Information was not shared with the health visitor.")
    assert frame.loc[frame.theme_id == "information_sharing", "polarity"].tolist() == ["concern"]


# ---- confusions from the codebook


def test_challenging_behaviour_is_not_curiosity(tagger):
    text = "At school he showed challenging behaviour and was often sent out of class."
    assert "professional_curiosity_challenge" not in themes_of(tagger, text)


def test_poor_practice_is_not_poverty(tagger):
    assert "poverty_housing_deprivation" not in themes_of(tagger, "This was poor practice.")


def test_lack_of_supervision_of_a_child_is_neglect(tagger):
    text = "There was a lack of supervision of the children, who were often left alone at night."
    found = themes_of(tagger, text)
    assert "neglect" in found
    assert "supervision_management_oversight" not in found


def test_escalating_violence_is_not_escalation(tagger):
    text = "The police recorded escalating violence between the couple over the summer."
    assert "escalation_professional_disagreement" not in themes_of(tagger, text)


# ---- section policy and offsets


def test_glossary_is_never_tagged(tagger):
    text = "MASH: the multi-agency safeguarding hub, where information sharing takes place."
    assert mentions_of(tagger, text, "glossary").empty


def test_terms_of_reference_flagged_not_counted(tagger):
    text = "How effective was information sharing between agencies?"
    frame = mentions_of(tagger, text, "terms_of_reference")
    assert not frame.empty
    assert not frame["counted"].any()


def test_evidence_offsets_slice_the_text(tagger):
    texts = [
        "Domestic abuse was known to the police. The GP was not informed of the referral.",
        "Mother's heroin use and the father's alcohol misuse were not explored.",
    ]
    frame = tagger.predict_mentions(texts)
    assert len(frame) >= 2
    for row in frame.itertuples():
        assert texts[row.text_index][row.start : row.end] == row.evidence
        assert row.evidence in row.sentence


def test_recommendation_types_only_in_recommendation_sections(tagger):
    text = "The partnership should commission multi-agency training on disguised compliance."
    recs = tagger.predict_mentions([text], ["recommendations"])
    assert set(recs.loc[recs.counted, "kind"]) == {"rec_type"}
    body = tagger.predict_mentions([text], ["analysis"])
    assert "rec_type" not in set(body.kind)


def test_build_nlp_is_one_pipeline():
    nlp = build_nlp()
    doc = nlp("Concerns were not shared with the school.")
    assert doc.user_data["themes_matches"]


# ---- paraphrases written for these tests (not from the passage library)

PARAPHRASES = [
    (
        "Nobody told the school nurse that the family had been referred to children's services.",
        "information_sharing",
    ),
    (
        "Police attended after neighbours heard the stepfather assaulting the mother in front of "
        "the children.",
        "domestic_abuse",
    ),
    (
        "The mother's cannabis use increased after the birth and she was drinking heavily by the "
        "spring.",
        "parental_substance_misuse",
    ),
    (
        "Her depression had worsened and she had stopped taking the antidepressants prescribed by "
        "her GP.",
        "parental_mental_health",
    ),
    (
        "The home was found to be filthy, with no food in the cupboards and the baby in a soiled "
        "nappy.",
        "neglect",
    ),
    (
        "The infant was found unresponsive after co-sleeping with his father on the sofa.",
        "sudi_unsafe_sleep",
    ),
    (
        "The boy was being used by older youths to run drugs across county lines.",
        "exploitation_extrafamilial_harm",
    ),
    (
        "The family moved to a neighbouring authority and the case was transferred without a "
        "handover meeting.",
        "moves_transfer_cross_boundary",
    ),
    (
        "Three paediatric appointments were missed and the child was not brought to the dental "
        "clinic.",
        "was_not_brought_missed_contact",
    ),
    (
        "The social worker held a caseload of over thirty children and there were several "
        "vacancies in the team.",
        "workload_staffing_organisational_context",
    ),
    ("During lockdown contact with the family was by telephone only.", "covid_19"),
    (
        "The mother's new partner was never assessed, and practitioners knew little about him.",
        "unseen_men_fathers",
    ),
]


@pytest.mark.parametrize(("text", "theme"), PARAPHRASES)
def test_rules_tag_fresh_paraphrases(tagger, text, theme):
    assert theme in themes_of(tagger, text, "analysis")


# ---- classifier conventions


TOY_TEXTS = [
    "lockdown meant the school closed",
    "the pandemic stopped home visits",
    "the house was dirty and the child hungry",
    "no food in the home and dirty clothes",
] * 3
TOY_LABELS = [["covid_19"], ["covid_19"], ["neglect"], ["neglect"]] * 3


def test_classifier_follows_sklearn_conventions():
    clf = ThemeClassifier(labels=["covid_19", "neglect"], C=5.0, random_state=3)
    assert clf.get_params()["C"] == 5.0
    assert clone(clf).get_params() == clf.get_params()
    with pytest.raises(NotFittedError):
        clf.predict(["lockdown"])
    assert clf.fit(TOY_TEXTS, TOY_LABELS) is clf
    assert clf.classes_ == ["covid_19", "neglect"]
    proba = clf.predict_proba(["school closed in the pandemic lockdown"])
    assert proba.shape == (1, 2)
    assert proba[0, 0] > proba[0, 1]
    assert clf.predict(["dirty house no food"]).tolist() == [[0, 1]]
    assert not hasattr(clone(clf), "estimators_")


def test_classifier_tunes_thresholds_on_dev():
    clf = ThemeClassifier(labels=["covid_19", "neglect"]).fit(
        TOY_TEXTS, TOY_LABELS, X_dev=TOY_TEXTS[:4], Y_dev=TOY_LABELS[:4]
    )
    assert len(clf.thresholds_) == 2
    assert all(0 < t < 1 for t in clf.thresholds_)


def test_combine_decisions_trusted_or_rule():
    rules = [{"covid_19": "concern", "risk_assessment_decision_making": "concern"}]
    rules.append({"domestic_abuse": "absent"})
    merged = combine_decisions(
        rules, [["neglect"], []], None, rule="trusted_or", trusted=["covid_19"]
    )
    # trusted theme added, untrusted rule theme left to the classifier, stated absence kept
    assert merged == [{"covid_19": "concern", "neglect": "concern"}, {"domestic_abuse": "absent"}]
    with pytest.raises(ThemesError, match="unknown combination rule"):
        combine_decisions(rules, [[], []], rule="and")


def test_long_texts_are_scored_in_sentence_windows():
    filler = "The family lived in a terraced house near the park. " * 6
    long_text = filler + "During lockdown the school closed. " + filler
    windowed = ThemeClassifier(labels=["covid_19", "neglect"], embeddings=False).fit(
        TOY_TEXTS, TOY_LABELS
    )
    whole = clone(windowed).set_params(window_sentences=None).fit(TOY_TEXTS, TOY_LABELS)
    assert windowed.predict_proba([long_text])[0, 0] > whole.predict_proba([long_text])[0, 0]
    # short passages are scored exactly as before
    short = ["During lockdown the school closed."]
    assert np.allclose(windowed.predict_proba(short), whole.predict_proba(short))


def test_windows_keep_each_text_s_owner():
    from themes.tagging import _with_windows

    texts = ["One. Two. Three.", "A. B. C. D. E."]
    scored, owner = _with_windows(texts, 2, 5)
    assert scored[:2] == texts
    assert scored[2:] == ["A. B.", "B. C.", "C. D.", "D. E."]
    assert owner.tolist() == [0, 1, 1, 1, 1, 1]
    assert _with_windows(texts, None, 5)[0] == texts


def test_combine_decisions_or_rule():
    merged = combine_decisions(
        [{"neglect": "absent"}], [["covid_19"]], [{"covid_19": "good_practice"}]
    )
    assert merged == [{"covid_19": "good_practice", "neglect": "absent"}]


# ---- tag_texts


def test_tag_texts_rules_output_shape():
    out = tag_texts(
        [
            {"id": "p1", "text": "There was no evidence of domestic abuse."},
            {
                "id": "p2",
                "text": "Information was not shared with the GP.",
                "section_type": "analysis",
            },
            "Mother's alcohol misuse was well known to services.",
        ],
        method="rules",
    )
    assert [o["id"] for o in out] == ["p1", "p2", 2]
    assert out[0]["themes"] == []
    assert out[0]["mentions"][0]["polarity"] == "absent"
    assert "information_sharing" in out[1]["themes"]
    for item in out:
        assert set(item) == {"id", "themes", "mentions"}
        for m in item["mentions"]:
            assert set(m) == {"theme_id", "polarity", "evidence", "start", "end"}


# ---- the saved model


def test_saved_model_meets_issue_targets():
    metrics_path = MODEL_DIR / "metrics.json"
    if not metrics_path.exists():
        pytest.skip(f"no trained model at {MODEL_DIR}; run themes.tagging.train()")
    from themes.tagging import load_models

    models = load_models(MODEL_DIR)
    metrics = json.loads(metrics_path.read_text())
    assert models["themes"].predict_proba(["domestic abuse"]).shape[1] == 35
    combined = metrics["test"]["combined"]
    missed = {
        name: (combined[name], target)
        for name, target in TARGETS.items()
        if not np.isnan(combined[name]) and combined[name] < target
    }
    if missed:
        pytest.xfail(f"issue 5 targets not met on the test split (value, target): {missed}")


# ---- embeddings, evidence, persistence and the CLI helpers


def test_static_embedding_features_shape():
    from themes.tagging import StaticEmbeddingFeatures

    feats = StaticEmbeddingFeatures(pooling=("mean", "max")).fit()
    out = feats.transform(["One sentence. Another one!", "", "Only one"])
    assert out.shape == (3, 2 * feats.dim_)
    assert out.dtype == np.float32
    assert np.isfinite(out).all()


def test_static_embeddings_start_no_worker_processes(monkeypatch):
    # Parallelism belongs to the caller's n_jobs; model2vec would start a pool past 10k sentences.
    from themes.tagging import StaticEmbeddingFeatures

    feats = StaticEmbeddingFeatures(pooling=("mean",)).fit()
    model = feats._model()
    calls = []
    original = model.encode

    def spy(sentences, **kwargs):
        calls.append(kwargs)
        return original(sentences, **kwargs)

    monkeypatch.setattr(model, "encode", spy)
    feats.transform(["One sentence. Another one."])
    assert calls and all(call.get("use_multiprocessing") is False for call in calls)


def test_evidence_terms_are_words_of_the_text():
    clf = ThemeClassifier(labels=["covid_19", "neglect"], embeddings=False).fit(
        TOY_TEXTS, TOY_LABELS
    )
    text = "the school closed during lockdown"
    terms = clf.evidence_terms(text, "covid_19", k=2)
    assert 0 < len(terms) <= 2
    assert all(term in text for term in terms)
    with pytest.raises(ThemesError):
        clf.evidence_terms(text, "not_a_theme")


def test_classifier_round_trips_through_skops(tmp_path):
    import skops.io as sio

    from themes.tagging import _skops_load

    clf = ThemeClassifier(labels=["covid_19", "neglect"]).fit(TOY_TEXTS, TOY_LABELS)
    sio.dump(clf, tmp_path / "m.skops")
    loaded = _skops_load(tmp_path / "m.skops")
    assert clf.coef_.dtype == np.float32
    np.testing.assert_allclose(loaded.predict_proba(TOY_TEXTS), clf.predict_proba(TOY_TEXTS))


def test_cli_tag_texts_names_the_bad_line(tmp_path):
    from argparse import Namespace

    from themes.tagging import cli_tag_texts

    good = tmp_path / "in.jsonl"
    good.write_text('{"id": "a", "text": "There was no evidence of domestic abuse."}\n\n')
    out = tmp_path / "out.jsonl"
    cli_tag_texts(Namespace(input=str(good), out=str(out), method="rules", codebook=None))
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows[0]["id"] == "a"
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1, "text": "fine"}\n{not json\n')
    with pytest.raises(ThemesError, match="line 2"):
        cli_tag_texts(Namespace(input=str(bad), out=str(out), method="rules", codebook=None))


def test_saved_model_is_small():
    if not (MODEL_DIR / "themes.skops").exists():
        pytest.skip(f"no trained model at {MODEL_DIR}")
    total = sum(p.stat().st_size for p in MODEL_DIR.iterdir() if p.is_file())
    assert total <= 15 * 1024 * 1024


def test_long_texts_take_polarity_from_the_rule_mention():
    from themes.tagging import decide_texts

    summary = (
        "Child K was four when she was admitted to hospital. She lived with her mother and two "
        "brothers. The family had moved twice in a year. Her nursery attendance was poor. There "
        "was no evidence of domestic abuse in the household. The health visitor had not seen her "
        "for a year."
    )
    (decision,) = decide_texts([summary], method="combined", model_dir=MODEL_DIR)
    assert decision["domestic_abuse"] == "absent"
    assert "domestic_abuse" not in tag_texts([summary], model_dir=MODEL_DIR)[0]["themes"]
