"""The ``themes`` command line.

Each subcommand is a thin wrapper over a library function, so everything the CLI does can also be
done from Python. User mistakes print one line (``themes: error: ...``) and exit with status 2; a
run that finishes but with recorded per-file problems exits 0 unless ``--strict`` is given.
"""

from __future__ import annotations

import argparse
import logging
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path

from themes import __version__
from themes.config import settings
from themes.errors import ThemesError

log = logging.getLogger("themes")

EXIT_USER_ERROR = 2
EXIT_PARTIAL = 3


class _Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, no usage dump: the message names the option
        self.exit(EXIT_USER_ERROR, f"themes: error: {message} (see '{self.prog} --help')\n")


def _examples(*lines: str) -> str:
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


# --------------------------------------------------------------------------------------------------
# handlers: each takes the parsed namespace and returns an exit status


def _cmd_synth(args: argparse.Namespace) -> int:
    from themes import synthetic

    out = Path(args.out)
    if args.bundled:
        written = synthetic.build_bundled_corpus(out, seed=args.seed)
    else:
        written = synthetic.build_corpus(
            out,
            n_reviews=args.reviews,
            seed=args.seed,
            formats=args.formats,
            target_pages=args.pages,
            n_jobs=args.n_jobs,
        )
    print(f"Wrote {len(written)} documents and manifest.csv to {out}")
    return 0


def _cmd_ingest(args: argparse.Namespace) -> int:
    from themes.corpus import load_corpus

    corpus = load_corpus(
        args.source,
        manifest=args.manifest,
        n_jobs=args.n_jobs,
        cache_dir=None if args.no_cache else "default",
    )
    out = corpus.save(args.out)
    n_err = int((corpus.errors["error_type"] != "warning").sum()) if len(corpus.errors) else 0
    print(
        f"Loaded {len(corpus.reports)} reports ({corpus.reports['review_id'].nunique()} reviews), "
        f"{len(corpus.passages)} passages, {len(corpus.recommendations)} recommendations; "
        f"{n_err} file problem(s). Tables written to {out}"
    )
    for row in corpus.errors.itertuples(index=False):
        if row.error_type != "warning":
            print(f"  problem: {row.source_file}: {row.message}", file=sys.stderr)
    if corpus.reports.empty:
        raise ThemesError(f"{args.source}: no report could be loaded (see the problems above)")
    return EXIT_PARTIAL if (args.strict and n_err) else 0


def _cmd_run(args: argparse.Namespace) -> int:
    from themes.pipeline import RunConfig, run_pipeline

    source = args.source or str(settings().corpus_dir)
    config = RunConfig(
        source=source,
        out=args.out or str(settings().output_dir / "demo"),
        manifest=args.manifest,
        codebook=args.codebook,
        method=args.method,
        spacy_model=args.spacy_model,
        n_jobs=args.n_jobs,
        cache=not args.no_cache,
        backend=args.backend,
        scheduler=args.scheduler,
        topics=args.topics,
        topic_backend=args.topic_backend,
    )
    result = run_pipeline(config)
    reports = result.corpus.reports
    bad = (
        int((result.corpus.errors["error_type"] != "warning").sum())
        if len(result.corpus.errors)
        else 0
    )
    print(
        f"Analysed {reports['review_id'].nunique()} reviews ({len(reports)} documents); "
        f"{bad} file problem(s) recorded in {result.outputs['errors']}."
    )
    for stage, why in result.skipped.items():
        print(f"  not run: {stage} ({why})")
    if result.reused:
        print(
            f"  reused from the cache (inputs unchanged): {', '.join(result.reused)}; "
            "--no-cache recomputes"
        )
    print(f"Tables:  {Path(result.outputs['reports']).parent.resolve()}")
    if "trends" in result.outputs:
        print(f"Trends:  {Path(result.outputs['trends']).resolve()}")
    if "topics" in result.outputs:
        print(f"Topics:  {Path(result.outputs['topics']).resolve()}")
    print(f"Run manifest: {Path(result.outputs['run_manifest']).resolve()}")
    if reports.empty:
        raise ThemesError(f"{source}: no report could be loaded")
    print(f"Thematic summary: {result.summary_html.resolve()}")
    return EXIT_PARTIAL if (args.strict and bad) else 0


