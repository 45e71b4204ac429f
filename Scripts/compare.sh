#!/usr/bin/env bash
# Compares Haven with ejabberd and Prosody (Debian's packages) on one room workload: 100 members,
# 20 of them sending 200-byte messages at a fixed total rate, history kept (MUC with the message
# archive on, in SQLite). For each server it prints one JSON line per offered rate, then a
# markdown table: CPU time per delivered message and latency at 100 messages/s, and the highest
# rate at which every delivery arrived (within the window + 2 s) with p99 latency under 1 s.
#
#   bash Scripts/compare.sh                 5 s windows, two bisection steps (the XMPP part
#                                           takes about 1.5 minutes, then Haven's bench runs)
#   bash Scripts/compare.sh --quick         3 s windows, one bisection step (XMPP: under 1 minute)
#   options: --skip-haven, --skip-xmpp, --servers ejabberd,prosody, --journal wal|delete,
#            --keep (leave the temporary folder with configs, logs and databases)
#
# Installs what it needs with apt-get (ejabberd, erlang-p1-sqlite3, prosody, lua-dbi-sqlite3,
# sqlite3, python3-uvloop) without starting their system services, and runs each XMPP server as
# a child of this script with its own config and data in a temporary folder, on free loopback
# ports, stopping it afterwards. The XMPP load comes from Scripts/compare_xmpp.py; Haven's from
# `haven bench --phase room_rate`. Everything shares this machine's cores: the JSON lines report
# the load generator's CPU next to the server's.
#
# The archive databases are put in WAL mode before the servers open them (--journal wal, the
# default), as Haven's store is; both servers then commit each archived message with SQLite's
# default synchronous=FULL, like Haven's default. --journal delete leaves SQLite's default
# rollback journal, which is what the servers get when left to create the file themselves.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

QUICK=0
SKIP_HAVEN=0
SKIP_XMPP=0
SERVERS="ejabberd,prosody"
JOURNAL=wal
KEEP=0
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) QUICK=1 ;;
        --skip-haven) SKIP_HAVEN=1 ;;
        --skip-xmpp) SKIP_XMPP=1 ;;
        --servers) SERVERS=$2; shift ;;
        --servers=*) SERVERS=${1#*=} ;;
        --journal) JOURNAL=$2; shift ;;
        --journal=*) JOURNAL=${1#*=} ;;
        --keep) KEEP=1 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "compare: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
case "$JOURNAL" in wal|delete) ;; *) echo "compare: --journal is wal or delete" >&2; exit 2 ;; esac

RATES=100,200,400,800,1600,3200,6400,12800
P99_BOUND_MS=1000
DRAIN=2
if [ "$QUICK" = 1 ]; then
    SECONDS_PER_RATE=3; BISECT=1; WARMUP=2
else
    SECONDS_PER_RATE=5; BISECT=2; WARMUP=3
fi

say() { echo "compare: $*" >&2; }
# Debian's Python (with Debian's python3-uvloop), whatever python3 comes first on the PATH.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

WORK=$(mktemp -d /tmp/haven-compare.XXXXXX)
RESULTS="$WORK/results.jsonl"
: >"$RESULTS"
CHILDREN=()

stop_child() { # pid: TERM, then KILL after 15 s
    local pid=$1 i
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 30); do
        kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
        sleep 0.5
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local pid
    for pid in "${CHILDREN[@]}"; do stop_child "$pid"; done
    if [ "$KEEP" = 1 ]; then say "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------------------------ installs

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

