# Shared helpers of the scripts in this folder. Sourced, not run.

# Builds share one target directory (default ~/.cache/cinegen/target) so dependencies compile
# once per machine. Cargo records source files by absolute path, so a build from another checkout
# could look up to date while holding that checkout's code: when the checkout changes, this drops
# the workspace's own crates (not the dependencies) so they are rebuilt from this one.
prepare_target_dir() {
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cinegen/target}"
  mkdir -p "$CARGO_TARGET_DIR"
  local marker="$CARGO_TARGET_DIR/.cinegen-checkout" here
  here=$(pwd -P)
  if [[ -f "$marker" && "$(cat "$marker")" != "$here" ]]; then
    local crates=()
    for manifest in crates/*/Cargo.toml; do
      crates+=(-p "$(sed -n 's/^name = "\(.*\)"/\1/p' "$manifest" | head -n 1)")
    done
    cargo clean --quiet "${crates[@]}"
    cargo clean --quiet --release "${crates[@]}"
  fi
  echo "$here" >"$marker"
}

banner() {
  printf '\n==================== %s ====================\n\n' "$*" >&2
}

port_open() { # host port
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Host and port of a postgres:// or redis:// URL.
url_host() { sed -E 's#^[a-z]+://([^@/]*@)?([^:/?]+).*#\2#' <<<"$1"; }
url_port() { local p; p=$(sed -nE 's#^[a-z]+://([^@/]*@)?[^:/?]+:([0-9]+).*#\2#p' <<<"$1"); echo "${p:-$2}"; }

pg_bin() {
  command -v "$1" 2>/dev/null || ls /usr/lib/postgresql/*/bin/"$1" 2>/dev/null | sort -V | tail -n 1
}

# Uses the configured PostgreSQL, or starts a throwaway cluster in $1 and points the tests at it.
ensure_postgres() {
  local scratch=$1
  if port_open "$(url_host "$CINEGEN_TEST_PG_URL")" "$(url_port "$CINEGEN_TEST_PG_URL" 5432)"; then
    return 0
  fi
  local initdb pg_ctl
  initdb=$(pg_bin initdb) pg_ctl=$(pg_bin pg_ctl)
  [[ -n "$initdb" && -n "$pg_ctl" ]] || return 1
  banner "PostgreSQL not reachable at $CINEGEN_TEST_PG_URL: starting a throwaway one"
  local port dir runner=()
  port=$(free_port)
  dir="$scratch/pg"
  mkdir -p "$dir"
  # initdb refuses to run as root.
  if [[ $(id -u) == 0 ]]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    chmod 755 "$scratch"
    chown -R postgres "$dir"
    runner=(runuser -u postgres --)
  fi
  # Called in a condition, where `set -e` does not apply: failures stop the run explicitly.
  "${runner[@]}" "$initdb" -D "$dir/data" -U postgres --auth=trust >/dev/null || { echo "initdb failed" >&2; exit 1; }
  "${runner[@]}" "$pg_ctl" -D "$dir/data" -l "$dir/log" -o "-p $port -k $dir -c listen_addresses=127.0.0.1" -w start \
    >/dev/null || { cat "$dir/log" >&2; exit 1; }
  echo "$pg_ctl -D $dir/data" >"$scratch/pg.stop"
  printf '%s\n' "${runner[@]}" >"$scratch/pg.runner"
  export CINEGEN_TEST_PG_URL="postgres://postgres@127.0.0.1:$port/postgres"
}

# Uses the configured Redis, or starts a throwaway one and points the tests at it.
ensure_redis() {
  local scratch=$1
  if port_open "$(url_host "$CINEGEN_TEST_REDIS_URL")" "$(url_port "$CINEGEN_TEST_REDIS_URL" 6379)"; then
    return 0
  fi
  command -v redis-server >/dev/null || return 1
  banner "Redis not reachable at $CINEGEN_TEST_REDIS_URL: starting a throwaway one"
  local port
  port=$(free_port)
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
    --pidfile "$scratch/redis.pid" --logfile "$scratch/redis.log" --dir "$scratch" || exit 1
  for _ in $(seq 50); do port_open 127.0.0.1 "$port" && break; sleep 0.1; done
  export CINEGEN_TEST_REDIS_URL="redis://127.0.0.1:$port"
}