def _read_stage_inputs(folder: str):
    """Read the loader tables (and tagging tables if present) from a run or ingest folder."""
    from themes.corpus import Corpus

    base = Path(folder)
    tables = base / "tables" if (base / "tables").is_dir() else base
    corpus = Corpus.read(tables)
    return base, tables, corpus


def _read_tagged(tables: Path, method: str = "combined"):
    import pandas as pd

    from themes.codebook import load_codebook
    from themes.corpus_tagging import TaggedCorpus

    needed = ["mentions", "report_themes", "recommendations_tagged"]
    missing = [n for n in needed if not (tables / f"{n}.parquet").is_file()]
    if missing:
        raise ThemesError(
            f"{tables}: no tagging tables ({', '.join(missing)}); run 'themes tag' first"
        )
    frames = [pd.read_parquet(tables / f"{n}.parquet") for n in needed]
    return TaggedCorpus(*frames, method=method, codebook_version=load_codebook().version)


def _cmd_tag(args: argparse.Namespace) -> int:
    from themes.codebook import load_codebook
    from themes.pipeline import stage_tag

    _, _, corpus = _read_stage_inputs(args.tables)
    out = Path(args.out)
    tagged = stage_tag(
        corpus,
        out,
        method=args.method,
        codebook=load_codebook(args.codebook),
        spacy_model=args.spacy_model,
    )
    present = tagged.report_themes[tagged.report_themes["present"]]
    print(
        f"Tagged {len(corpus.passages)} passages with method '{args.method}': "
        f"{int(tagged.mentions['counted'].sum())} counted mentions, "
        f"{present['theme_id'].nunique()} themes present in at least one report. Tables in {out}"
    )
    return 0


def _cmd_trends(args: argparse.Namespace) -> int:
    from themes.codebook import load_codebook
    from themes.pipeline import stage_trends

    _, tables, corpus = _read_stage_inputs(args.tables)
    tagged = _read_tagged(tables)
    result = stage_trends(corpus, tagged, load_codebook(), Path(args.out))
    moving = result["trend_tests"].query("direction != 'no clear trend'")
    print(
        f"{len(moving)} theme(s) with a clear trend after correction; "
        f"tables and figures in {args.out}"
    )
    return 0


def _cmd_summary(args: argparse.Namespace) -> int:
    from themes.codebook import load_codebook
    from themes.pipeline import stage_summary

    base, tables, corpus = _read_stage_inputs(args.tables)
    tagged = _read_tagged(tables)
    manifest_path = base / "run_manifest.json"
    import json

    manifest = (
        json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.is_file() else {}
    )
    paths = stage_summary(corpus, tagged, load_codebook(), Path(args.out), run_manifest=manifest)
    print(f"Thematic summary: {paths['html'].resolve()}")
    return 0


def _cmd_topics(args: argparse.Namespace) -> int:
    from themes.topics import cli_topics

    return cli_topics(args)


def _cmd_train(args: argparse.Namespace) -> int:
    from themes.corpus_tagging import record_presence_calibration
    from themes.tagging import cli_train

    args.out = args.out or None
    status = cli_train(args)
    corpus = args.corpus or str(settings().corpus_dir)
    scores = record_presence_calibration(corpus, args.out)
    chosen = scores["combined"]
    print(
        f"Presence rule chosen on dev: {chosen['presence_min_passages']} passage(s); "
        f"end-to-end review-level micro-F1 on test {chosen['review_micro_f1']:.3f}"
    )
    return status


def _cmd_evaluate(args: argparse.Namespace) -> int:
    args.out = args.out or None
    if getattr(args, "texts", None):
        from themes.text_eval import cli_evaluate_texts

        return cli_evaluate_texts(args)
    from themes.tagging import cli_evaluate

    return cli_evaluate(args)


