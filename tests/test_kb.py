"""Knowledge bases: real SQLite files in tmp_path, the real CLI in a subprocess, and no network."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from agentco.errors import ConfigError, MissingExtraError
from agentco.kb import Hit, KnowledgeBase
from agentco.kb.chunks import chunk_text
from agentco.kb.embed import normalized, wordllama_root
from agentco.kb.fulltext import index_terms, query_terms
from agentco.kb.fusion import fuse
from agentco.kb.readers import html_text, read_text

TEA = "# Tea\n\nGreen tea is brewed with water at eighty degrees for two minutes.\n"
BREAD = (
    "<html><head><title>Bread</title><style>p {color: red}</style><script>var kneading = 1;</script></head>"
    "<body><h1>Baking bread</h1><p>Knead the dough for ten minutes, then let it rise.</p></body></html>"
)
ZH = "绿茶的水温在八十度左右最合适。\n\n春节的时候，长辈会给孩子压岁钱。\n\n猫喜欢晒太阳。"


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Everything here runs offline: any attempt to open a network connection fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "tea.md").write_text(TEA, encoding="utf-8")
    (folder / "bread.html").write_text(BREAD, encoding="utf-8")
    (folder / "zh.txt").write_text(ZH, encoding="utf-8")
    (folder / "picture.png").write_bytes(b"\x89PNG")
    (folder / ".hidden").mkdir()
    (folder / ".hidden" / "secret.md").write_text("never indexed")
    return folder


@pytest.fixture
def kb(tmp_path: Path):
    with KnowledgeBase.open(tmp_path / "ws", "notes", create=True, embedder=None) as opened:
        yield opened


def test_add_then_search_in_english_and_chinese_with_sources(kb: KnowledgeBase, docs: Path):
    report = kb.add(docs)

    assert sorted(Path(p).name for p in report.added) == ["bread.html", "tea.md", "zh.txt"]
    assert [Path(p).name for p in report.ignored] == ["picture.png"]  # and nothing under .hidden/
    assert kb.path == docs.parent / "ws" / ".agentco" / "kb" / "notes.sqlite"
    hits = kb.search("how hot should the water be for green tea?")
    assert hits[0] == Hit(str(docs / "tea.md"), TEA.strip(), hits[0].score, 0)
    assert kb.search("kneading dough")[0].source == str(docs / "bread.html")  # stemmed: kneading ~ knead
    assert kb.search("var kneading") and "var" not in kb.search("var kneading")[0].text  # scripts are not text
    for query in ("八十度", "压岁钱", "水温", "猫"):  # 3 characters, 2 (pairs) and 1 (the LIKE fallback)
        found = kb.search(query)
        assert found and found[0].source == str(docs / "zh.txt") and query in found[0].text, query
    assert kb.search("zebra crossing") == []


def test_a_second_add_of_unchanged_files_indexes_nothing(kb: KnowledgeBase, docs: Path):
    kb.add(docs)
    before = kb.sources()

    again = kb.add([docs, docs / "tea.md"])

    assert again.added == again.updated == [] and again.chunks == 0
    assert sorted(again.unchanged) == sorted(str(p) for p in (docs / "bread.html", docs / "tea.md", docs / "zh.txt"))
    assert kb.sources() == before


def test_a_file_changed_after_add_is_reindexed_at_the_next_search(kb: KnowledgeBase, docs: Path):
    tea = docs / "tea.md"
    kb.add(tea)
    assert kb.search("eighty degrees")[0].source == str(tea)
    stat = tea.stat()

    tea.write_text(TEA.replace("eighty degrees", "seventy celsius"), encoding="utf-8")  # also: same size...
    os.utime(tea, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # ...and the same modification time

    assert "seventy celsius" in kb.search("seventy celsius")[0].text
    assert kb.search("eighty degrees") == []
    assert kb.sources()[0].hash != "" and kb.sources()[0].updated_at >= kb.sources()[0].added_at


def test_an_update_made_through_another_handle_reaches_a_running_reader(tmp_path: Path, docs: Path):
    """A scenario holds the knowledge base open while `agentco kb add` writes to it."""
    with KnowledgeBase.open(tmp_path / "ws", "team", create=True, embedder=None) as scenario:
        assert scenario.search("bread") == []
        with KnowledgeBase.open(tmp_path / "ws", "team", embedder=None) as cli:
            cli.add(docs / "bread.html")
        assert scenario.search("bread")[0].source == str(docs / "bread.html")


def test_deleted_files_are_dropped_and_sources_can_be_removed(kb: KnowledgeBase, docs: Path):
    kb.add(docs)
    (docs / "zh.txt").unlink()

    assert kb.search("压岁钱") == []
    assert sorted(Path(s.source).name for s in kb.sources()) == ["bread.html", "tea.md"]
    assert kb.remove(str(docs / "tea.md")) is True
    assert kb.remove(str(docs / "tea.md")) is False
    assert kb.search("green tea") == []
    assert kb.remove(str(docs)) is True  # a folder removes every source under it
    assert kb.sources() == []


def test_bad_names_missing_bases_paths_and_queries_are_config_errors(tmp_path: Path):
    with pytest.raises(ConfigError, match="agentco kb create notes"):
        KnowledgeBase.open(tmp_path, "notes")
    for bad in ("", "a/b", "../x", "名字", "x" * 65):
        with pytest.raises(ConfigError, match="not a knowledge base name"):
            KnowledgeBase.open(tmp_path, bad, create=True)
    with KnowledgeBase.open(tmp_path, "notes", create=True, embedder=None) as kb:
        with pytest.raises(ConfigError, match="no such file or folder"):
            kb.add(tmp_path / "missing.md")
        (tmp_path / "image.png").write_bytes(b"\x89PNG")
        with pytest.raises(ConfigError, match="reads"):
            kb.add(tmp_path / "image.png")
        with pytest.raises(ConfigError, match="empty"):
            kb.search("  ")
        with pytest.raises(ConfigError, match=r"agentco\[kb\]|without an embedding model"):
            kb.search("tea", mode="dense")  # the model is not installed, or this base was opened without it


# --- reading and chunking ------------------------------------------------------------------------
def test_html_becomes_paragraphs_without_scripts_or_styles():
    text = html_text(BREAD + "<ul><li>one</li><li>two &amp; three</li></ul>")
    assert text == "Bread\n\nBaking bread\n\nKnead the dough for ten minutes, then let it rise.\n\none\ntwo & three"


def test_chunks_keep_paragraphs_whole_overlap_and_keep_headings_with_their_text():
    paragraphs = [f"Paragraph {i} " + "word " * 30 + "end." for i in range(8)]
    text = "# Title\n\n" + "\n\n".join(paragraphs[:4]) + "\n\n## Second\n\n" + "\n\n".join(paragraphs[4:])
    chunks = chunk_text(text, size=500, overlap=200)
    assert all(len(c) <= 500 for c in chunks) and len(chunks) > 2
    for paragraph in paragraphs:  # every paragraph is whole in some chunk
        assert any(paragraph in c for c in chunks)
    for before, after in zip(chunks, chunks[1:], strict=False):  # the next chunk starts with the last piece
        assert after.split("\n\n")[0] in before or after.startswith("## Second")
    assert not any(c.rstrip().endswith("## Second") for c in chunks)


def test_long_chinese_text_is_cut_between_sentences():
    text = "这是一个关于天气的句子。" * 120
    chunks = chunk_text(text, size=300, overlap=60)
    assert len(chunks) > 4 and all(len(c) <= 300 for c in chunks)
    assert all(c.endswith("。") for c in chunks)


def test_chinese_is_indexed_as_character_pairs_and_questions_drop_filler_words():
    assert index_terms("喝绿茶 tea").split() == ["喝绿", "绿茶", "tea"]
    assert query_terms("How do I brew the tea?") == ["brew", "tea"]
    assert query_terms("the") == ["the"]  # nothing but filler: keep it rather than search for nothing


def _tiny_pdf(text: str) -> bytes:
    """A one-page PDF with ``text`` in Helvetica, with a correct cross-reference table."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    return out + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)