# Starts an S3-compatible server (s3s-fs, installed from crates.io at the last version this
# toolchain builds) unless CINEGEN_TEST_S3_ENDPOINT names one, with the test bucket created.
ensure_s3() {
  local scratch=$1
  export CINEGEN_TEST_S3_BUCKET="${CINEGEN_TEST_S3_BUCKET:-cinegen-test}"
  export CINEGEN_TEST_S3_ACCESS_KEY="${CINEGEN_TEST_S3_ACCESS_KEY:-cinegen}"
  export CINEGEN_TEST_S3_SECRET_KEY="${CINEGEN_TEST_S3_SECRET_KEY:-cinegen-secret}"
  [[ -n "${CINEGEN_TEST_S3_ENDPOINT:-}" ]] && return 0
  if ! command -v s3s-fs >/dev/null; then
    banner "installing s3s-fs (S3-compatible test server)"
    cargo install s3s-fs@0.14.1 --features binary --locked || return 1
  fi
  local port
  port=$(free_port)
  mkdir -p "$scratch/s3/$CINEGEN_TEST_S3_BUCKET"
  s3s-fs --host 127.0.0.1 --port "$port" --access-key "$CINEGEN_TEST_S3_ACCESS_KEY" \
    --secret-key "$CINEGEN_TEST_S3_SECRET_KEY" "$scratch/s3" >"$scratch/s3s.log" 2>&1 &
  echo $! >"$scratch/s3s.pid"
  for _ in $(seq 50); do port_open 127.0.0.1 "$port" && break; sleep 0.1; done
  export CINEGEN_TEST_S3_ENDPOINT="http://127.0.0.1:$port"
}

# Starts moto (an S3 emulator from PyPI) for the S3 multipart tests, with the test bucket.
ensure_moto() {
  local scratch=$1
  [[ -n "${CINEGEN_TEST_MOTO_ENDPOINT:-}" ]] && return 0
  if ! command -v moto_server >/dev/null; then
    banner "installing moto (S3 emulator for multipart tests)"
    python3 -m pip install --quiet "moto[server]" || return 1
  fi
  local port
  port=$(free_port)
  moto_server -H 127.0.0.1 -p "$port" >"$scratch/moto.log" 2>&1 &
  echo $! >"$scratch/moto.pid"
  for _ in $(seq 100); do port_open 127.0.0.1 "$port" && break; sleep 0.1; done
  curl -sf -X PUT "http://127.0.0.1:$port/${CINEGEN_TEST_S3_BUCKET:-cinegen-test}" >/dev/null || return 1
  export CINEGEN_TEST_MOTO_ENDPOINT="http://127.0.0.1:$port"
}

