#!/usr/bin/env bash
# Real-scrape check (issue 7): start `readmit demo` (in-process mock Kafka, simulator, /metrics on
# a free localhost port), start a real Prometheus scraping it every second, and assert through
# Prometheus's HTTP API (/api/v1/query) that the main series are present and increasing between
# two queries (and readmit_ready == 1 once the processor owns its partitions). Cleans up both
# processes on exit; the whole step is bounded by SCRAPE_DEADLINE.
#
# Binary: $READMIT_BIN, else "$CARGO_TARGET_DIR/debug/readmit", else target/debug/readmit.
# Needs: prometheus (Debian package), curl, python3.
set -euo pipefail
cd "$(dirname "$0")/.."

DEADLINE=${SCRAPE_DEADLINE:-100}   # seconds for the whole step (CI budget: under 2 minutes)
BIN=${READMIT_BIN:-${CARGO_TARGET_DIR:-target}/debug/readmit}
if [ ! -x "$BIN" ]; then
  echo "scrape: no readmit binary at $BIN (run cargo build first, or set READMIT_BIN)" >&2
  exit 1
fi
command -v prometheus >/dev/null || { echo "scrape: prometheus not installed" >&2; exit 1; }

WORK=$(mktemp -d)
DEMO_PID=""
PROM_PID=""
stop() { # pid signal: signal, wait up to 10 s, then SIGKILL
  local pid=$1 sig=$2
  [ -n "$pid" ] || return 0
  kill -"$sig" "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.2
  done
  echo "scrape: pid $pid ignored SIG$sig; killing" >&2
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local rc=$?
  stop "$DEMO_PID" INT
  stop "$PROM_PID" TERM
  if [ "$rc" -ne 0 ]; then
    echo "--- readmit demo stdout (tail)"; tail -n 20 "$WORK/demo.out" 2>/dev/null || true
    echo "--- readmit demo stderr (tail)"; tail -n 20 "$WORK/demo.err" 2>/dev/null || true
    echo "--- prometheus log (tail)"; tail -n 20 "$WORK/prom.log" 2>/dev/null || true
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() { echo "scrape: FAIL: $*" >&2; exit 1; }
left() { echo $((DEADLINE - SECONDS)); }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# 1. The demo, fast enough that every counter moves within a second or two.
"$BIN" demo --metrics-port 0 --rate 200 --summary-every 3600 >"$WORK/demo.out" 2>"$WORK/demo.err" &
DEMO_PID=$!
PORT=""
while [ "$(left)" -gt 0 ]; do
  kill -0 "$DEMO_PID" 2>/dev/null || fail "readmit demo exited early"
  PORT=$(sed -n 's#^metrics: http://127\.0\.0\.1:\([0-9]*\)/metrics.*#\1#p' "$WORK/demo.out" | head -n 1)
  [ -n "$PORT" ] && break
  sleep 0.2
done
[ -n "$PORT" ] || fail "readmit demo did not print its metrics address"
echo "scrape: readmit demo (pid $DEMO_PID) serves metrics on 127.0.0.1:$PORT"

# 2. Prometheus, scraping every second.
PROM_PORT=$(free_port)
cat >"$WORK/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 900ms
  evaluation_interval: 1s
scrape_configs:
  - job_name: readmit-demo
    static_configs:
      - targets: ["127.0.0.1:$PORT"]
EOF
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/tsdb" \
  --web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn >"$WORK/prom.log" 2>&1 &
PROM_PID=$!
API="http://127.0.0.1:$PROM_PORT"
until curl -fsS -m 2 "$API/-/ready" >/dev/null 2>&1; do
  kill -0 "$PROM_PID" 2>/dev/null || fail "prometheus exited early"
  [ "$(left)" -gt 0 ] || fail "prometheus not ready"
  sleep 0.2
done
echo "scrape: prometheus $(prometheus --version 2>&1 | head -n 1 | awk '{print $3}') (pid $PROM_PID) on 127.0.0.1:$PROM_PORT, scrape_interval 1s"

# query EXPR [TIME] -> prints the instant vector's value summed over series, or "absent".
query() {
  local at=()
  [ -n "${2:-}" ] && at=(--data-urlencode "time=$2")
  curl -fsS -m 3 --get "$API/api/v1/query" --data-urlencode "query=$1" "${at[@]}" | python3 -c '
import json, sys
r = json.load(sys.stdin)
if r.get("status") != "success":
    sys.exit("query failed: %s" % r.get("error"))
res = r["data"]["result"]
print("absent" if not res else repr(sum(float(s["value"][1]) for s in res)))
'
}

# The series checked; each must be present and, except model info, increase between samples.
NAMES=(up model_info ready consumed outcomes alerts latency_count)
declare -A EXPR=(
  [up]='up{job="readmit-demo"}'
  [model_info]='readmit_model_info{job="readmit-demo"} == 1'
  [ready]='readmit_ready{job="readmit-demo"} == 1'
  [consumed]='sum(readmit_messages_consumed_total{job="readmit-demo"})'
  [outcomes]='sum(readmit_messages_outcome_total{job="readmit-demo"})'
  [alerts]='sum(readmit_alerts_published_total{job="readmit-demo"})'
  [latency_count]='sum(readmit_end_to_end_latency_seconds_count{job="readmit-demo"})'
)
declare -A FIRST SECOND
sample() { # into array name; every query of one sample is evaluated at the same instant
  local -n into=$1
  local n at
  at=$(python3 -c 'import time; print("%.3f" % (time.time() - 1))')
  for n in "${NAMES[@]}"; do into[$n]=$(query "${EXPR[$n]}" "$at"); done
}
positive() { python3 -c 'import sys; v=sys.argv[1]; sys.exit(0 if v!="absent" and float(v)>0 else 1)' "$1"; }
greater() { python3 -c 'import sys; a,b=sys.argv[1:]; sys.exit(0 if "absent" not in (a,b) and float(b)>float(a) else 1)' "$1" "$2"; }

# 3. First sample: once every series is present and positive (the processor joined its group,
#    the simulator is sending, the first alerts were acknowledged).
while :; do
  sample FIRST
  ok=1
  for n in "${NAMES[@]}"; do positive "${FIRST[$n]}" || ok=0; done
  [ "$ok" = 1 ] && break
  [ "$(left)" -gt 15 ] || {
    for n in "${NAMES[@]}"; do echo "  $n = ${FIRST[$n]}  (${EXPR[$n]})"; done
    fail "series still absent or zero"
  }
  sleep 1
done
echo "scrape: first sample at ${SECONDS}s"

# 4. Second sample: every counter grew (retry until the deadline, scrapes are 1 s apart).
sleep 3
while :; do
  sample SECOND
  ok=1
  for n in consumed outcomes alerts latency_count; do greater "${FIRST[$n]}" "${SECOND[$n]}" || ok=0; done
  for n in up model_info ready; do positive "${SECOND[$n]}" || ok=0; done
  [ "$ok" = 1 ] && break
  [ "$(left)" -gt 5 ] || break
  sleep 1
done

printf '%-14s %-12s %-12s %s\n' check first second "query (via $API/api/v1/query)"
status=0
for n in "${NAMES[@]}"; do
  case $n in
    up|model_info|ready) positive "${SECOND[$n]}" && verdict="present" || { verdict="MISSING"; status=1; } ;;
    *) greater "${FIRST[$n]}" "${SECOND[$n]}" && verdict="increasing" || { verdict="NOT INCREASING"; status=1; } ;;
  esac
  printf '%-14s %-12s %-12s %s  -> %s\n' "$n" "${FIRST[$n]}" "${SECOND[$n]}" "${EXPR[$n]}" "$verdict"
done
# The model info series names the loaded model (for the record).
curl -fsS -m 3 --get "$API/api/v1/query" --data-urlencode 'query=readmit_model_info' | python3 -c '
import json, sys
for s in json.load(sys.stdin)["data"]["result"]:
    m = s["metric"]; print("scrape: readmit_model_info{version=%r, schema=%r} = %s" % (m.get("version"), m.get("schema"), s["value"][1]))
'
[ "$status" = 0 ] || fail "some series are missing or did not increase"
echo "scrape: OK in ${SECONDS}s"
