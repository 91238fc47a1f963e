#!/usr/bin/env bash
# Fuzzes the JSON-RPC transport (FrameParser, JSONParser, JSONWriter, Message)
# with libFuzzer and AddressSanitizer. The harness lives in bench/fuzz, a
# package of its own, so the main build never needs the fuzzer runtime.
#
#   bench/fuzz.sh                 # 10 million inputs (FUZZ_RUNS)
#   FUZZ_RUNS=100000 bench/fuzz.sh
#   FUZZ_SECONDS=60 bench/fuzz.sh # a time box instead (what CI runs)
#   bench/fuzz.sh -jobs=2 ...     # extra arguments go to libFuzzer
#
# It first replays every saved crash in bench/fuzz/regressions, then fuzzes
# from the seeds in bench/fuzz/corpus (plus Protocol/conformance/*.jsonl when
# present) into a working corpus under bench/out/fuzz-corpus. A crash or a
# broken property leaves its input in bench/out/fuzz-crashes and fails.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
fuzz="$root/bench/fuzz"
out="$root/bench/out"
runs="${FUZZ_RUNS:-10000000}"
seconds="${FUZZ_SECONDS:-}"
max_len="${FUZZ_MAX_LEN:-1024}"

mkdir -p "$out/fuzz-corpus" "$out/fuzz-crashes" "$out/fuzz-seeds"

echo "== building the fuzz target (release, -sanitize=fuzzer,address)" >&2
(cd "$fuzz" && swift build -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library) \
  > "$out/fuzz-build.log" 2>&1 || { cat "$out/fuzz-build.log" >&2; exit 1; }
bin="$fuzz/.build/release/FuzzJSONRPC"

# Conformance transcripts (Protocol/conformance/*.jsonl) become seeds: what
# each one sends, as one stream in each framing and message by message.
rm -f "$out/fuzz-seeds"/*
shopt -s nullglob
python3 - "$out/fuzz-seeds" "$root"/Protocol/conformance/*.jsonl <<'PY'
import json, os, sys
seeds = sys.argv[1]
for path in sys.argv[2:]:
    name = os.path.basename(path)[:-len(".jsonl")]
    chunks = []
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if not line:
            continue
        step = json.loads(line)
        if "send" in step:
            body = json.dumps(step["send"], separators=(",", ":"), ensure_ascii=False).encode()
            chunks.append((body, True))
        elif "sendRaw" in step:
            chunks.append((step["sendRaw"].encode(), False))
        elif "sendBytes" in step:
            chunks.append((bytes(step["sendBytes"]), False))
    def framed(body, lsp):
        return b"Content-Length: %d\r\n\r\n" % len(body) + body if lsp else body + b"\n"
    for lsp in (False, True):
        stream = b"".join(framed(b, lsp) if whole else b for b, whole in chunks)
        with open(os.path.join(seeds, f"{name}.{'lsp' if lsp else 'ndjson'}"), "wb") as f:
            f.write(stream)
    for n, (body, whole) in enumerate(chunks):
        with open(os.path.join(seeds, f"{name}.{n}"), "wb") as f:
            f.write(framed(body, n % 2 == 1) if whole else body)
PY

# Swift's backtracer and ASan both want the crash; let ASan have it.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0}"

regressions=("$fuzz"/regressions/*)
if ((${#regressions[@]})); then
  echo "== replaying ${#regressions[@]} saved crash input(s)" >&2
  "$bin" "${regressions[@]}" > "$out/fuzz-regressions.log" 2>&1 || {
    cat "$out/fuzz-regressions.log" >&2
    echo "FAIL: a saved crash input fails again" >&2
    exit 1
  }
fi

limit=(-runs="$runs")
[[ -n "$seconds" ]] && limit=(-max_total_time="$seconds")
echo "== fuzzing: ${limit[*]} -max_len=$max_len" >&2
log="$out/fuzz.log"
start=$(date +%s)
set +e
"$bin" "${limit[@]}" -max_len="$max_len" -print_final_stats=1 \
  -artifact_prefix="$out/fuzz-crashes/" \
  "$out/fuzz-corpus" "$fuzz/corpus" "$out/fuzz-seeds" "$@" > "$log" 2>&1
status=$?
set -e
elapsed=$(( $(date +%s) - start ))

execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
echo "fuzz: ${execs:-?} inputs in ${elapsed}s (${rate:-?} exec/s), ${cov:-cov: ?}, exit $status" >&2
if ((status != 0)); then
  grep -m1 -A4 -E 'Fatal error|ERROR: AddressSanitizer|ERROR: libFuzzer' "$log" >&2 || tail -20 "$log" >&2
  echo "FAIL: the input is in $out/fuzz-crashes; full log in $log" >&2
  exit 1
fi