# A command from a Debian package, installed where missing.
need_debian() { # command package
  command -v "$1" >/dev/null && return 0
  banner "installing $2"
  local sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$2" >/dev/null ||
    { DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get update -qq >/dev/null &&
      DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$2" >/dev/null; }
}

# ffmpeg and ffprobe make and merge clips; installed from Debian's packages where missing.
CJK_FONT=/usr/share/fonts/truetype/wqy/wqy-microhei.ttc
ensure_ffmpeg() {
  # A font with Chinese glyphs draws the films' AI-content label; espeak-ng is the offline
  # provider's voice.
  command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null && command -v espeak-ng >/dev/null \
    && [[ -f $CJK_FONT ]] && return 0
  banner "installing ffmpeg, espeak-ng and a CJK font (clips, merges, offline speech, the AI-content label)"
  local sudo=() packages=(ffmpeg espeak-ng fonts-wqy-microhei)
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  if ! DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends "${packages[@]}" >/dev/null; then
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get update -q >/dev/null || return 1
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends "${packages[@]}" >/dev/null || return 1
  fi
  command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null && command -v espeak-ng >/dev/null
}

stop_throwaway_services() {
  local scratch=$1
  if [[ -f "$scratch/pg.stop" ]]; then
    local runner=()
    mapfile -t runner <"$scratch/pg.runner"
    # shellcheck disable=SC2046
    "${runner[@]}" $(cat "$scratch/pg.stop") -m immediate stop >/dev/null 2>&1 || true
  fi
  if [[ -f "$scratch/moto.pid" ]]; then
    kill "$(cat "$scratch/moto.pid")" 2>/dev/null || true
  fi
  if [[ -f "$scratch/s3s.pid" ]]; then
    kill "$(cat "$scratch/s3s.pid")" 2>/dev/null || true
  fi
  if [[ -f "$scratch/redis.pid" ]]; then
    kill "$(cat "$scratch/redis.pid")" 2>/dev/null || true
  fi
}

ensure_nextest() {
  command -v cargo-nextest >/dev/null && return 0
  banner "installing cargo-nextest"
  cargo install cargo-nextest --locked
}

# schemathesis (PyPI) in a virtual environment of its own under the shared cache; sets $ST.
ensure_schemathesis() {
  local venv="${CINEGEN_CACHE:-$HOME/.cache/cinegen}/schemathesis"
  ST="$venv/bin/st"
  [[ -x "$ST" ]] && "$ST" --version >/dev/null 2>&1 && return 0
  banner "installing schemathesis (API fuzzing from the OpenAPI document)"
  python3 -m venv "$venv" || return 1
  "$venv/bin/pip" install --quiet "schemathesis>=4.1,<5" || return 1
}

# OpenTimelineIO (PyPI) with its FCPXML and CMX 3600 adapters, the reference reader of the
# editors' timelines, in a virtual environment of its own; sets $OTIO_PYTHON (the tests read
# CINEGEN_OTIO_PYTHON).
ensure_otio() {
  local venv="${CINEGEN_CACHE:-$HOME/.cache/cinegen}/otio"
  OTIO_PYTHON="$venv/bin/python"
  export CINEGEN_OTIO_PYTHON="$OTIO_PYTHON"
  [[ -x "$OTIO_PYTHON" ]] && "$OTIO_PYTHON" -c "import opentimelineio, otio_fcpx_xml_adapter, otio_cmx3600_adapter" 2>/dev/null && return 0
  banner "installing OpenTimelineIO (the reference reader of the exported timelines)"
  python3 -m venv "$venv" || return 1
  "$venv/bin/pip" install --quiet "opentimelineio>=0.17,<0.19" "otio-fcpx-xml-adapter>=1.0,<2" "otio-cmx3600-adapter>=1.0,<2" || return 1
}

# The vendors' official SDKs (PyPI), the judges of our emulators and adapters
# (crates/providers/tests/sdk_judge.rs), in a virtual environment of their own; sets and exports
# CINEGEN_SDK_PYTHON. Ark's runtime is installed alone, not the whole volcengine-python-sdk.
ensure_sdks() {
  local venv="${CINEGEN_CACHE:-$HOME/.cache/cinegen}/sdks"
  export CINEGEN_SDK_PYTHON="$venv/bin/python"
  [[ -x "$CINEGEN_SDK_PYTHON" ]] && "$CINEGEN_SDK_PYTHON" -c "import openai, google.genai, volcenginesdkarkruntime" 2>/dev/null && return 0
  banner "installing the vendors' SDKs (openai, google-genai, volcengine-ark-runtime)"
  python3 -m venv "$venv" || return 1
  "$venv/bin/pip" install --quiet "openai>=2,<4" "google-genai>=1.30,<4" "volcengine-ark-runtime>=5,<6" || return 1
}

# Debian's Chromium drives the end-to-end tests; browsers are never downloaded by Playwright.
# A CJK font makes the Chinese-first screenshots of the run legible.
ensure_chromium() {
  [[ -x /usr/bin/chromium && -f $CJK_FONT ]] && return 0
  banner "installing chromium and a CJK font (end-to-end tests)"
  local sudo=() packages=(chromium fonts-wqy-microhei)
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  if ! DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends "${packages[@]}" >/dev/null; then
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get update -q >/dev/null || return 1
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends "${packages[@]}" >/dev/null || return 1
  fi
  [[ -x /usr/bin/chromium ]]
}