install_packages() {
    local wanted=(sqlite3 python3-uvloop) missing=() package
    case ",$SERVERS," in *,ejabberd,*) wanted+=(ejabberd erlang-p1-sqlite3) ;; esac
    case ",$SERVERS," in *,prosody,*) wanted+=(prosody lua-dbi-sqlite3) ;; esac
    for package in "${wanted[@]}"; do installed "$package" || missing+=("$package"); done
    [ ${#missing[@]} -gt 0 ] || return 0
    say "installing ${missing[*]}"
    # Keep the packages' maintainer scripts from starting the system services: a policy-rc.d
    # that refuses is honoured by invoke-rc.d and deb-systemd-invoke (only if none is there).
    local policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        policy=/usr/sbin/policy-rc.d
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod +x "$policy"
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >"$WORK/apt.log" 2>&1 \
        || { [ -z "$policy" ] || rm -f "$policy"; tail -20 "$WORK/apt.log" >&2; exit 1; }
    [ -z "$policy" ] || rm -f "$policy"
    # If a service was started all the same, stop it: this script runs its own instances.
    local service pidfile pid
    for service in ejabberd prosody; do
        case " ${missing[*]} " in *" $service "*) ;; *) continue ;; esac
        if [ -d /run/systemd/system ]; then
            systemctl stop "$service" 2>/dev/null || true
        fi
        for pidfile in "/run/$service/$service.pid"; do
            pid=$(cat "$pidfile" 2>/dev/null || true)
            if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
                say "stopping the $service service the install started (pid $pid)"
                kill -TERM "$pid" || true
            fi
        done
    done
}

# ------------------------------------------------------------------------------------ helpers

free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for_port() { # pid port name
    local pid=$1 port=$2 name=$3 i
    for i in $(seq 1 120); do
        if ! kill -0 "$pid" 2>/dev/null; then
            say "$name exited while starting"; return 1
        fi
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        sleep 0.5
    done
    say "$name did not listen on $port within 60 s"; return 1
}

new_database() { # path: an empty SQLite file in the chosen journal mode (kept in the file)
    if [ "$JOURNAL" = wal ]; then sqlite3 "$1" 'PRAGMA journal_mode=WAL;' >/dev/null; fi
}

run_generator() { # name pid port
    local name=$1 pid=$2 port=$3
    say "$name: measuring process $pid ($(cat "/proc/$pid/comm")) on port $port"
    "$PY" "$ROOT/Scripts/compare_xmpp.py" --server-name "$name" --server-pid "$pid" \
        --port "$port" --domain bench.localhost --rates "$RATES" --seconds "$SECONDS_PER_RATE" \
        --drain "$DRAIN" --warmup "$WARMUP" --bisect "$BISECT" --p99-bound-ms "$P99_BOUND_MS" \
        | tee -a "$RESULTS"
}

archive_rows() { # database table
    sqlite3 "$1" "SELECT count(*) FROM $2;" 2>/dev/null || echo "?"
}

# Measures an XMPP server just started as a child: waits for its port, runs the load, stops it,
# and says how many messages its archive kept and what its log complained of.
measure_child() { # name pid port database archive-table log error-pattern startup-log
    local name=$1 pid=$2 port=$3 database=$4 table=$5 log=$6 errors=$7 startup=$8
    CHILDREN+=("$pid")
    if ! wait_for_port "$pid" "$port" "$name"; then tail -20 "$startup" "$log" >&2 || true; return 1; fi
    run_generator "$name" "$pid" "$port" || say "$name: the generator failed"
    stop_child "$pid"
    say "$name: $(archive_rows "$database" "$table") messages in its archive ($(sqlite3 "$database" 'PRAGMA journal_mode;') journal)"
    grep -E "$errors" "$log" 2>/dev/null | head -5 >&2 || true
}

# ------------------------------------------------------------------------------------ ejabberd

