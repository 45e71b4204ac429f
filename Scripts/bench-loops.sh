#!/usr/bin/env bash
# Measures Haven with one and with two event loops, each way three times (RUNS=N for more), and
# prints the medians side by side. "pinned": the server on CPU 0 and the load generator on CPU 1
# (taskset), so the two never share a core; "free": both anywhere. On a two-core machine two
# loops pinned to one CPU show what the hand-off between loops costs, and free, what a second
# core brings while the generator wants it too.
set -euo pipefail
cd "$(dirname "$0")/.."

bash Scripts/bootstrap.sh >&2
swift build -c release --product haven >&2
runs=${RUNS:-3}
out=$(mktemp -d)
phases=(--phase room --phase direct --phase mix --phase room_rate --room-rates 100,1600,6400 --body-bytes 200)
for run in $(seq "$runs"); do
    for loops in 1 2; do
        echo "run $run: $loops loop(s), pinned" >&2
        taskset -c 1 .build/release/haven bench --loops "$loops" --server-cpus 0 "${phases[@]}" > "$out/pinned-$loops-$run.jsonl"
        echo "run $run: $loops loop(s), free" >&2
        .build/release/haven bench --loops "$loops" "${phases[@]}" > "$out/free-$loops-$run.jsonl"
    done
done
python3 - "$out" <<'PY'
import glob, json, statistics, sys
folder = sys.argv[1]

def phase(lines, name):
    return next((line for line in lines if line.get("phase") == name), {})

def figures(path):
    lines = [json.loads(line) for line in open(path) if line.startswith("{")]
    room, direct, mix = phase(lines, "room"), phase(lines, "direct"), phase(lines, "mix")
    rates = {line["offered_messages_per_s"]: line for line in lines if line.get("phase") == "room_rate"}
    at100 = min(rates.items(), key=lambda item: abs(item[0] - 100))[1] if rates else {}
    return {
        "room deliveries/s at saturation": room["saturation"]["deliveries_per_s"],
        "room p99 ms at half load": room["fixed_load"]["latency_ms"]["p99"],
        "direct deliveries/s at saturation": direct["saturation"]["deliveries_per_s"],
        "direct p99 ms at half load": direct["fixed_load"]["latency_ms"]["p99"],
        "mix room p99 ms": mix["latency_ms"]["room_delivery"]["p99"],
        "CPU us per delivery, 100 msg/s": at100.get("server", {}).get("cpu_us_per_delivery"),
    }

table = {}
for path in sorted(glob.glob(folder + "/*.jsonl")):
    setup = path.rsplit("/", 1)[1].rsplit("-", 1)[0]
    for name, value in figures(path).items():
        table.setdefault(name, {}).setdefault(setup, []).append(value)
setups = ["pinned-1", "pinned-2", "free-1", "free-2"]
print("| measure (median) | " + " | ".join(setups) + " |")
print("|---" * (len(setups) + 1) + "|")
for name, by_setup in table.items():
    cells = [f"{statistics.median(by_setup[s]):,.1f}" if by_setup.get(s) and None not in by_setup[s] else "–" for s in setups]
    print(f"| {name} | " + " | ".join(cells) + " |")
print(f"(raw JSON lines in {folder})")
PY