def test_pdf_files_are_read_with_pypdf(kb: KnowledgeBase, tmp_path: Path):
    pytest.importorskip("pypdf")
    pdf = tmp_path / "manual.pdf"
    pdf.write_bytes(_tiny_pdf("Descale the kettle with vinegar every month"))
    kb.add(pdf)
    assert kb.search("descale kettle")[0].source == str(pdf)


def test_a_pdf_without_pypdf_names_the_extra(monkeypatch, tmp_path: Path):
    monkeypatch.setitem(sys.modules, "pypdf", None)  # as if it were not installed
    with pytest.raises(MissingExtraError, match=r"pip install 'agentco\[kb\]'"):
        read_text(tmp_path / "a.pdf", _tiny_pdf("x"))


# --- vectors and fusion --------------------------------------------------------------------------
def test_reciprocal_rank_fusion_rewards_agreement():
    fused = fuse([["a", "b", "c"], ["c", "a", "d"]])
    assert [item for item, _ in fused] == ["a", "c", "b", "d"]
    assert fused[0][1] == pytest.approx(1 / 61 + 1 / 62)


class SynonymEmbedder:
    """Deterministic test vectors: one dimension per concept, so "feline" and "cat" point the same way."""

    CONCEPTS = {"cat": 0, "cats": 0, "feline": 0, "kitty": 0, "tea": 1, "brew": 1, "bread": 2, "dough": 2}

    def __init__(self, name: str = "synonyms-v1"):
        self.name = name
        self.calls = 0

    def embed(self, texts):
        import numpy as np

        self.calls += 1
        out = np.zeros((len(texts), 4), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().replace(".", " ").replace("?", " ").split():
                out[row, self.CONCEPTS.get(word, 3)] += 1 if word in self.CONCEPTS else 0.1
        return normalized(out)


def test_the_hybrid_finds_what_full_text_misses_and_fuses_both(tmp_path: Path):
    folder = tmp_path / "pets"
    folder.mkdir()
    (folder / "cats.md").write_text("Cats sleep sixteen hours a day.")
    (folder / "tea.md").write_text("Brew green tea gently.")
    embedder = SynonymEmbedder()
    with KnowledgeBase.open(tmp_path / "ws", "pets", create=True, embedder=embedder) as kb:
        kb.add(folder)
        assert kb.search("feline naps", mode="fulltext") == []
        assert kb.search("feline naps", mode="dense")[0].source == str(folder / "cats.md")
        hybrid = kb.search("feline tea", k=2, mode="hybrid")
        assert hybrid[0].source == str(folder / "tea.md")  # first in both rankings
        assert {h.source for h in hybrid} == {str(folder / "tea.md"), str(folder / "cats.md")}
        assert kb.search("feline naps")[0].source == str(folder / "cats.md")  # auto = hybrid with a model


def test_vectors_follow_the_embedder_and_chunks_added_without_one_are_embedded_later(tmp_path: Path, docs: Path):
    with KnowledgeBase.open(tmp_path / "ws", "n", create=True, embedder=None) as kb:
        kb.add(docs / "bread.html")
    first = SynonymEmbedder("synonyms-v1")
    with KnowledgeBase.open(tmp_path / "ws", "n", embedder=first) as kb:
        assert kb.search("dough", mode="dense")[0].source == str(docs / "bread.html")
        calls = first.calls
        kb.search("dough", mode="dense")
        assert first.calls == calls + 1  # only the query: the stored chunk vectors are reused
    second = SynonymEmbedder("synonyms-v2")
    with KnowledgeBase.open(tmp_path / "ws", "n", embedder=second) as kb:
        kb.search("dough", mode="dense")
        assert second.calls == 2  # the chunks again (another model's vectors are dropped), then the query


def test_without_the_model_auto_is_full_text_and_the_hybrid_names_the_extra(monkeypatch, tmp_path: Path, docs: Path):
    from agentco.kb import embed

    monkeypatch.setattr(embed, "wordllama_root", lambda: None)  # as if the kb extra were not installed
    embed.default_embedder.cache_clear()
    try:
        with KnowledgeBase.open(tmp_path / "ws", "plain", create=True) as kb:
            kb.add(docs)
            assert kb.embedder is None and kb.search("green tea")[0].source == str(docs / "tea.md")
            with pytest.raises(MissingExtraError, match=r"pip install 'agentco\[kb\]'"):
                kb.search("green tea", mode="hybrid")
    finally:
        embed.default_embedder.cache_clear()


def test_model_files_that_differ_from_the_pinned_ones_are_refused(tmp_path: Path):
    from agentco.kb.embed import TOKENIZER, WEIGHTS, WordLlamaEmbedder

    pytest.importorskip("tokenizers")
    for relative, _ in (WEIGHTS, TOKENIZER):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_bytes(b"not the model")
    with pytest.raises(ConfigError, match="sha256 differs"):
        WordLlamaEmbedder.load(tmp_path)


@pytest.mark.skipif(wordllama_root() is None, reason="the kb extra (wordllama) is not installed")
def test_the_packaged_embedding_model_runs_offline_and_ranks_by_meaning(tmp_path: Path):
    from agentco.kb.embed import require_embedder

    embedder = require_embedder()
    vectors = embedder.embed(["my cat is asleep", "the kitten naps", "fix a bicycle tyre", ""])
    assert vectors.shape == (4, 256) and float(abs((vectors[:3] ** 2).sum(axis=1) - 1).max()) < 1e-4
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
    assert not vectors[3].any()  # an empty text has no direction


# --- the command line, as a user runs it ---------------------------------------------------------
def _agentco(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(cwd), "PYTHONIOENCODING": "utf-8"}
    return subprocess.run([sys.executable, "-m", "agentco", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)  # fmt: skip


def test_the_kb_commands_create_add_search_list_and_remove(tmp_path: Path, docs: Path):
    ws = ["--workspace", str(tmp_path / "ws")]
    assert _agentco("kb", "create", "notes", *ws, cwd=tmp_path).returncode == 0
    added = _agentco("kb", "add", "notes", str(docs), *ws, cwd=tmp_path)
    assert added.returncode == 0 and "3 added" in added.stdout, added.stderr

    found = _agentco("kb", "search", "notes", "green tea temperature", "--k", "2", "--json", *ws, cwd=tmp_path)
    hits = json.loads(found.stdout)
    assert hits[0]["source"] == str(docs / "tea.md") and "eighty degrees" in hits[0]["text"]
    assert set(hits[0]) >= {"source", "text", "chunk", "score"} and len(hits) <= 2
    chinese = json.loads(_agentco("kb", "search", "notes", "压岁钱", "--json", *ws, cwd=tmp_path).stdout)
    assert chinese[0]["source"] == str(docs / "zh.txt")

    assert _agentco("kb", "list", *ws, cwd=tmp_path).stdout.split() == ["notes"]
    assert str(docs / "bread.html") in _agentco("kb", "list", "notes", *ws, cwd=tmp_path).stdout
    assert _agentco("kb", "rm", "notes", str(docs / "bread.html"), *ws, cwd=tmp_path).returncode == 0
    assert str(docs / "bread.html") not in _agentco("kb", "list", "notes", *ws, cwd=tmp_path).stdout


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["kb", "search", "missing", "tea"], "agentco kb create missing"),
        (["kb", "create", "no/slash"], "not a knowledge base name"),
        (["kb", "add", "notes", "nowhere.md"], "no such file or folder"),
        (["kb", "rm", "notes", "nowhere.md"], "is not a source of notes"),
    ],
)
def test_kb_mistakes_end_with_one_line_and_exit_code_2(tmp_path: Path, args: list[str], says: str):
    _agentco("kb", "create", "notes", "--workspace", str(tmp_path), cwd=tmp_path)
    result = _agentco(*args, "--workspace", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 2 and says in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


# --- the retrieval benchmark ---------------------------------------------------------------------
CORPUS = Path(__file__).resolve().parents[1] / "bench" / "retrieval"


def test_every_answer_of_the_shipped_benchmark_is_in_its_document():
    from agentco.bench.retrieval import load_questions

    questions = load_questions(CORPUS)
    assert len(questions) >= 40 and {q.language for q in questions} == {"en", "zh"}
    assert len({q.id for q in questions}) == len(questions)
    for q in questions:
        for source, phrase in q.answers:
            path = CORPUS / source
            assert " ".join(phrase.split()) in " ".join(read_text(path, path.read_bytes()).split()), (q.id, phrase)


def test_the_benchmark_scores_recall_at_k(tmp_path: Path):
    from agentco.bench.retrieval import run_retrieval

    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "tea.md").write_text(TEA)
    (tmp_path / "docs" / "bread.md").write_text("Knead the dough for ten minutes.")
    rows = [
        {"id": "a", "question": "green tea water", "answers": [{"source": "docs/tea.md", "evidence": "eighty degrees"}]},
        {"id": "b", "question": "knead", "answers": [{"source": "docs/bread.md", "evidence": "ten minutes"},
                                                      {"source": "docs/tea.md", "evidence": "never there"}]},
    ]  # fmt: skip
    (tmp_path / "questions.jsonl").write_text("\n".join(json.dumps(r) for r in rows))

    report = run_retrieval(tmp_path, k=1)

    fulltext = report["modes"]["fulltext"]
    assert (report["documents"], report["questions"]) == (2, 2)
    assert fulltext["recall_at_k"] == 0.75 and fulltext["mrr"] == 1.0 and fulltext["missed"] == ["b"]
