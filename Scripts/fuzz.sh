#!/usr/bin/env bash
# Fuzzes the frame decoder and the HTTP parser with the toolchain's libFuzzer, under
# AddressSanitizer: `bash Scripts/fuzz.sh [SECONDS]` (60 by default) runs each target that long.
# The corpus starts from the protocol's test vectors and a few hand-written requests, and grows
# in .build-fuzz/corpus (kept between runs); a crash leaves its input in .build-fuzz/crashes and
# fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
scratch=.build-fuzz

echo "fuzz: building the targets with -sanitize=fuzzer,address"
HAVEN_FUZZ=1 swift build --scratch-path "$scratch" -c debug --product FuzzFrames -Xswiftc -sanitize=fuzzer,address -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld
HAVEN_FUZZ=1 swift build --scratch-path "$scratch" -c debug --product FuzzHTTP -Xswiftc -sanitize=fuzzer,address -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld
bin="$(HAVEN_FUZZ=1 swift build --scratch-path "$scratch" -c debug --show-bin-path)"

mkdir -p "$scratch/corpus/frames" "$scratch/corpus/http" "$scratch/crashes"
python3 - "$scratch/corpus" <<'PY'
import hashlib, json, pathlib, sys
corpus = pathlib.Path(sys.argv[1])
vectors = json.load(open("Tests/HavenProtocolTests/Vectors/vectors.json"))
frames = [case["frame"] for case in vectors["rejectedFrames"]]
frames += [
    json.dumps({"v": 1, "type": "send", "envelope": vectors["roomMessage"]["envelope"]}),
    json.dumps({"v": 1, "type": "direct", "message": vectors["directMessage"]["message"]}),
    json.dumps({"v": 1, "type": "auth", "member": vectors["auth"]["member"], "signature": vectors["auth"]["signature"], "displayName": "Quiet Otter"}),
    '{"v":1,"type":"join","room":"lobby","replayHistory":true}', '{"v":1,"type":"listRooms"}',
    '{"v":1,"type":"requestTurn","call":"AAAAAAAAAAAAAAAAAAAAAA"}', '{"v":1,"type":"listReports","before":"AAAAAAAAAAAAAAAAAAAAAA"}',
]
requests = [
    "GET / HTTP/1.1\r\nHost: haven\r\n\r\n",
    "GET /v1/ws HTTP/1.1\r\nHost: haven\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    "POST /v1/blobs HTTP/1.1\r\nHost: haven\r\nAuthorization: Bearer AAAA\r\nContent-Length: 5\r\n\r\nhello",
    "POST /v1/blobs HTTP/1.1\r\nHost: haven\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "GET /metrics HTTP/1.1\r\nHost: haven\r\nX-Forwarded-For: 203.0.113.7, 2001:db8::1\r\n\r\nGET /healthz HTTP/1.1\r\n\r\n",
]
for folder, seeds, prefix in (("frames", frames, b""), ("http", requests, b"\x10")):
    for seed in seeds:
        data = prefix + seed.encode()
        (corpus / folder / hashlib.sha256(data).hexdigest()[:16]).write_bytes(data)
PY

for target in frames http; do
    binary="$bin/Fuzz$( [ "$target" = frames ] && echo Frames || echo HTTP )"
    echo "fuzz: $(basename "$binary") for $seconds s"
    status=0
    "$binary" "$scratch/corpus/$target" -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$scratch/crashes/$target-" -print_final_stats=1 > "$scratch/$target.log" 2>&1 || status=$?
    grep -E "^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+==ERROR|SUMMARY)" "$scratch/$target.log" || true
    if [ "$status" -ne 0 ]; then
        tail -40 "$scratch/$target.log" >&2
        echo "fuzz: $target failed (exit $status); any crashing input is in $scratch/crashes" >&2
        exit 1
    fi
done
echo "fuzz: no crash in $seconds s per target"
