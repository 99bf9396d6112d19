"""Small user codebooks that tests write to disk (YAML text, no contract ids)."""

# A small user codebook (no contract ids) whose line numbers the tests can point at.
MINIMAL = """\
name: tiny codebook
version: "0.1.0"
changelog:
  - {version: "0.1.0", date: "2026-11-26", changes: first}
polarity_cues:
  absent: [no evidence of]
  good_practice: [promptly]
  concern: [failed to]
section_policy:
  never_tag: [glossary]
  flag_only: [terms_of_reference]
themes:
  - id: alpha
    label: Alpha
    family: practice
    definition: The first theme.
    terms: [first phrase, second phrase]
    token_patterns:
      - [{LEMMA: "alpha"}, {OP: "?"}, {LOWER: "beta"}]
  - id: gamma
    label: Gamma
    family: characteristic
    definition: The second theme.
    terms: [third phrase]
recommendation_types:
  - id: rec_delta
    label: Delta
    higher_class: resource
    definition: A recommendation type.
    terms: [fund a post]
"""
