"""The vendors' official SDKs as the judge of our emulators.

    judge.py VENDOR BASE_URL KEY CASE.json

Drives one emulator with the vendor's own SDK (`openai`, `google-genai`, `volcengine-ark-runtime`;
DeepSeek and Yunwu document the `openai` SDK as theirs)
for every operation CineGen's adapter uses, plus the errors the adapter must tell apart. Prints one
JSON object on standard output:

    {"checks": [{"name", "ok", "detail"}], "requests": {operation: [request, ...]}}

`checks` say whether the SDK took each answer as it takes the vendor's (parsed into its own types,
validated by its own models, errors raised as its own exception classes, a 429 retried after the
Retry-After it carries). `requests` are what the emulator saw the SDK send for each operation; the
Rust side compares them with what our adapter sends for the same inputs (`CASE.json`).
"""

import base64
import json
import sys
import time
import urllib.request

VENDOR, BASE, KEY, CASE_PATH = sys.argv[1:5]
with open(CASE_PATH, encoding="utf-8") as case_file:
    CASE = json.load(case_file)
PNG = base64.b64decode(CASE["png_base64"])

checks = []
requests = {}


def check(name, ok, detail=""):
    checks.append({"name": name, "ok": bool(ok), "detail": str(detail)[:600]})


def control(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(BASE + path, data=data, method=method, headers={"content-type": "application/json"})
    with urllib.request.urlopen(request) as answer:
        raw = answer.read()
    return json.loads(raw) if raw else None


def fault(kind, retry_after_secs=1):
    control("POST", "/_emulator/faults", {"fault": kind, "retry_after_secs": retry_after_secs})


def operation(name, call):
    """Runs one SDK call with the record cleared before, keeps what the emulator saw."""
    control("DELETE", "/_emulator/requests")
    try:
        result = call()
    except Exception as error:  # the check names the SDK's own exception
        check(name, False, f"{type(error).__name__}: {error}")
        result = None
    requests[name] = control("GET", "/_emulator/requests")
    return result


def expect_error(name, call, classes, status):
    """A fault must come out as the SDK's own exception class with the right status."""
    try:
        call()
    except classes as error:
        got = getattr(error, "status_code", None) or getattr(error, "code", None)
        check(name, got == status, f"{type(error).__name__} status {got}: {error}")
        return error
    except Exception as error:
        check(name, False, f"expected {classes} ({status}), got {type(error).__name__}: {error}")
        return None
    check(name, False, f"expected {classes} ({status}), the call succeeded")
    return None


# --- OpenAI and the vendors that tell their users to use its SDK (DeepSeek) --------------------


def judge_openai_compatible(api_base, with_images, with_speech):
    import openai
    from openai.types import ImagesResponse
    from openai.types.chat import ChatCompletion

    client = openai.OpenAI(api_key=KEY, base_url=api_base, max_retries=0)
    messages = [{"role": "system", "content": CASE["system"]}, {"role": "user", "content": CASE["user"]}]
    response_format = CASE.get("response_format") or {"type": "json_object"}
    chat_args = dict(model=CASE["text_model"], messages=messages, response_format=response_format, stream=False)
    chat_args[CASE["max_tokens_field"]] = 8192
    if CASE.get("chat_extra"):
        # Vendor parameters the SDK has no argument for go as its documented `extra_body`.
        chat_args["extra_body"] = CASE["chat_extra"]

    listed = operation("models", lambda: client.models.with_raw_response.list())
    if listed is not None:
        from openai.types import Model

        models = [Model.model_validate(m) for m in listed.http_response.json()["data"]]
        check("models: the list is the SDK's Model objects", models and all(m.object == "model" for m in models), [m.id for m in models])

    raw = operation("chat", lambda: client.chat.completions.with_raw_response.create(**chat_args))
    if raw is not None:
        completion = raw.parse()
        strict = ChatCompletion.model_validate(raw.http_response.json())
        content = completion.choices[0].message.content
        json.loads(content)
        check("chat: answer is a ChatCompletion with JSON content", strict.choices and content, content[:80])
        check("chat: usage reported", completion.usage and completion.usage.total_tokens > 0, completion.usage)

    expect_error("chat: refused key is AuthenticationError", lambda: (fault("unauthorized"), client.chat.completions.create(**chat_args)), openai.AuthenticationError, 401)
    expect_error("chat: a server fault is InternalServerError", lambda: (fault("server_error"), client.chat.completions.create(**chat_args)), openai.InternalServerError, CASE.get("server_error_status", 500))
    limited = expect_error("chat: 429 is RateLimitError", lambda: (fault("rate_limited", 2), client.chat.completions.create(**chat_args)), openai.RateLimitError, 429)
    if limited is not None and CASE.get("retry_after", True):
        check("chat: 429 carries Retry-After", limited.response.headers.get("retry-after") == "2", dict(limited.response.headers))
    retrying = openai.OpenAI(api_key=KEY, base_url=api_base, max_retries=1)
    fault("rate_limited", 1)
    control("DELETE", "/_emulator/requests")
    started = time.monotonic()
    try:
        retrying.chat.completions.create(**chat_args)
        waited = time.monotonic() - started
        seen = len(control("GET", "/_emulator/requests"))
        honoured = waited >= 0.9 or not CASE.get("retry_after", True)
        check("chat: the SDK retries a 429 (after its Retry-After) and succeeds", seen == 2 and honoured, f"{seen} requests, {waited:.2f} s")
    except Exception as error:
        check("chat: the SDK retries a 429 after its Retry-After and succeeds", False, error)

    if with_images:
        size = CASE["image_size"]
        options = dict(CASE.get("image_options", {}))
        generated = operation("image", lambda: client.images.with_raw_response.generate(model=CASE["image_model"], prompt=CASE["prompt"], n=1, size=size, **options))
        if generated is not None:
            strict = ImagesResponse.model_validate(generated.http_response.json())
            image = base64.b64decode(generated.parse().data[0].b64_json)
            check("image: answer is an ImagesResponse holding a PNG", strict.data and image.startswith(b"\x89PNG"), len(image))
        edited = operation(
            "image_edit",
            lambda: client.images.edit(model=CASE["image_model"], image=[("reference-1.png", PNG, "image/png")], prompt=CASE["prompt"], n=1, size=size, **options, **CASE.get("edit_options", {})),
        )
        if edited is not None:
            check("image edit: answer holds a PNG", base64.b64decode(edited.data[0].b64_json).startswith(b"\x89PNG"))
        refusal = expect_error(
            "image: a refused prompt is BadRequestError",
            lambda: (fault("refusal"), client.images.generate(model=CASE["image_model"], prompt=CASE["prompt"], n=1, size=size)),
            openai.BadRequestError,
            400,
        )
        if refusal is not None:
            check("image: the refusal names its code", refusal.code, refusal.code)

    if with_speech:
        speech_args = dict(model=CASE["speech_model"], voice=CASE["voice"], input=CASE["line"], response_format="wav", speed=CASE["speed"], instructions=CASE["instructions"])
        audio = operation("speech", lambda: client.audio.speech.create(**speech_args))
        if audio is not None:
            check("speech: answer is WAV audio", audio.content.startswith(b"RIFF"), audio.response.headers.get("content-type"))


# --- Gemini (google-genai) ----------------------------------------------------------------------


def judge_gemini():
    from google import genai
    from google.genai import errors, types

    client = genai.Client(api_key=KEY, http_options=types.HttpOptions(base_url=BASE, api_version="v1beta"))
    models = operation("models", lambda: list(client.models.list(config={"page_size": 1000})))
    if models is not None:
        check("models: the SDK reads the list", [m.name for m in models][:1] == ["models/gemini-3.5-flash"], [m.name for m in models])
        check("models: actions are read", "generateContent" in (models[-1].supported_actions or []), models[-1])
    paged = list(client.models.list(config={"page_size": 2}))
    check("models: the SDK follows nextPageToken through every page", len(paged) == len(models or []) == 5, [m.name for m in paged])
    text_config = types.GenerateContentConfig(
        system_instruction=CASE["system"],
        response_mime_type="application/json",
        response_schema=CASE["gemini_schema"],
        max_output_tokens=32768,
    )
    answer = operation("chat", lambda: client.models.generate_content(model=CASE["text_model"], contents=[types.Content(role="user", parts=[types.Part(text=CASE["user"])])], config=text_config))
    if answer is not None:
        check("text: answer parses and holds JSON", json.loads(answer.text) is not None, answer.text[:80])
        check("text: usage metadata read", answer.usage_metadata and answer.usage_metadata.total_token_count, answer.usage_metadata)

    image_config = types.GenerateContentConfig(
        response_modalities=["TEXT", "IMAGE"],
        image_config=types.ImageConfig(aspect_ratio=CASE["aspect_ratio"], image_size=CASE.get("gemini_image_size")),
    )
    parts = [types.Part(text=CASE["prompt"]), types.Part.from_bytes(data=PNG, mime_type="image/png")]
    answer = operation("image", lambda: client.models.generate_content(model=CASE["image_model"], contents=[types.Content(role="user", parts=parts)], config=image_config))
    if answer is not None:
        images = [part.inline_data.data for part in answer.candidates[0].content.parts if part.inline_data]
        check("image: answer holds an inline PNG", images and images[0].startswith(b"\x89PNG"), len(images))

    # Video: Gemini Omni through the Interactions API (google-genai 3.x refuses Veo's
    # `generate_videos` on the Developer API, as the fact sheet's retirement of the Veo ids says).
    video_args = dict(model=CASE["video_model"], background=True, input=CASE["video_input"], response_format=CASE["video_format"])
    if CASE.get("video_config"):
        video_args["generation_config"] = CASE["video_config"]
    created = operation("video_submit", lambda: client.interactions.create(**video_args))
    if created is not None:
        check("video: submit answers an interaction in progress", created.id and created.status == "in_progress", created)
        done = operation("video_poll", lambda: client.interactions.get(created.id))
        for _ in range(10):
            if done is None or done.status not in ("in_progress", "queued"):
                break
            done = client.interactions.get(created.id)
        video = done and done.output_video
        check("video: the interaction completes with a video link", done is not None and done.status == "completed" and video and video.uri, done)
        tokens = {m.modality: m.tokens for m in (done.usage.output_tokens_by_modality or [])} if done and done.usage else {}
        check("video: the SDK reads the video tokens used", tokens.get("video", 0) > 0, done and done.usage)
        second = client.interactions.create(**video_args)
        cancelled = operation("video_cancel", lambda: client.interactions.cancel(second.id))
        check("video: a running interaction can be cancelled", cancelled is not None and cancelled.status == "cancelled", cancelled)

    def denied():
        fault("unauthorized")
        client.models.generate_content(model=CASE["text_model"], contents="hi")

    def limited():
        fault("rate_limited", 2)
        client.models.generate_content(model=CASE["text_model"], contents="hi")

    def broken():
        fault("server_error")
        client.models.generate_content(model=CASE["text_model"], contents="hi")

    error = expect_error("refused key is ClientError", denied, errors.ClientError, 403)
    if error is not None:
        check("refused key is PERMISSION_DENIED", error.status == "PERMISSION_DENIED", error.details)
    error = expect_error("429 is ClientError RESOURCE_EXHAUSTED", limited, errors.ClientError, 429)
    if error is not None:
        check("429 status is RESOURCE_EXHAUSTED", error.status == "RESOURCE_EXHAUSTED", error.status)
    expect_error("500 is ServerError", broken, errors.ServerError, 500)


# --- Doubao on Volcengine Ark (volcengine-ark-runtime) ------------------------------------------


def judge_ark():
    from volcenginesdkarkruntime import Ark
    from volcenginesdkarkruntime._exceptions import ArkAPIStatusError, ArkAuthenticationError, ArkRateLimitError
    from volcenginesdkarkruntime.types.chat import ChatCompletion

    client = Ark(api_key=KEY, base_url=BASE + "/api/v3", max_retries=0)
    messages = [{"role": "system", "content": CASE["system"]}, {"role": "user", "content": CASE["user"]}]
    chat_args = dict(model=CASE["text_model"], messages=messages, response_format={"type": "json_object"}, max_tokens=8192, stream=False, thinking={"type": "disabled"})
    raw = operation("chat", lambda: client.chat.completions.with_raw_response.create(**chat_args))
    if raw is not None:
        strict = ChatCompletion.model_validate(raw.http_response.json())
        check("chat: answer is a ChatCompletion with JSON content", json.loads(strict.choices[0].message.content) is not None)

    image_args = dict(model=CASE["image_model"], prompt=CASE["prompt"], image="data:image/png;base64," + CASE["png_base64"], size=CASE["image_size"], response_format="url", watermark=False)
    # The Ark SDK builds its answers without validating them, and its models cannot be used to
    # validate (an image requires both `url` and `b64_json`, which no answer holds): the checks
    # read the fields as a user of the SDK does.
    built = operation("image", lambda: client.images.generate(**image_args))
    if built is not None:
        check("image: the SDK reads the count of generated images", built.usage.generated_images == len(built.data), built.usage)
        with urllib.request.urlopen(built.data[0].url) as answer:
            check("image: answer links a PNG", answer.read().startswith(b"\x89PNG"))

    content = [
        {"type": "text", "text": CASE["prompt"]},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64," + CASE["png_base64"]}, "role": "first_frame"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64," + CASE["png_base64"]}, "role": "last_frame"},
    ]
    task_args = dict(model=CASE["video_model"], content=content, ratio=CASE["video_ratio"], duration=CASE["video_duration"], resolution=CASE["video_resolution"], watermark=False, generate_audio=CASE.get("generate_audio"))
    created = operation("video_submit", lambda: client.content_generation.tasks.create(**task_args))
    if created is not None:
        check("video: submit answers a task id", created.id, created.id)
        built = operation("video_poll", lambda: client.content_generation.tasks.get(task_id=created.id))
        task = built
        for _ in range(10):
            if task is None or task.status in ("succeeded", "failed", "expired", "cancelled"):
                break
            task = client.content_generation.tasks.get(task_id=created.id)
        check("video: the task succeeds with a video link", task is not None and task.status == "succeeded" and task.content.video_url, task)
        check("video: the SDK reads the tokens used", task is not None and task.usage.completion_tokens > 0, task and task.usage)
        second = client.content_generation.tasks.create(**task_args)
        operation("video_cancel", lambda: client.content_generation.tasks.delete(task_id=second.id))
        check("video: a queued task can be cancelled", "video_cancel" in requests and requests["video_cancel"], second.id)

    expect_error("refused key is ArkAuthenticationError", lambda: (fault("unauthorized"), client.chat.completions.create(**chat_args)), ArkAuthenticationError, 401)
    limited = expect_error("429 is ArkRateLimitError", lambda: (fault("rate_limited", 2), client.chat.completions.create(**chat_args)), ArkRateLimitError, 429)
    if limited is not None:
        check("429 carries Retry-After", limited.response.headers.get("retry-after") == "2", dict(limited.response.headers))
    expect_error("500 is ArkAPIStatusError", lambda: (fault("server_error"), client.chat.completions.create(**chat_args)), ArkAPIStatusError, 500)


JUDGES = {
    "openai": lambda: judge_openai_compatible(BASE + "/v1", with_images=True, with_speech=True),
    "deepseek": lambda: judge_openai_compatible(BASE, with_images=False, with_speech=False),
    # Yunwu relays OpenAI's wire format and tells its users to point the OpenAI SDK at it.
    "yunwu": lambda: judge_openai_compatible(BASE + "/v1", with_images=True, with_speech=False),
    "gemini": judge_gemini,
    "doubao": judge_ark,
}

try:
    JUDGES[VENDOR]()
except Exception as error:  # a judge that breaks halfway is itself a failed check
    check("the judge ran to the end", False, f"{type(error).__name__}: {error}")
print(json.dumps({"checks": checks, "requests": requests}, ensure_ascii=False))
