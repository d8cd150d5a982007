"""Fault injection for the ``openai`` backend against a small fake server on 127.0.0.1.

The fake server exists only to inject faults (timeouts, 5xx, 429, malformed JSON, dropped
connections, slow answers) and to observe what the client sends; the backend's behaviour
against a real vLLM server is tested in ``test_vllm.py``. A prompt chooses its fault by a
marker in its text, so faults hit exactly the samples meant to fail.

Fake tokeniser: a chat is rendered as ``<role>content`` pieces plus ``<assistant>``, and a
token is one character (its code point), so expected log-probs are easy to compute.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from mgreason.backends import create_backend
from mgreason.backends.base import GenerationParams
from mgreason.backends.openai_backend import OpenAIBackend
from mgreason.errors import BackendError

REPO = Path(__file__).resolve().parents[2]
MODEL = "fake-model"


def render(messages) -> str:
    return "".join(f"<{m['role']}>{m['content']}" for m in messages) + "<assistant>"


def token_logprob(position: int, token: int) -> float:
    return -((position * 31 + token) % 97) / 50.0


class FakeServer:
    """A threaded HTTP server on 127.0.0.1 (port 0) with scripted faults."""

    def __init__(self, slow_s: float = 2.0, delay_s: float = 0.0):
        self.slow_s = slow_s
        self.delay_s = delay_s  # every completion waits this long (concurrency measurements)
        self.lock = threading.Lock()
        self.requests: list[tuple[str, dict, dict]] = []  # (path, body, headers)
        self.plan: dict[str, list[str]] = {}  # path -> faults consumed one per request
        self.inflight = 0
        self.max_inflight = 0
        self.fail_marker: str | None = "Micro-gestures"  # completions whose prompt holds it fail with HTTP 500
        self.gone = False  # go_away(): every request, also on a kept-alive connection, is dropped
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _send(self, status: int, body, headers=None):
                raw = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(raw)

            def _drop(self) -> None:
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

            def do_GET(self):
                if server.gone:
                    return self._drop()
                server._record(self.path, {}, dict(self.headers))
                if self.path == "/v1/models":
                    self._send(200, {"object": "list", "data": [{"id": MODEL, "object": "model", "owned_by": "test", "root": "/nonexistent"}]})
                else:
                    self._send(404, {"error": "not found"})

            def do_POST(self):
                if server.gone:
                    return self._drop()
                n = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(n) or b"{}")
                server._record(self.path, body, dict(self.headers))
                with server.lock:
                    server.inflight += 1
                    server.max_inflight = max(server.max_inflight, server.inflight)
                try:
                    self._post(body)
                finally:
                    with server.lock:
                        server.inflight -= 1

            def _post(self, body):
                text = json.dumps(body)
                fault = server._next_fault(self.path)
                if fault is None:
                    for marker in ("FAIL500", "SLOW", "BADJSON", "DROP", "BAD400", "NOFIELDS"):
                        if marker in text:
                            fault = marker
                            break
                if self.path == "/v1/completions" and fault is None:
                    # markers inside token-id prompts: decode them
                    decoded = "".join(chr(t) for p in body.get("prompt", []) for t in p)
                    if server.fail_marker and server.fail_marker in decoded:
                        fault = "FAIL500"
                if fault in ("FAIL500", "500"):
                    return self._send(500, {"error": "injected"})
                if fault == "429":
                    return self._send(429, {"error": "slow down"}, {"Retry-After": "0"})
                if fault == "BAD400":
                    return self._send(400, {"error": "bad request"})
                if fault in ("BADJSON", "malformed"):
                    return self._send(200, b"{not json")
                if fault == "NOFIELDS":
                    return self._send(200, {"unexpected": True})
                if fault in ("DROP", "drop"):
                    self.close_connection = True
                    try:
                        self.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    return
                if fault == "SLOW":
                    time.sleep(server.slow_s)
                if server.delay_s:
                    time.sleep(server.delay_s)
                if self.path == "/tokenize":
                    t = render(body["messages"]) if "messages" in body else body["prompt"]
                    return self._send(200, {"tokens": [ord(c) for c in t], "count": len(t)})
                if self.path == "/detokenize":
                    return self._send(200, {"prompt": "".join(chr(t) for t in body["tokens"])})
                if self.path == "/v1/chat/completions":
                    so = (body.get("structured_outputs") or {}).get("choice")
                    rf = body.get("response_format")
                    if so:
                        content = so[-1]
                    elif rf:
                        content = json.dumps({"answer": rf["json_schema"]["schema"]["properties"]["answer"]["enum"][-1]})
                    else:
                        content = "I think positive."
                    return self._send(200, {"id": "x", "object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}]})
                if self.path == "/v1/completions" and "logprob_token_ids" in body:
                    assert body["logprobs"] == len(body["logprob_token_ids"]) and body["return_tokens_as_token_ids"]
                    choices = [
                        {"index": i, "text": "x", "logprobs": {"top_logprobs": [{f"token_id:{t}": token_logprob(len(p), t) for t in body["logprob_token_ids"]}]}}
                        for i, p in enumerate(body["prompt"])
                    ]
                    return self._send(200, {"id": "c", "object": "text_completion", "choices": choices})
                if self.path == "/v1/completions":
                    choices = []
                    for i, p in enumerate(body["prompt"]):
                        lps = [None] + [token_logprob(k, t) for k, t in enumerate(p)][1:] + [-0.5]
                        choices.append({"index": i, "text": "", "logprobs": {"token_logprobs": lps, "tokens": [chr(t) for t in p] + ["x"]}})
                    return self._send(200, {"id": "c", "object": "text_completion", "choices": choices})
                return self._send(404, {"error": "not found"})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def _record(self, path, body, headers):
        with self.lock:
            self.requests.append((path, body, headers))

    def _next_fault(self, path):
        with self.lock:
            q = self.plan.get(path)
            return q.pop(0) if q else None

    def count(self, path: str) -> int:
        with self.lock:
            return sum(1 for p, _, _ in self.requests if p == path)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    def go_away(self) -> None:
        """The server disappears mid-run: kept-alive connections are dropped too, new ones refused."""
        self.gone = True
        self.__exit__(None, None, None)


@pytest.fixture
def server():
    with FakeServer() as s:
        yield s


def backend(server, **kw) -> OpenAIBackend:
    kw.setdefault("backoff", 0.01)
    kw.setdefault("max_backoff", 0.05)
    kw.setdefault("max_retries", 2)
    kw.setdefault("timeout", 5.0)
    return OpenAIBackend(None, base_url=server.url, **kw)


def chat(text: str):
    return [{"role": "system", "content": "Answer."}, {"role": "user", "content": text}]


P = GenerationParams(max_new_tokens=8)


def test_model_discovery_and_info(server):
    be = backend(server, api_key="sekrit")
    info = be.model_info()
    assert info.id == MODEL and info.extra["served_model_id"] == MODEL and info.extra["base_url"] == server.url
    assert server.requests[0][2].get("Authorization") == "Bearer sekrit"
    with pytest.raises(BackendError, match="does not serve model 'other'.*fake-model"):
        OpenAIBackend("other", base_url=server.url)
    # a bare host:port gets /v1
    assert OpenAIBackend(None, base_url=f"http://127.0.0.1:{server.port}").base_url == server.url


def test_unreachable_server_is_a_clean_error():
    with socket.socket() as s:  # a port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(BackendError, match="cannot list the models.*connection error.*after 2 attempts"):
        OpenAIBackend(None, base_url=f"http://127.0.0.1:{port}/v1", max_retries=1, backoff=0.01)


def test_429_then_success_is_retried(server):
    be = backend(server)
    server.plan["/v1/chat/completions"] = ["429", "429"]
    res = be.generate([chat("hello")], P)
    assert res[0].error is None and res[0].text == "I think positive."
    assert server.count("/v1/chat/completions") == 3
    assert be.stats["retries"] >= 2


def test_malformed_once_then_success_and_dropped_once_then_success(server):
    be = backend(server)
    server.plan["/v1/chat/completions"] = ["malformed", "drop"]
    res = be.generate([chat("hello")], P)
    assert res[0].error is None and res[0].text
    assert server.count("/v1/chat/completions") == 3


@pytest.mark.parametrize(
    "marker, message, attempts",
    [
        ("FAIL500", "HTTP 500", 3),
        ("BADJSON", "malformed response", 3),
        ("NOFIELDS", "malformed response", 3),
        ("DROP", "connection error", 3),
        ("BAD400", "HTTP 400", 1),  # client errors are not retried
    ],
)
def test_failures_after_retries_are_recorded_per_sample(server, marker, message, attempts):
    be = backend(server, record_prompt_text=False)
    prompts = [chat("fine 1"), chat(f"broken {marker}"), chat("fine 2")]
    res = be.generate(prompts, P)
    assert len(res) == 3  # never dropped, input order kept
    assert res[0].error is None and res[2].error is None
    assert res[1].text is None and message in res[1].error
    if attempts > 1:
        assert f"after {attempts} attempts" in res[1].error
    bad = [b for p, b, _ in server.requests if p == "/v1/chat/completions" and marker in json.dumps(b)]
    assert len(bad) == attempts


def test_timeout_is_retried_then_recorded():
    # generous against a loaded CI machine: the quick request has 1.5 s to answer, the slow one takes 6 s
    with FakeServer(slow_s=6.0) as server:
        be = backend(server, timeout=1.5, max_retries=1, record_prompt_text=False)
        t0 = time.perf_counter()
        res = be.generate([chat("SLOW please"), chat("quick")], P)
        elapsed = time.perf_counter() - t0
    assert "timeout after 1.5 s" in res[0].error and "after 2 attempts" in res[0].error
    assert res[1].error is None
    assert elapsed < 5.5  # the slow answer was not waited for


def test_server_gone_mid_run_records_every_sample():
    with FakeServer() as server:
        be = backend(server, max_retries=1)
    res = be.generate([chat("a"), chat("b")], P)  # the server is shut down now
    assert [r.error is not None and "connection error" in r.error for r in res] == [True, True]


def test_concurrency_is_bounded():
    with FakeServer(delay_s=0.05) as server:
        be = backend(server, concurrency=3, record_prompt_text=False)
        res = be.generate([chat(f"q{i}") for i in range(12)], P)
    assert all(r.error is None for r in res)
    assert 2 <= server.max_inflight <= 3


def test_explicit_sampling_and_structured_outputs(server):
    be = backend(server)
    params = GenerationParams(temperature=0.0, max_new_tokens=4, top_p=0.9, seed=7, stop=("\n",))
    res = be.generate([chat("x")], params, choices=["positive", "negative"])
    assert res[0].text == "negative"
    body = [b for p, b, _ in server.requests if p == "/v1/chat/completions"][-1]
    assert body["structured_outputs"] == {"choice": ["positive", "negative"]}
    assert body["temperature"] == 0.0 and body["top_p"] == 0.9 and body["seed"] == 7 and body["n"] == 1
    assert body["stop"] == ["\n"] and body["max_tokens"] >= 4 and body["model"] == MODEL
    # prompt text comes from the server's chat template (/tokenize + /detokenize)
    assert res[0].prompt_text == render(chat("x")) and res[0].n_prompt_tokens == len(render(chat("x")))

    be2 = backend(server, structured="response_format")
    res = be2.generate([chat("x")], params, choices=["positive", "negative"])
    body = [b for p, b, _ in server.requests if p == "/v1/chat/completions"][-1]
    assert "structured_outputs" not in body and body["response_format"]["type"] == "json_schema"
    assert res[0].text == "negative"

    res = be.generate([chat("x")], params)  # no choices: no constraint
    body = [b for p, b, _ in server.requests if p == "/v1/chat/completions"][-1]
    assert "structured_outputs" not in body and body["max_tokens"] == 4


@pytest.mark.parametrize("label_scoring", ["next_token", "echo"])
def test_label_logprobs_are_summed_token_logprobs(server, label_scoring):
    be = backend(server, label_scoring=label_scoring)
    prompts = [chat("first"), chat("second")]
    res = be.score_labels(prompts, ["pos", "negative"])
    for msgs, r in zip(prompts, res):
        assert r.error is None
        text = render(msgs)
        n = len(text)
        for lab in ("pos", "negative"):
            want = sum(token_logprob(n + k, ord(c)) for k, c in enumerate(lab))
            assert r.label_logprobs[lab] == pytest.approx(want)
        assert r.prompt_text == text
    body = [b for p, b, _ in server.requests if p == "/v1/completions"][-1]
    assert body["max_tokens"] == 1 and body["temperature"] == 0.0 and all(isinstance(t, int) for t in body["prompt"][0])
    if label_scoring == "echo":  # prompt + label, echoed
        assert body["echo"] is True and body["logprobs"] == 0 and len(body["prompt"]) == 2
    else:  # one prompt per distinct label prefix: "", "p", "po", "n", ..., "negativ"
        assert len(body["prompt"]) == 1 + 2 + 7 and sorted(body["logprob_token_ids"]) == body["logprob_token_ids"]


def test_label_scoring_failure_is_per_sample(server):
    be = backend(server)
    res = be.score_labels([chat("ok"), chat("BADJSON here"), chat("ok too")], ["a", "b"])
    assert res[0].error is None and res[2].error is None
    assert res[1].label_logprobs is None and "malformed response" in res[1].error


def test_run_scenario_reports_failed_samples(server, tmp_path):
    from mgreason.eval.run import run_scenario
    from mgreason.scenario import load_scenario

    sc = load_scenario(REPO / "scenarios" / "demo_press_emotion.yaml")
    be = create_backend("openai", None, base_url=server.url, engine_args={"max_retries": 1, "backoff": 0.01})
    out = run_scenario(sc, be, out_dir=tmp_path / "run", limit=2, n_boot=200)
    recs = [json.loads(line) for line in (out.run_dir / "samples.jsonl").read_text().splitlines()]
    assert len(recs) == 6  # 2 items x 3 conditions, none dropped
    by_cond = {}
    for r in recs:
        by_cond.setdefault(r["condition"], []).append(r)
    # the fake fails every completion whose prompt shows micro-gestures
    assert all(r["error"] is None and r["label_logprobs"] for r in by_cond["without_mg"])
    assert all("HTTP 500" in r["error"] and r["correct"] is False for r in by_cond["with_mg"] + by_cond["shuffled_mg"])
    summary = json.loads((out.run_dir / "summary.json").read_text())
    errors = {c["condition"]: c["n_errors"] for c in summary["conditions"]}
    assert errors == {"without_mg": 0, "with_mg": 2, "shuffled_mg": 2}
    config = json.loads((out.run_dir / "config.json").read_text())
    assert config["backend"] == "openai" and config["model"]["id"] == MODEL
    assert config["model"]["served_model_id"] == MODEL and config["model"]["base_url"] == server.url


def test_create_backend_rejects_unknown_options(server):
    with pytest.raises(BackendError, match="does not take option.*bogus"):
        create_backend("openai", None, base_url=server.url, bogus=1)
    with pytest.raises(BackendError, match="does not take option.*base_url"):
        create_backend("mock", None, base_url=server.url)


def test_cli_passes_backend_options(server, tmp_path, monkeypatch, capsys):
    from mgreason import cli

    out = tmp_path / "run"
    argv = ["mgreason", "run-scenario", str(REPO / "scenarios" / "demo_press_emotion.yaml"), "--backend", "openai",
            "--base-url", server.url, "--api-key", "k", "--concurrency", "2", "-E", "max_retries=0",
            "-E", "label-scoring=echo", "--limit", "2", "--out", str(out), "--n-boot", "200"]  # fmt: skip
    monkeypatch.setattr("sys.argv", argv)
    with pytest.raises(SystemExit) as e:  # the fake server fails every echo prompt with MG evidence (4 of 6)
        cli.main()
    assert e.value.code == 1 and "4 of 6 requests failed" in capsys.readouterr().err
    config = json.loads((out / "config.json").read_text())
    assert config["model"]["concurrency"] == 2 and config["model"]["max_retries"] == 0
    assert config["model"]["label_scoring"] == "echo"
    assert all(h.get("Authorization") == "Bearer k" for _, _, h in server.requests)

    monkeypatch.setattr("sys.argv", argv[:-6] + ["-E", "oops"])
    with pytest.raises(SystemExit) as e:
        cli.main()
    assert e.value.code == 2 and "expected KEY=VALUE" in capsys.readouterr().err