def _delegate(module: str, function: str) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        import importlib

        return importlib.import_module(module).__getattribute__(function)(args)

    return handler


def _cmd_export(args: argparse.Namespace) -> int:
    from themes.exports import cli_export

    return cli_export(args)


def _cmd_codebook(args: argparse.Namespace) -> int:
    from themes.codebook import cli_codebook

    return cli_codebook(args)


# --------------------------------------------------------------------------------------------------
# the command table: name -> (one-line help, description, examples, argument builder, handler)


def _add_out(p: argparse.ArgumentParser, default: str | None, what: str) -> None:
    # default "" means "resolved from settings in the handler", never from the current directory
    p.add_argument("--out", "-o", default=default, required=default is None, help=f"{what}")


def _add_spacy_model(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--spacy-model",
        help="installed spaCy pipeline (name or saved folder) under the rule matcher, e.g. "
        "en_core_web_sm; default: blank English (fast; nothing is downloaded)",
    )


def _add_jobs(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--n-jobs",
        type=int,
        default=None,
        help="parallel worker processes (default: THEMES_N_JOBS or 1; -1 uses every core)",
    )


def _args_synth(p):
    _add_out(p, None, "folder to write the generated corpus into")
    p.add_argument("--reviews", type=int, default=100, help="number of fictional reviews")
    p.add_argument("--seed", type=int, default=20261126, help="random seed (same seed, same bytes)")
    p.add_argument(
        "--formats",
        default="pdf",
        help="comma-separated mix of pdf,docx,html,txt,md, or 'mixed' for a PDF-heavy mix",
    )
    p.add_argument(
        "--pages", type=int, default=None, help="aim for about this many pages per report"
    )
    p.add_argument("--bundled", action="store_true", help="build the bundled corpus exactly")
    _add_jobs(p)


def _args_ingest(p):
    p.add_argument("source", help="folder (or single file) of review reports: PDF, DOCX, HTML, TXT")
    _add_out(p, None, "folder for reports/passages/recommendations/errors Parquet tables")
    p.add_argument(
        "--manifest", help="CSV of known metadata, one row per file (overrides extraction)"
    )
    p.add_argument("--strict", action="store_true", help="exit non-zero if any file failed")
    p.add_argument("--no-cache", action="store_true", help="parse every file again")
    _add_jobs(p)


def _args_run(p):
    p.add_argument("source", nargs="?", help="folder of reports (default: the bundled corpus)")
    _add_out(p, "", "folder for every output of the run (default: <output dir>/demo)")
    p.add_argument("--manifest", help="CSV of known metadata (default: the corpus's manifest.csv)")
    p.add_argument("--codebook", help="YAML codebook to use instead of the packaged one")
    p.add_argument("--method", choices=["rules", "classifier", "combined"], default="combined")
    _add_spacy_model(p)
    p.add_argument("--topics", action="store_true", help="also run BERTopic discovery")
    p.add_argument(
        "--topic-backend", default="tfidf-svd.v1", help="embedding back-end for --topics"
    )
    p.add_argument("--strict", action="store_true", help="exit non-zero if any file failed")
    p.add_argument("--backend", choices=["loky", "threading", "dask"], default="loky")
    p.add_argument("--scheduler", help="dask.distributed scheduler address (with --backend dask)")
    p.add_argument(
        "--no-cache",
        action="store_true",
        help="parse every file and recompute every stage (ignore and do not fill the cache)",
    )
    _add_jobs(p)


def _args_tag(p):
    p.add_argument("tables", help="folder written by 'themes ingest'")
    _add_out(p, None, "folder for mentions / report_themes / recommendations tables")
    p.add_argument("--codebook", help="YAML codebook to use instead of the packaged one")
    p.add_argument("--method", choices=["rules", "classifier", "combined"], default="combined")
    _add_spacy_model(p)


