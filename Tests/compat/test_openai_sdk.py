"""Compatibility of the Sluice gateway with the official `openai` Python SDK.

Run by `scripts/compat-test`, which pins the SDK version. A session fixture starts the real
`sluice serve --demo` binary (env `SLUICE_BIN`, default `<repo>/.build/debug/sluice`) on a free
loopback port in a temporary directory, and every test talks to it through `openai.OpenAI` as an
application would. The demo's mock provider is scripted with `mock.*` words in the prompt, and
its token arithmetic is deterministic: prompt tokens = words of all message contents + 3 per
message, a reply is `min(max_tokens, 12)` words cycling through `REPLY_WORDS`.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, TypeVar

import httpx
import openai
import pytest

REPO = Path(__file__).resolve().parents[2]
SLUICE_BIN = os.environ.get("SLUICE_BIN") or str(REPO / ".build" / "debug" / "sluice")
if os.sep in SLUICE_BIN:  # the server and the CLI run in a temporary directory
    SLUICE_BIN = os.path.abspath(SLUICE_BIN)

REPLY_WORDS = [
    "lorem", "ipsum", "dolor", "sit", "amet", "consectetur",
    "adipiscing", "elit", "sed", "do", "eiusmod", "tempor",
]
DEMO_MODELS = {"gpt-4o", "gpt-4o-mini", "text-embedding-3-small"}
DEV_PRESET_MODELS = {"gpt-4o-mini", "text-embedding-3-small"}

STARTUP_TIMEOUT_S = 60.0
SHUTDOWN_TIMEOUT_S = 15.0
# Upper bounds for polls, with room for a loaded CI machine (each usage poll runs the CLI);
# how soon a revocation lands is measured by the Swift end-to-end tests.
REVOCATION_WAIT_S = 15.0
USAGE_FLUSH_WAIT_S = 15.0

T = TypeVar("T")


def reply(count: int) -> str:
    """The mock provider's reply of `count` words."""
    return " ".join(REPLY_WORDS[i % len(REPLY_WORDS)] for i in range(count))


def prompt_tokens(*contents: str) -> int:
    """The mock provider's prompt tokens for chat messages with these contents."""
    return sum(len(c.split()) + 3 for c in contents)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def poll(check: Callable[[], T], timeout: float, interval: float = 0.1) -> T:
    """Calls `check` until it returns without raising AssertionError, for at most `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() >= deadline:
                raise
        time.sleep(interval)


@dataclass
class Gateway:
    port: int
    workdir: Path
    demo_key: str
    process: subprocess.Popen
    stdout_lines: list[str] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def client(self, key: str | None = None) -> openai.OpenAI:
        return openai.OpenAI(
            base_url=self.base_url,
            api_key=key if key is not None else self.demo_key,
            max_retries=0,
            timeout=30.0,
            # Loopback only: ignore any proxy settings of the environment.
            http_client=openai.DefaultHttpxClient(trust_env=False),
        )

    def cli(self, *args: str) -> str:
        """Runs `sluice ARGS` in the gateway's directory (same `./sluice.db`), returns stdout."""
        done = subprocess.run(
            [SLUICE_BIN, *args],
            cwd=self.workdir,
            env=_child_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, (
            f"sluice {' '.join(args)} exited {done.returncode}\n"
            f"stdout: {done.stdout}\nstderr: {done.stderr}"
        )
        return done.stdout

    def create_key(self, preset: str = "dev", env: str = "dev") -> dict:
        out = self.cli("keys", "create", "--account", "demo", "--env", env,
                       "--preset", preset, "--json")
        created = json.loads(out)
        assert set(created) >= {"id", "key", "account", "env", "preset"}, created
        assert created["key"].startswith(f"sk-sluice-{env}-"), created
        assert created["preset"] == preset
        return created

    def usage(self, by: str) -> dict[str, dict]:
        rows = json.loads(self.cli("usage", "--by", by, "--json"))
        assert isinstance(rows, list), rows
        return {row["group"]: row for row in rows}


def _child_env() -> dict[str, str]:
    """The environment for sluice processes: ours, minus overrides of the demo's config."""
    return {
        k: v for k, v in os.environ.items()
        if not k.startswith(("SLUICE_SERVER_", "SLUICE_STORAGE_"))
    }


def _start_gateway(workdir: Path, stderr_file) -> Gateway:
    port = free_port()
    process = subprocess.Popen(
        [SLUICE_BIN, "serve", "--demo", "--listen", f"127.0.0.1:{port}"],
        cwd=workdir,
        env=_child_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=stderr_file,
        text=True,
    )
    lines: "queue.Queue[str | None]" = queue.Queue()
    seen: list[str] = []

    def pump() -> None:
        # Keeps draining stdout for the whole run so the server never blocks on a full pipe.
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, name="sluice-stdout", daemon=True).start()

    key_pattern = re.compile(r"export SLUICE_KEY=(sk-sluice-\S+)")
    key = None
    healthy = False
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    with httpx.Client(trust_env=False, timeout=2.0) as http:
        while time.monotonic() < deadline and not (key and healthy):
            try:
                while True:
                    line = lines.get_nowait()
                    if line is None:
                        raise RuntimeError(
                            f"sluice serve exited early (code {process.wait()}); "
                            f"stdout: {''.join(seen)!r}"
                        )
                    seen.append(line)
                    match = key_pattern.search(line)
                    if match:
                        key = match.group(1)
            except queue.Empty:
                pass
            if not healthy:
                try:
                    r = http.get(f"http://127.0.0.1:{port}/healthz")
                    healthy = r.status_code == 200
                except httpx.TransportError:
                    pass
            if process.poll() is not None and not (key and healthy):
                continue  # the reader will deliver the end marker; report it above
            time.sleep(0.05)
    if not (key and healthy):
        process.kill()
        process.wait()
        raise RuntimeError(
            f"sluice serve not ready after {STARTUP_TIMEOUT_S}s "
            f"(healthy={healthy}, key found={key is not None}); stdout: {''.join(seen)!r}"
        )
    return Gateway(port=port, workdir=workdir, demo_key=key, process=process,
                   stdout_lines=seen)


