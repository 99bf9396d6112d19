"""Tests for the codebook: the packaged YAML, the schema and its error messages."""

from __future__ import annotations

import argparse
import importlib.util
import re
from pathlib import Path

import pytest
import yaml
from codebooks import MINIMAL
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from themes.codebook import (
    CONTRACT_REC_TYPE_IDS,
    CONTRACT_THEME_IDS,
    PATTERN_KEYS,
    Codebook,
    RecommendationType,
    Theme,
    cli_codebook,
    load_codebook,
)
from themes.config import settings as themes_settings
from themes.errors import ThemesError

PACKAGED = themes_settings().codebook_path
LIBRARY_CHECK = Path(__file__).resolve().parents[1] / "src/themes/synthetic/library_check.py"


@pytest.fixture(scope="module")
def codebook() -> Codebook:
    return load_codebook()


@pytest.fixture(scope="module")
def packaged_text() -> str:
    return PACKAGED.read_text(encoding="utf-8")


def _line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based line number of the n-th line containing ``needle``."""
    hits = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    return hits[occurrence - 1]


def _write(tmp_path: Path, text: str, name: str = "codebook.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _load_minimal(tmp_path: Path, text: str = MINIMAL) -> Codebook:
    return load_codebook(_write(tmp_path, text), require_contract=False)


def _error(tmp_path: Path, text: str, **kwargs) -> str:
    kwargs.setdefault("require_contract", False)
    with pytest.raises(ThemesError) as info:
        load_codebook(_write(tmp_path, text), **kwargs)
    message = str(info.value)
    assert "\n" not in message  # one line, fit for the CLI
    return message


# --------------------------------------------------------------------------------------------------
# the packaged codebook


def test_packaged_codebook_loads(codebook):
    assert codebook.name == "safeguarding-themes codebook"
    assert codebook.version == "1.1.0"
    assert [c.version for c in codebook.changelog] == ["1.1.0", "1.0.0"]
    assert codebook.source == PACKAGED
    assert all(isinstance(t, Theme) for t in codebook.themes)
    assert all(isinstance(r, RecommendationType) for r in codebook.recommendation_types)


def test_all_contract_ids_present_in_contract_order(codebook):
    assert codebook.theme_ids == CONTRACT_THEME_IDS
    assert codebook.rec_type_ids == CONTRACT_REC_TYPE_IDS
    assert len(CONTRACT_THEME_IDS) == 35 and len(CONTRACT_REC_TYPE_IDS) == 10


def test_contract_ids_match_the_passage_library_checker():
    spec = importlib.util.spec_from_file_location("library_check", LIBRARY_CHECK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert tuple(module.THEME_IDS) == CONTRACT_THEME_IDS
    assert tuple(module.REC_TYPE_IDS) == CONTRACT_REC_TYPE_IDS


def test_families_split_20_practice_15_characteristic(codebook):
    families = [t.family for t in codebook.themes]
    assert families.count("practice") == 20
    assert families.count("characteristic") == 15


def test_every_theme_has_a_rich_vocabulary(codebook):
    for theme in codebook.themes:
        assert 25 <= len(theme.terms) <= 70, (theme.id, len(theme.terms))
        assert theme.token_patterns, theme.id
        assert theme.references, theme.id
        assert theme.definition.strip(), theme.id
    for rec in codebook.recommendation_types:
        assert len(rec.terms) >= 20, rec.id


def test_packaged_terms_are_lowercase_and_unique(codebook):
    for entry in (*codebook.themes, *codebook.recommendation_types):
        phrases = [*entry.terms, *entry.exclude_terms, *entry.exclude_context]
        assert all(p == p.lower() for p in phrases), entry.id
        assert len(set(entry.terms)) == len(entry.terms), entry.id


def test_every_term_produces_at_least_one_token(codebook):
    spacy = pytest.importorskip("spacy")
    nlp = spacy.blank("en")
    for entry in (*codebook.themes, *codebook.recommendation_types):
        for phrase in (*entry.terms, *entry.exclude_terms, *entry.exclude_context):
            doc = nlp.make_doc(phrase)
            assert [t for t in doc if not t.is_space], (entry.id, phrase)


def test_spacy_accepts_every_term_and_token_pattern(codebook):
    spacy = pytest.importorskip("spacy")
    from spacy.matcher import Matcher, PhraseMatcher

    nlp = spacy.blank("en")
    phrases = PhraseMatcher(nlp.vocab, attr="LOWER")
    patterns = Matcher(nlp.vocab)
    for entry in (*codebook.themes, *codebook.recommendation_types):
        phrases.add(entry.id, [nlp.make_doc(t) for t in entry.terms])
        phrases.add(f"{entry.id}:exclude", [nlp.make_doc(t) for t in entry.exclude_terms])
        if entry.token_patterns:
            patterns.add(entry.id, entry.token_patterns)
        if entry.exclude_patterns:
            patterns.add(f"{entry.id}:exclude", entry.exclude_patterns)
        for subcode in getattr(entry, "subcodes", []):
            phrases.add(f"{entry.id}:{subcode.id}", [nlp.make_doc(t) for t in subcode.terms])
    # Run the patterns the way the tagger will: lookup lemmas, lowercased.
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()
    doc = nlp("Information was not shared with the GP and the father was not assessed.")
    for token in doc:
        token.lemma_ = token.lemma_.lower()
    found = {nlp.vocab.strings[match_id] for match_id, _, _ in patterns(doc)}
    assert "information_sharing" in found
    assert "unseen_men_fathers" in found
    assert phrases(nlp("There was disguised compliance and domestic abuse."))


def test_token_patterns_use_only_allowed_keys(codebook):
    for entry in (*codebook.themes, *codebook.recommendation_types):
        for pattern in (*entry.token_patterns, *entry.exclude_patterns):
            for token in pattern:
                assert set(token) <= PATTERN_KEYS, (entry.id, token)


@pytest.mark.parametrize(
    ("theme_id", "generic"),
    [
        ("poverty_housing_deprivation", {"poor", "poorly", "poorer"}),
        ("professional_curiosity_challenge", {"challenge", "challenging", "challenges"}),
        ("escalation_professional_disagreement", {"escalating", "escalate", "escalated"}),
        ("neglect", {"supervision", "supervisory", "neglected to"}),
        ("supervision_management_oversight", {"supervised", "supervision order"}),
        ("online_harm", {"online", "virtual"}),
        ("culture_ethnicity_faith_language", {"culture"}),
        ("early_help", {"early", "early years"}),
        ("record_keeping_chronology", {"record", "recorded", "recording"}),
        ("exploitation_extrafamilial_harm", {"exploit", "exploited", "missing"}),
        ("looked_after_care", {"care", "looked after"}),
        ("covid_19", {"restrictions", "delayed"}),
        ("disability_complex_health", {"send"}),
    ],
)
def test_confusable_generic_words_are_not_terms(codebook, theme_id, generic):
    terms = set(codebook.by_id(theme_id).terms)
    assert not terms & generic


def test_no_theme_uses_words_that_fire_everywhere(codebook):
    everywhere = {"care", "family", "history", "support", "poor", "risk", "online", "staff"}
    everywhere |= {"father", "mother", "child", "home", "school", "concern", "assessed"}
    for theme in codebook.themes:
        assert not set(theme.terms) & everywhere, theme.id


def test_confusions_are_encoded_as_exclusions(codebook):
    def excluded(theme_id: str) -> str:
        theme = codebook.by_id(theme_id)
        return " | ".join([*theme.exclude_terms, *theme.exclude_context])

    assert "poor practice" in excluded("poverty_housing_deprivation")
    assert "challenging behaviour" in excluded("professional_curiosity_challenge")
    assert "escalating violence" in excluded("escalation_professional_disagreement")
    assert "supervision order" in excluded("supervision_management_oversight")
    assert "supervised contact" in excluded("supervision_management_oversight")
    assert "criteria for a serious case review" in excluded("thresholds_access_to_services")
    assert "delayed by the pandemic" in excluded("covid_19")
    assert "video-recorded interview" in excluded("record_keeping_chronology")
    assert "criminal record" in excluded("record_keeping_chronology")
    assert "neglected to" in excluded("neglect")
    assert "exploit an opportunity" in excluded("exploitation_extrafamilial_harm")
    assert "early years" in excluded("early_help")
    assert "organisational culture" in excluded("culture_ethnicity_faith_language")
    assert "engagement of the family in the review" in excluded(
        "parental_engagement_disguised_compliance"
    )
    assert "online referral" in excluded("online_harm")
    assert "virtual meeting" in excluded("online_harm")
    assert codebook.by_id("looked_after_care").exclude_patterns


def test_section_policy_and_polarity_cues(codebook):
    assert set(codebook.section_policy.never_tag) == {
        "contents",
        "glossary",
        "references",
        "front_matter",
    }
    assert codebook.section_policy.flag_only == ["terms_of_reference"]
    cues = codebook.polarity_cues
    assert "no evidence of" in cues.absent and "there was no" in cues.absent
    assert "promptly" in cues.good_practice and "failed to" in cues.concern
    assert cues.hedge


def test_by_id_finds_themes_and_rec_types_and_suggests_close_ids(codebook):
    assert codebook.by_id("neglect").family == "characteristic"
    assert codebook.by_id("rec_audit_assurance").higher_class == "professional_action"
    with pytest.raises(ThemesError, match="did you mean neglect"):
        codebook.by_id("neglct")


def test_to_frame_columns(codebook):
    frame = codebook.to_frame()
    assert list(frame.columns)[:4] == ["id", "label", "kind", "family"]
    assert {"n_terms", "n_token_patterns", "n_exclusions", "higher_class"} <= set(frame.columns)
    assert len(frame) == 45
    themes = frame[frame.kind == "theme"]
    assert themes.id.tolist() == list(CONTRACT_THEME_IDS)
    assert set(themes.family) == {"practice", "characteristic"}
    assert (frame.n_terms > 0).all()


# --------------------------------------------------------------------------------------------------
# checksum and user codebooks


def test_checksum_is_stable_across_loads_and_formatting(tmp_path, codebook, packaged_text):
    assert re.fullmatch(r"[0-9a-f]{64}", codebook.checksum)
    assert load_codebook().checksum == codebook.checksum
    # Comments and blank lines do not change the canonical content.
    reformatted = "# a user comment\n\n" + packaged_text.replace("\nthemes:\n", "\n\nthemes:\n")
    assert load_codebook(_write(tmp_path, reformatted)).checksum == codebook.checksum
    # A vocabulary change does.
    changed = packaged_text.replace("terms: [information sharing,", "terms: [info sharing,", 1)
    assert load_codebook(_write(tmp_path, changed, "changed.yaml")).checksum != codebook.checksum


def test_user_codebook_may_add_a_theme(tmp_path, packaged_text):
    extra = packaged_text.replace(
        "\nrecommendation_types:\n",
        "\n  - id: gambling_harm\n"
        "    label: Parental gambling\n"
        "    family: characteristic\n"
        "    definition: Problem gambling by a parent or carer.\n"
        "    terms: [gambling, gambling debts, online betting]\n"
        "\nrecommendation_types:\n",
        1,
    )
    user = load_codebook(_write(tmp_path, extra))
    assert user.theme_ids[-1] == "gambling_harm"
    assert len(user.themes) == 36
    assert user.by_id("gambling_harm").token_patterns == []
    assert user.checksum != load_codebook().checksum


def test_missing_contract_id_is_an_error_unless_not_required(tmp_path):
    message = _error(tmp_path, MINIMAL, require_contract=True)
    assert "codebook.yaml:12:" in message
    assert "missing contract id" in message and "information_sharing" in message
    assert _load_minimal(tmp_path).theme_ids == ("alpha", "gamma")


def test_minimal_codebook_loads(tmp_path):
    tiny = _load_minimal(tmp_path)
    assert tiny.version == "0.1.0"
    assert tiny.by_id("alpha").token_patterns == [
        [{"LEMMA": "alpha"}, {"OP": "?"}, {"LOWER": "beta"}]
    ]
    assert tiny.by_id("rec_delta").higher_class == "resource"


# --------------------------------------------------------------------------------------------------
# broken codebooks: the error names the file and the line


def test_missing_field_names_the_line_of_the_entry(tmp_path):
    text = MINIMAL.replace("    definition: The second theme.\n", "")
    message = _error(tmp_path, text)
    assert f"codebook.yaml:{_line_of(text, '- id: gamma')}:" in message
    assert "themes[1] (id 'gamma') field 'definition'" in message
    assert "required field is missing" in message


def test_duplicate_id_names_the_line_of_the_second(tmp_path):
    text = MINIMAL.replace("- id: gamma", "- id: alpha")
    message = _error(tmp_path, text)
    assert f"codebook.yaml:{_line_of(text, '- id: alpha', 2)}:" in message
    assert "duplicate id 'alpha'" in message
    assert f"first defined on line {_line_of(text, '- id: alpha')}" in message


def test_duplicate_id_in_the_packaged_codebook_copy(tmp_path, packaged_text):
    text = packaged_text.replace("- id: voice_of_child", "- id: information_sharing", 1)
    message = _error(tmp_path, text, require_contract=True)
    assert f":{_line_of(text, '- id: information_sharing', 2)}:" in message
    assert "duplicate id 'information_sharing'" in message


def test_bad_family_names_the_line_of_the_field(tmp_path):
    text = MINIMAL.replace("family: characteristic", "family: risk_factor")
    message = _error(tmp_path, text)
    assert f"codebook.yaml:{_line_of(text, 'family: risk_factor')}:" in message
    assert "field 'family'" in message and "'risk_factor'" in message


def test_unknown_pattern_key_names_the_line_of_the_pattern(tmp_path):
    text = MINIMAL.replace('{LOWER: "beta"}', '{POS: "NOUN"}')
    message = _error(tmp_path, text)
    assert f"codebook.yaml:{_line_of(text, 'POS')}:" in message
    assert "'POS' is not allowed" in message


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('{LOWER: "beta"}', '{LOWER: "Beta"}', "must be lowercase"),
        ('{LOWER: "beta"}', '{LOWER: "self-harm"}', "hyphenated"),
        ('{LOWER: "beta"}', "{LOWER: no}", "must be a string"),
        ('{LOWER: "beta"}', '{LOWER: {IN: ["beta", 47]}}', "must be strings"),
        ('{LOWER: "beta"}', '{LOWER: {REGEX: "b.*"}}', "IN/NOT_IN"),
        ('{LOWER: "beta"}', '{LOWER: "beta", OP: "?"}', "first and last tokens"),
        ('{OP: "?"}', '{OP: "*"}, {OP: "*"}', "at most one OP '*'"),
        ('{OP: "?"}', '{OP: "{2}"}', "OP must be one of"),
        ('{OP: "?"}', '{IS_PUNCT: "yes"}', "true or false"),
    ],
)
def test_bad_token_patterns_are_rejected(tmp_path, old, new, expected):
    text = MINIMAL.replace(old, new)
    message = _error(tmp_path, text)
    assert f"codebook.yaml:{_line_of(text, '- [{LEMMA')}:" in message
    assert expected in message


@pytest.mark.parametrize(
    ("old", "new", "line_marker", "expected"),
    [
        ("terms: [third phrase]", 'terms: [third phrase, "  "]', "third phrase", "empty phrase"),
        ("terms: [third phrase]", "terms: []", "terms: []", "at least 1 item"),
        ("terms: [third phrase]", "terms: [third phrase, Third Phrase]", "Third", "duplicate"),
        ('version: "0.1.0"', "version: 1.0", "version: 1.0", "valid string"),
        ('version: "0.1.0"', 'version: "v1"', 'version: "v1"', "MAJOR.MINOR.PATCH"),
        ("higher_class: resource", "higher_class: money", "higher_class", "higher_class"),
        ("    label: Gamma\n", "    label: Gamma\n    lable: typo\n", "lable", "unknown field"),
        ("never_tag: [glossary]", "never_tag: [glossary, biblio]", "biblio", "glossary"),
        ("- id: gamma", "- id: Gamma-Theme", "Gamma-Theme", "lower_snake_case"),
    ],
)
def test_schema_errors_name_line_and_problem(tmp_path, old, new, line_marker, expected):
    text = MINIMAL.replace(old, new)
    assert text != MINIMAL
    message = _error(tmp_path, text)
    assert f"codebook.yaml:{_line_of(text, line_marker)}:" in message
    assert expected in message


def test_repeated_mapping_key_is_an_error(tmp_path):
    text = MINIMAL.replace("    label: Alpha\n", "    label: Alpha\n    label: Again\n")
    message = _error(tmp_path, text)
    assert f"codebook.yaml:{_line_of(text, 'label: Again')}:" in message
    assert "'label' appears twice" in message


def test_yaml_syntax_error_names_the_line(tmp_path):
    text = MINIMAL.replace("terms: [third phrase]", "terms: [third phrase")
    message = _error(tmp_path, text)
    assert re.search(r"codebook\.yaml:\d+: not valid YAML", message)


def test_missing_file_and_wrong_top_level(tmp_path):
    with pytest.raises(ThemesError, match="not found"):
        load_codebook(tmp_path / "nowhere.yaml")
    assert "must be a YAML mapping" in _error(tmp_path, "- just\n- a list\n")
    assert "must be a YAML mapping" in _error(tmp_path, "")


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=8),
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(st.text(max_size=8), children, max_size=3)
        ),
        max_leaves=12,
    )
)
def test_any_yaml_value_gives_a_codebook_or_a_themes_error(tmp_path, value):
    path = _write(tmp_path, yaml.safe_dump({"themes": value, "name": value}), "fuzz.yaml")
    with pytest.raises(ThemesError):
        load_codebook(path)


# --------------------------------------------------------------------------------------------------
# CLI


def test_cli_codebook_table(capsys):
    assert cli_codebook(argparse.Namespace(path=None, format="table")) == 0
    out = capsys.readouterr().out
    assert "version 1.1.0" in out
    assert "Themes (35: 20 practice, 15 characteristic)" in out
    assert "Recommendation types (10)" in out
    assert "information_sharing" in out and "rec_national_policy" in out
    assert out.rstrip().endswith("valid")


def test_cli_codebook_yaml_round_trips(capsys, tmp_path, codebook):
    assert cli_codebook(argparse.Namespace(path=str(PACKAGED), format="yaml")) == 0
    dumped = capsys.readouterr().out
    assert load_codebook(_write(tmp_path, dumped)).checksum == codebook.checksum


def test_cli_codebook_raises_for_invalid_file(tmp_path):
    path = _write(tmp_path, MINIMAL.replace("family: practice", "family: practise"))
    with pytest.raises(ThemesError, match="family"):
        cli_codebook(argparse.Namespace(path=str(path), format="table"))