def _args_tag_texts(p):
    p.add_argument("input", help='JSON Lines file, one {"id": ..., "text": ...} per line')
    _add_out(p, None, "JSON Lines output, one {id, themes, mentions} per line")
    p.add_argument("--codebook", help="YAML codebook to use instead of the packaged one")
    p.add_argument("--method", choices=["rules", "classifier", "combined"], default="combined")
    _add_spacy_model(p)


def _args_train(p):
    p.add_argument("--corpus", help="corpus folder with annotations/ (default: bundled corpus)")
    _add_out(p, "", "model folder (default: <project>/models/theme-classifier)")
    p.add_argument("--seed", type=int, default=0, help="random_state for the estimators")
    p.add_argument(
        "--no-library-wordings",
        dest="library_wordings",
        action="store_false",
        help="train on the corpus's train split only (use for corpora not built from the "
        "packaged passage library)",
    )
    p.add_argument(
        "--supplement",
        metavar="DIR",
        help="also train on labelled texts (a .jsonl file or folder in the 'themes evaluate "
        "--texts' format), e.g. real passages your team coded by hand",
    )


def _args_evaluate(p):
    p.add_argument("--corpus", help="corpus folder with annotations/ (default: bundled corpus)")
    p.add_argument("--split", choices=["dev", "test"], default="test")
    p.add_argument(
        "--texts",
        help="score against labelled texts instead: a JSON Lines file (or folder of them), one "
        '{"id", "text", "themes": {theme_id: polarity}} per line, e.g. evaluation/fresh',
    )
    _add_out(p, "", "folder for the Markdown and CSV report (default: <output dir>/evaluation)")


def _args_topics(p):
    p.add_argument("tables", help="folder written by 'themes ingest' or 'themes run'")
    _add_out(p, None, "folder for topic tables and figures")
    p.add_argument(
        "--backend",
        default="tfidf-svd.v1",
        help="embedding back-end: tfidf-svd.v1, model2vec.v1, minilm.v1",
    )


def _args_trends(p):
    p.add_argument("tables", help="folder written by 'themes tag' or 'themes run'")
    _add_out(p, None, "folder for trend tables and figures")


def _args_summary(p):
    p.add_argument("tables", help="folder written by 'themes run'")
    _add_out(p, None, "folder for summary.html and summary.md")


def _args_export(p):
    p.add_argument("tables", help="folder written by 'themes run'")
    _add_out(p, None, "output file or folder")
    p.add_argument("--format", choices=["csv", "parquet", "xlsx", "qdpx"], required=True)


def _args_codebook(p):
    p.add_argument("path", nargs="?", help="YAML codebook to validate (default: the packaged one)")
    p.add_argument("--format", choices=["table", "yaml"], default="table")