@pytest.fixture(scope="session")
def gateway():
    if not os.access(SLUICE_BIN, os.X_OK):
        pytest.fail(f"{SLUICE_BIN} is not an executable; run `swift build` or set SLUICE_BIN")
    workdir = Path(tempfile.mkdtemp(prefix="sluice-compat-"))
    stderr_path = workdir / "sluice-serve.stderr.log"
    with open(stderr_path, "w") as stderr_file:
        gw = None
        for attempt in range(3):  # a free port can be taken between probe and bind
            try:
                gw = _start_gateway(workdir, stderr_file)
                break
            except RuntimeError:
                if attempt == 2:
                    raise
                for name in ("sluice.db", "sluice.db-wal", "sluice.db-shm"):
                    (workdir / name).unlink(missing_ok=True)
        assert gw is not None
        try:
            yield gw
        finally:
            gw.process.send_signal(signal.SIGTERM)
            try:
                code = gw.process.wait(timeout=SHUTDOWN_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                gw.process.kill()
                gw.process.wait()
                pytest.fail(f"sluice serve did not exit within {SHUTDOWN_TIMEOUT_S}s of SIGTERM")
            assert code == 0, (
                f"sluice serve exited {code} after SIGTERM; stderr tail:\n"
                + stderr_path.read_text()[-4000:]
            )
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def client(gateway: Gateway) -> openai.OpenAI:
    return gateway.client()


@pytest.fixture(scope="session")
def dev_key(gateway: Gateway) -> dict:
    return gateway.create_key(preset="dev")


def assert_error(err: openai.APIStatusError, status: int, code: str) -> None:
    """What every gateway error must look like through the SDK."""
    assert err.status_code == status, err
    assert err.code == code, err.body
    assert isinstance(err.body, dict), err.body
    assert err.body.get("code") == code
    assert isinstance(err.body.get("message"), str) and err.body["message"], err.body
    assert isinstance(err.body.get("type"), str) and err.body["type"], err.body
    assert "param" in err.body, err.body
    assert err.request_id and err.request_id.startswith("req_"), err.response.headers


# --- successful calls ------------------------------------------------------------------------

def test_chat_completion(client: openai.OpenAI):
    content = "Say hello to the gateway"
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o",
        messages=[{"role": "system", "content": "be brief"},
                  {"role": "user", "content": content}],
    )
    assert raw.status_code == 200
    request_id = raw.headers.get("x-request-id")
    assert request_id and request_id.startswith("req_"), dict(raw.headers)
    assert raw.headers.get("sluice-served-model") == "gpt-4o", dict(raw.headers)
    assert raw.headers.get("sluice-attempts") == "1", dict(raw.headers)
    assert raw.headers.get("sluice-fallback-from") is None

    completion = raw.parse()
    assert isinstance(completion, openai.types.chat.ChatCompletion)
    assert completion._request_id == request_id
    assert completion.model == "gpt-4o"
    assert completion.object == "chat.completion"
    assert len(completion.choices) == 1
    choice = completion.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content == reply(12)
    assert choice.finish_reason == "stop"
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == prompt_tokens("be brief", content)
    assert completion.usage.completion_tokens == 12
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + 12