run_ejabberd() {
    local dir="$WORK/ejabberd" port ebin libs
    mkdir -p "$dir/spool" "$dir/log"
    port=$(free_port)
    ebin=$(dpkg -L ejabberd | grep '/ebin/ejabberd\.beam$' | head -1)
    libs=$(dirname "$(dirname "$(dirname "$ebin")")") # the folder holding ejabberd-<version>/ebin
    new_database "$dir/ejabberd.db"
    sqlite3 "$dir/ejabberd.db" <"$(dpkg -L ejabberd | grep '/sql/lite\.sql$' | head -1)"
    cat >"$dir/ejabberd.yml" <<EOF
loglevel: warning
log_rotate_count: 0
hosts:
  - bench.localhost
certfiles: []
listen:
  -
    port: $port
    ip: "127.0.0.1"
    module: ejabberd_c2s
    backlog: 1024
    max_stanza_size: 262144
    shaper: none
    access: all
    starttls: false
auth_method: anonymous
anonymous_protocol: sasl_anon
allow_multiple_connections: true
default_db: sql
sql_type: sqlite
sql_database: "$dir/ejabberd.db"
shaper_rules:
  max_user_sessions: 1000
modules:
  mod_disco: {}
  mod_mam:
    db_type: sql
  mod_muc:
    host: "conference.bench.localhost"
    access: all
    access_create: all
    access_persistent: all
    access_mam: all
    max_users: 1000
    default_room_options:
      mam: true
      persistent: true
EOF
    # erl directly (not ejabberdctl, which switches to the ejabberd user and names an Erlang
    # node): no distribution, so no epmd; the pid is beam.smp's, all of ejabberd's threads.
    (cd "$dir" && exec env HOME="$dir" ERL_LIBS="$libs" EJABBERD_CONFIG_PATH="$dir/ejabberd.yml" \
        EJABBERD_LOG_PATH="$dir/log/ejabberd.log" ERL_CRASH_DUMP="$dir/log/erl_crash.dump" \
        ERL_MAX_PORTS=32000 erl -noinput -noshell +K true +P 250000 \
        -mnesia dir "\"$dir/spool\"" -s ejabberd >"$dir/log/stdout.log" 2>&1) &
    measure_child ejabberd $! "$port" "$dir/ejabberd.db" archive "$dir/log/ejabberd.log" '\[(error|critical)\]' "$dir/log/stdout.log"
}

# ------------------------------------------------------------------------------------ Prosody

run_prosody() {
    local dir="$WORK/prosody" port
    mkdir -p "$dir/data" "$dir/certs"
    port=$(free_port)
    new_database "$dir/prosody.sqlite"
    cat >"$dir/prosody.cfg.lua" <<EOF
-- Prosody for the room comparison: anonymous logins, one MUC service archiving every room
-- (mod_muc_mam) in SQLite through LuaDBI.
run_as_root = true
daemonize = false
pidfile = "$dir/prosody.pid"
data_path = "$dir/data"
log = { { levels = { min = "warn" }, to = "file", filename = "$dir/prosody.log" } }
interfaces = { "127.0.0.1" }
c2s_ports = { $port }
c2s_require_encryption = false
modules_enabled = { "saslauth", "disco" }
certificates = "$dir/certs"
modules_disabled = { "s2s" }
storage = "sql"
sql = { driver = "SQLite3", database = "$dir/prosody.sqlite" }

VirtualHost "bench.localhost"
    authentication = "anonymous"

Component "conference.bench.localhost" "muc"
    modules_enabled = { "muc_mam" }
    muc_log_all_rooms = true
    muc_room_default_persistent = true -- or the archive goes with the room when the last member leaves
    restrict_room_creation = false
EOF
    (cd "$dir" && exec prosody --config "$dir/prosody.cfg.lua" -F >"$dir/stdout.log" 2>&1) &
    measure_child prosody $! "$port" "$dir/prosody.sqlite" prosodyarchive "$dir/prosody.log" '\berror\b' "$dir/stdout.log"
}

# ------------------------------------------------------------------------------------ Haven

run_haven() {
    local haven="${HAVEN_BIN:-$ROOT/.build/release/haven}"
    if [ ! -x "$haven" ]; then
        say "building Haven (release)"
        bash Scripts/bootstrap.sh >&2
        swift build -c release --product haven >&2 || { say "haven: the build failed, skipped"; return 0; }
    fi
    say "haven: measuring"
    local out="$WORK/haven.out"
    if "$haven" bench --phase room_rate --room-rates "$RATES" --body-bytes 200 \
        --seconds "$SECONDS_PER_RATE" >"$out" 2>"$WORK/haven.err"; then
        grep '"room_rate"' "$out" | tee -a "$RESULTS" || say "haven: no room_rate lines in its output"
    else
        say "haven: its bench failed (exit $?), skipped; last lines:"
        tail -5 "$WORK/haven.err" >&2 || true
        grep '"room_rate"' "$out" >>"$RESULTS" || true
    fi
}

# ------------------------------------------------------------------------------------ main

read -r LOAD _ </proc/loadavg
say "load average before: $LOAD on $(nproc) cores (other work on the machine skews the figures)"
if [ "$SKIP_XMPP" = 0 ]; then
    install_packages
    case ",$SERVERS," in *,ejabberd,*) run_ejabberd || say "ejabberd: skipped" ;; esac
    case ",$SERVERS," in *,prosody,*) run_prosody || say "prosody: skipped" ;; esac