COMMANDS: dict[str, tuple[str, str, str, Callable, Callable]] = {
    "run": (
        "run the whole pipeline (ingest, tag, trends, summary) on a folder of reports",
        "Runs every stage and writes tables, figures and the thematic summary under --out.",
        _examples(
            "themes run", "themes run ~/reviews --manifest ~/reviews/meta.csv --out build/mine"
        ),
        _args_run,
        _cmd_run,
    ),
    "ingest": (
        "parse a folder of PDF/DOCX/HTML/TXT reports into Parquet tables",
        (
            "Reads every file, cleans and segments it, extracts metadata, and records bad files "
            "in errors."
        ),
        _examples(
            "themes ingest corpus --out build/tables",
            "themes ingest ~/reviews --out build/mine --n-jobs 2",
        ),
        _args_ingest,
        _cmd_ingest,
    ),
    "tag": (
        "tag themes and recommendation types in ingested tables",
        "Applies the codebook rules and the trained classifier; writes mentions and report_themes.",
        _examples("themes tag build/tables --out build/tagged"),
        _args_tag,
        _cmd_tag,
    ),
    "tag-texts": (
        "tag arbitrary texts from a JSON Lines file",
        'Each input line is {"id": ..., "text": ...}; each output line lists themes and mentions.',
        _examples("themes tag-texts summaries.jsonl -o tagged.jsonl"),
        _args_tag_texts,
        _delegate("themes.tagging", "cli_tag_texts"),
    ),
    "train": (
        "train the supervised theme classifier on the gold train split",
        "Fits the classifier on train, tunes thresholds on dev and saves it with a model card.",
        _examples("themes train", "themes train --out models/theme-classifier --seed 0"),
        _args_train,
        _cmd_train,
    ),
    "evaluate": (
        "measure tagging accuracy against the gold labels",
        "Precision, recall, F1 and kappa per theme for rules, classifier and combined, against "
        "the corpus gold split or against your own labelled texts (--texts).",
        _examples(
            "themes evaluate",
            "themes evaluate --split dev --out build/eval-dev",
            "themes evaluate --texts evaluation/fresh",
        ),
        _args_evaluate,
        _cmd_evaluate,
    ),
    "topics": (
        "discover emergent themes with BERTopic",
        "Embeds analysis/findings/lessons passages, clusters them and maps topics to the codebook.",
        _examples("themes topics build/demo --out build/topics --backend model2vec.v1"),
        _args_topics,
        _cmd_topics,
    ),
    "trends": (
        "prevalence over time, trend tests, breakdowns and co-occurrence",
        "Writes tables and figures (PNG and SVG) for theme prevalence by year with intervals.",
        _examples("themes trends build/demo --out build/trends"),
        _args_trends,
        _cmd_trends,
    ),
    "summary": (
        "write the thematic summary (HTML and Markdown)",
        "Builds the report a national panel would publish, with cited verbatim evidence.",
        _examples("themes summary build/demo --out build/summary"),
        _args_summary,
        _cmd_summary,
    ),
    "export": (
        "export tables as CSV, Parquet, Excel or a REFI-QDA project",
        (
            "The .qdpx project opens in NVivo, ATLAS.ti, MAXQDA or QualCoder with every tag "
            "as a coding."
        ),
        _examples(
            "themes export build/demo --format xlsx -o build/themes.xlsx",
            "themes export build/demo --format qdpx -o build/themes.qdpx",
        ),
        _args_export,
        _cmd_export,
    ),
    "codebook": (
        "list and validate a codebook",
        "Validates the YAML against the schema and lists themes and recommendation types.",
        _examples("themes codebook", "themes codebook my_codebook.yaml"),
        _args_codebook,
        _cmd_codebook,
    ),
    "synth": (
        "generate a fictional corpus (the bundled one, or large ones for benchmarks)",
        (
            "Composes fictional review reports from the hand-written passage library and "
            "renders files."
        ),
        _examples(
            "themes synth --bundled --out corpus",
            "themes synth --reviews 1500 --pages 50 --out build/big",
        ),
        _args_synth,
        _cmd_synth,
    ),
}


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser (exposed for tests of the CLI surface)."""
    parser = _Parser(
        prog="themes",
        description=textwrap.dedent(
            """\
            Cross-review thematic analysis of child safeguarding case reviews.
            Load published reports, tag codebook themes with evidence, analyse trends,
            and write a thematic summary."""
        ),
        epilog=_examples(
            "themes run", "themes ingest corpus --out build/tables", "themes codebook"
        ),
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"themes {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name, (short, description, examples, add_args, handler) in COMMANDS.items():
        p = sub.add_parser(
            name, help=short, description=description, epilog=examples, formatter_class=_Formatter
        )
        add_args(p)
        p.set_defaults(handler=handler)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``themes`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "n_jobs", 0) is None:
        try:
            args.n_jobs = settings().n_jobs
        except ThemesError as error:
            print(f"themes: error: {error}", file=sys.stderr)
            return EXIT_USER_ERROR
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    try:
        return int(args.handler(args) or 0)
    except ThemesError as error:
        print(f"themes: error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("themes: interrupted", file=sys.stderr)
        return 130
    except (
        Exception
    ) as error:  # a bug, not a user mistake: say so in one line unless asked for more
        if args.verbose:
            raise
        print(
            f"themes: internal error: {type(error).__name__}: {error} "
            "(run again with --verbose for the traceback, and please report it)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