def test_chat_completion_max_tokens_and_directive(client: openai.OpenAI):
    completion = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "count mock.completion_tokens=20"}],
        max_tokens=15,
    )
    assert completion.model == "gpt-4o-mini"
    assert completion.choices[0].message.content == reply(15)
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage.prompt_tokens == prompt_tokens("count mock.completion_tokens=20")
    assert completion.usage.completion_tokens == 15


def test_chat_stream_without_usage(client: openai.OpenAI):
    content = "stream me please"
    stream = client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": content}], stream=True,
    )
    chunks = list(stream)
    assert chunks, "no chunk"
    for chunk in chunks:
        assert chunk.object == "chat.completion.chunk"
        assert chunk.model == "gpt-4o"
        # Sluice asks the provider for a usage chunk; the caller did not, so it must be gone.
        assert chunk.usage is None, chunk
        assert chunk.choices, f"chunk with empty choices: {chunk}"
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == reply(12)
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_chat_stream_with_usage(client: openai.OpenAI):
    content = "stream me with usage mock.completion_tokens=5"
    # with_raw_response on a stream: headers are there before the body is consumed.
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": content}],
        stream=True, stream_options={"include_usage": True},
    )
    assert raw.headers.get("x-request-id", "").startswith("req_"), dict(raw.headers)
    assert raw.headers.get("sluice-served-model") == "gpt-4o-mini"
    assert raw.headers.get("content-type", "").startswith("text/event-stream")
    chunks = list(raw.parse())
    assert len(chunks) >= 2
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None, last
    assert last.usage.prompt_tokens == prompt_tokens(content)
    assert last.usage.completion_tokens == 5
    assert last.usage.total_tokens == prompt_tokens(content) + 5
    for chunk in chunks[:-1]:
        assert chunk.usage is None, chunk
        assert chunk.choices, chunk
    text = "".join(c.choices[0].delta.content or "" for c in chunks[:-1])
    assert text == reply(5)


def test_chat_stream_context_manager(client: openai.OpenAI):
    # The SDK's helper `chat.completions.stream` (accumulates deltas into a final message).
    with client.chat.completions.stream(
        model="gpt-4o", messages=[{"role": "user", "content": "helper stream"}],
        stream_options={"include_usage": True},
    ) as stream:
        for _ in stream:
            pass
        final = stream.get_final_completion()
    assert final.choices[0].message.content == reply(12)
    assert final.usage is not None
    assert final.usage.prompt_tokens == prompt_tokens("helper stream")
    assert final.usage.completion_tokens == 12


def test_completions(client: openai.OpenAI):
    completion = client.completions.create(
        model="gpt-4o-mini", prompt="say hi now", max_tokens=5,
    )
    assert completion.object == "text_completion"
    assert completion.model == "gpt-4o-mini"
    assert completion.choices[0].text == reply(5)
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage.prompt_tokens == 3
    assert completion.usage.completion_tokens == 5


def test_completions_stream(client: openai.OpenAI):
    chunks = list(client.completions.create(
        model="gpt-4o-mini", prompt="stream a completion", max_tokens=4, stream=True,
    ))
    assert chunks
    assert "".join(c.choices[0].text for c in chunks if c.choices) == reply(4)
    for chunk in chunks:
        assert chunk.usage is None, chunk