fi
[ "$SKIP_HAVEN" = 1 ] || run_haven

EJABBERD_VERSION=$(dpkg-query -W -f='${Version}' ejabberd 2>/dev/null || echo "not installed")
PROSODY_VERSION=$(dpkg-query -W -f='${Version}' prosody 2>/dev/null || echo "not installed")

"$PY" - "$RESULTS" "$P99_BOUND_MS" "$DRAIN" "$EJABBERD_VERSION" "$PROSODY_VERSION" "$JOURNAL" <<'EOF'
import json, sys
path, bound, drain, ejabberd, prosody, journal = sys.argv[1], float(sys.argv[2]), sys.argv[3], *sys.argv[4:]
lines = []
for text in open(path):
    text = text.strip()
    if not text.startswith("{"):
        continue
    try:
        line = json.loads(text)
    except ValueError:
        continue
    if line.get("phase") == "room_rate":
        lines.append(line)
servers = []
for line in lines:
    name = line.get("server_name", "haven")
    if name not in servers:
        servers.append(name)

def passed(line):
    p99 = (line.get("latency_ms") or {}).get("p99")
    return (line.get("expected_deliveries", 0) > 0 and line.get("delivered", 0) >= line["expected_deliveries"]
            and p99 is not None and p99 <= bound)

def number(value, digits=1):
    return "–" if value is None else f"{value:,.{digits}f}"

print()
print("| server | CPU µs per delivery at 100 msg/s | highest sustained msg/s (deliveries/s), every delivery arriving | p50 / p99 / p99.9 ms at 100 msg/s | cores used at that rate: server / generator / other processes |")
print("| --- | ---: | ---: | ---: | ---: |")
busy = []
for name in servers:
    mine = [l for l in lines if l.get("server_name", "haven") == name]
    at100 = next((l for l in mine if float(l["offered_messages_per_s"]) == 100), None)
    good = [l for l in mine if passed(l)]
    best = max(good, key=lambda l: float(l["offered_messages_per_s"]), default=None)
    cpu = number(at100["server"].get("cpu_us_per_delivery")) if at100 else "–"
    if at100:
        lat = at100["latency_ms"]
        latency = f'{number(lat.get("p50"))} / {number(lat.get("p99"))} / {number(lat.get("p999"))}'
        if not passed(at100):
            latency += f' (delivered {at100.get("delivered_share", 0):.1%})'
    else:
        latency = "–"
    if best:
        rate = float(best["offered_messages_per_s"])
        sustained = f"{rate:,.0f} ({rate * 99:,.0f})"
        above = [float(l["offered_messages_per_s"]) for l in mine if not passed(l) and float(l["offered_messages_per_s"]) > rate]
        if above:
            sustained += f"; {min(above):,.0f} failed"
        elif all(passed(l) for l in mine):
            sustained = "≥ " + sustained + " (the highest rate offered)"
        server = best.get("server") or {}
        cores = server.get("cores")
        if cores is None and isinstance(server.get("cores_by_thread"), dict):
            cores = sum(server["cores_by_thread"].values())
        load = (f'{number(cores, 2)} / {number((best.get("client") or {}).get("cores"), 2)}'
                f' / {number((best.get("machine") or {}).get("other_cores"), 2)}')
    else:
        sustained, load = "none of the rates", "–"
    print(f"| {name} | {cpu} | {sustained} | {latency} | {load} |")
    busy += [f'{name} at {float(l["offered_messages_per_s"]):g}/s: {l["machine"]["other_cores"]:.2f}'
             for l in mine if (l.get("machine") or {}).get("other_cores", 0) > 0.2]
print()
if busy:
    print(f"Other processes used more than 0.2 cores during some windows, so those figures are skewed: {'; '.join(busy)}.")
    print()
print(f"Rates offered: 100, 200, 400, ... doubling until one fails (the XMPP runs then bisect); sustained means every "
      f"expected delivery (sent × 99) arrived within the window + {drain} s and p99 latency stayed at most {bound:g} ms. "
      f"XMPP latency is send to receive at every member but the sender (Haven's: at its probe members). ejabberd {ejabberd}, Prosody {prosody} (Debian); "
      f"MUC archive on, in SQLite ({journal} journal, synchronous=FULL).")
EOF