def test_embeddings(client: openai.OpenAI):
    # Default call: the SDK asks for base64 and decodes it, or takes floats as they come.
    result = client.embeddings.create(model="text-embedding-3-small", input=["a b", "c"])
    assert result.model == "text-embedding-3-small"
    assert [d.index for d in result.data] == [0, 1]
    for item in result.data:
        assert len(item.embedding) == 8
        assert all(isinstance(x, float) and -1.0 <= x <= 1.0 for x in item.embedding)
    assert result.data[0].embedding != result.data[1].embedding
    assert result.usage.prompt_tokens == 3
    assert result.usage.total_tokens == 3

    floats = client.embeddings.create(
        model="text-embedding-3-small", input="a b", encoding_format="float",
    )
    assert floats.data[0].embedding == pytest.approx(result.data[0].embedding, abs=1e-6)
    assert floats.usage.prompt_tokens == 2


def test_models_list_demo_key(client: openai.OpenAI):
    models = list(client.models.list())
    assert {m.id for m in models} == DEMO_MODELS
    assert len(models) == len(DEMO_MODELS)
    for m in models:
        assert m.object == "model"


def test_models_list_dev_key(gateway: Gateway, dev_key: dict):
    models = list(gateway.client(dev_key["key"]).models.list())
    assert {m.id for m in models} == DEV_PRESET_MODELS
    assert len(models) == len(DEV_PRESET_MODELS)


def test_async_client_chat_and_stream(gateway: Gateway):
    async def run() -> None:
        async with openai.AsyncOpenAI(
            base_url=gateway.base_url, api_key=gateway.demo_key, max_retries=0, timeout=30.0,
            http_client=openai.DefaultAsyncHttpxClient(trust_env=False),
        ) as aclient:
            completion = await aclient.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "async call"}],
            )
            assert completion.choices[0].message.content == reply(12)
            assert completion.usage.prompt_tokens == prompt_tokens("async call")
            stream = await aclient.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "async stream"}],
                stream=True, stream_options={"include_usage": True},
            )
            chunks = [chunk async for chunk in stream]
            text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
            assert text == reply(12)
            assert chunks[-1].usage is not None
            assert chunks[-1].usage.completion_tokens == 12

    asyncio.run(run())


def test_models_retrieve(client: openai.OpenAI):
    model = client.models.retrieve("gpt-4o")
    assert model.id == "gpt-4o"
    assert model.object == "model"
    with pytest.raises(openai.NotFoundError) as info:
        client.models.retrieve("gpt-9")
    assert_error(info.value, 404, "model_not_found")


# --- errors ----------------------------------------------------------------------------------

def test_bad_key(gateway: Gateway):
    bad = gateway.client("sk-sluice-dev-" + "x" * 32)
    with pytest.raises(openai.AuthenticationError) as info:
        bad.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}],
        )
    assert_error(info.value, 401, "invalid_api_key")
    with pytest.raises(openai.AuthenticationError) as info:
        bad.models.list()
    assert_error(info.value, 401, "invalid_api_key")


def test_unknown_model(client: openai.OpenAI):
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(
            model="gpt-does-not-exist", messages=[{"role": "user", "content": "hi"}],
        )
    assert_error(info.value, 404, "model_not_found")
    assert "/v1/models" in info.value.body["message"]


def test_model_not_allowed_for_preset(gateway: Gateway, dev_key: dict):
    with pytest.raises(openai.PermissionDeniedError) as info:
        gateway.client(dev_key["key"]).chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}],
        )
    assert_error(info.value, 403, "model_not_allowed")


def test_provider_400_passthrough(client: openai.OpenAI):
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "user", "content":
                       "x mock.status=400 mock.code=context_length_exceeded mock.message=too_long"}],
        )
    assert_error(info.value, 400, "context_length_exceeded")
    assert info.value.body["message"] == "too long"


def test_provider_503_is_502_upstream_error(client: openai.OpenAI):
    with pytest.raises(openai.InternalServerError) as info:
        client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "x mock.status=503"}],
        )
    assert_error(info.value, 502, "upstream_error")


def test_missing_messages_is_422(client: openai.OpenAI):
    # NOT_GIVEN makes the SDK leave `messages` out of the body.
    with pytest.raises(openai.UnprocessableEntityError) as info:
        client.chat.completions.create(model="gpt-4o", messages=openai.NOT_GIVEN)
    assert_error(info.value, 422, "invalid_request")
    assert info.value.param == "messages"


def test_invalid_json_is_400(gateway: Gateway):
    with httpx.Client(trust_env=False, timeout=30.0) as http:
        r = http.post(
            f"{gateway.base_url}/chat/completions",
            content=b'{"model": "gpt-4o", "messages": [',
            headers={"Authorization": f"Bearer {gateway.demo_key}",
                     "Content-Type": "application/json"},
        )
    assert r.status_code == 400, r.text
    assert r.headers.get("x-request-id", "").startswith("req_")
    body = r.json()
    assert set(body) == {"error"}, body
    assert body["error"]["code"] == "invalid_json"
    assert body["error"]["type"]
    assert body["error"]["message"]
    assert "param" in body["error"]


def test_broken_stream_raises_api_error(client: openai.OpenAI):
    stream = client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "x mock.break_after=2"}],
        stream=True,
    )
    received: list[str] = []
    with pytest.raises(openai.APIError) as info:
        for chunk in stream:
            if chunk.choices:
                received.append(chunk.choices[0].delta.content or "")
    # Mid-stream chunks carry a trailing space ("lorem ", "ipsum "): compare the words.
    assert "".join(received).split() == REPLY_WORDS[:2], received
    err = info.value
    # The SDK raises the base APIError (not a status error) for an in-stream error event.
    assert not isinstance(err, openai.APIStatusError)
    assert err.code == "upstream_error", err.body
    assert err.type == "server_error", err.body
    assert isinstance(err.body, dict) and err.body.get("message"), err.body


# --- keys and usage --------------------------------------------------------------------------

def test_revoked_key(gateway: Gateway):
    created = gateway.create_key(preset="dev")
    client = gateway.client(created["key"])
    ok = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "before revocation"}],
    )
    assert ok.choices[0].message.content == reply(12)

    gateway.cli("keys", "revoke", created["id"])

    def refused() -> openai.AuthenticationError:
        try:
            client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "after"}],
            )
        except openai.AuthenticationError as err:
            return err
        raise AssertionError("revoked key still accepted")

    err = poll(refused, REVOCATION_WAIT_S)
    assert_error(err, 401, "invalid_api_key")


def test_usage_recorded(gateway: Gateway):
    """Runs last: a fresh key's calls are counted exactly; the models' rows include them."""
    created = gateway.create_key(preset="dev")
    client = gateway.client(created["key"])
    chat_prompts = ["usage one", "usage two three"]
    for content in chat_prompts:
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": content}],
        )
    client.embeddings.create(model="text-embedding-3-small", input="four five six seven",
                             encoding_format="float")
    with pytest.raises(openai.PermissionDeniedError):  # refused: counted, as an error
        client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "refused"}],
        )
    client.models.list()  # writes no usage row

    expected_input = sum(prompt_tokens(c) for c in chat_prompts) + 4
    expected_output = 12 * len(chat_prompts)

    def key_row() -> dict:
        rows = gateway.usage("key")
        row = rows.get(created["id"])
        assert row is not None, f"no usage row for {created['id']}: {rows}"
        assert row["requests"] == 4, row
        assert row["input_tokens"] == expected_input, row
        assert row["output_tokens"] == expected_output, row
        assert row["errors"] == 1, row
        assert row["rate_limited"] == 0, row
        return row

    row = poll(key_row, USAGE_FLUSH_WAIT_S)
    assert isinstance(row["cost_usd"], (int, float)) and row["cost_usd"] > 0, row

    by_model = gateway.usage("model")
    for row in by_model.values():
        assert set(row) >= {"group", "requests", "input_tokens", "output_tokens",
                            "cost_usd", "errors", "rate_limited"}, row
    assert set(by_model) >= DEMO_MODELS, by_model
    mini = by_model["gpt-4o-mini"]
    assert mini["requests"] >= 2 and mini["output_tokens"] >= expected_output, mini
    assert by_model["text-embedding-3-small"]["requests"] >= 1
    assert by_model["gpt-4o"]["requests"] >= 1
    assert by_model["gpt-4o"]["errors"] >= 1  # at least the refused call above
    total = sum(r["requests"] for r in by_model.values())
    assert total >= 10, by_model
