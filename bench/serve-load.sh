#!/usr/bin/env bash
# Load on `flowc serve` (issue 11's speed targets): open-tracking hits with
# real tokens (GET /o/TOKEN, each recording email_opened) and signed
# webhooks (POST /hooks/EVENT), with wrk, against a SQLite file of N sent
# marketing messages. Prints wrk's rates and latency percentiles and the
# events the database holds afterwards (every answered hit is durable).
#
#   cargo build --release && bash bench/serve-load.sh
#   N=10000 DUR=30s CONN=128 bash bench/serve-load.sh
#
# Needs wrk (Debian: apt-get install -y wrk) and python3.
set -euo pipefail
FLOWC=$(realpath "${FLOWC:-target/release/flowc}")
N=${N:-2000}            # contacts, hence messages and open tokens
DUR=${DUR:-10s}
CONN=${CONN:-64}
W=$(mktemp -d)
SERVE=
trap 'if [ -n "$SERVE" ]; then kill $SERVE 2>/dev/null || true; fi; rm -rf "$W"' EXIT
mkdir -p "$W/rules" "$W/mail"
cat > "$W/rules/main.flow" <<'FLOW'
timezone "Asia/Tokyo"
record contact {
  name: text
  email: text
}
sender {
  from: "Sample <sales@example.jp>"
  postal_address: "〒100-0001 東京都千代田区千代田1-1"
}
template offer {
  subject: "Offer"
  text: "See https://example.jp/offer"
  html: "<p><a href=\"https://example.jp/offer\">offer</a></p>"
}
rule welcome
  when contact is created
  send email offer to contact
end
FLOW
export FLOWC_SECRET="load-test-secret-0123456789abcdef-0123456789"
cd "$W"
$FLOWC schema --db crm.sqlite --create rules >/dev/null
$FLOWC run --db crm.sqlite rules --now 2025-01-01T09:00 >/dev/null
python3 - "$N" <<'PY'
import sqlite3, sys
n = int(sys.argv[1])
c = sqlite3.connect("crm.sqlite")
c.executemany("INSERT INTO contact (id, name, email) VALUES (?, ?, ?)",
              [(i, f"c{i}", f"c{i}@example.jp") for i in range(1, n + 1)])
c.commit()
PY
$FLOWC run --db crm.sqlite rules --now 2025-01-01T10:00 --public-url https://flow.example.jp --mail-dir mail >/dev/null
# The open-image paths, one per message.
python3 - <<'PY'
import re, sqlite3
c = sqlite3.connect("crm.sqlite")
paths = sorted({m for (html,) in c.execute("SELECT html FROM flow_outbox")
                for m in re.findall(r'https://flow\.example\.jp(/o/[A-Za-z0-9_-]+)', html or "")})
open("opens.txt", "w").write("\n".join(paths) + "\n")
PY
echo "messages: $(ls mail | wc -l), open tokens: $(wc -l < opens.txt)"
PORT=${PORT:-18080}
$FLOWC serve --db crm.sqlite rules --listen 127.0.0.1:$PORT --public-url https://flow.example.jp --mail-dir mail >serve.log 2>&1 &
SERVE=$!
for i in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/o/x" && break; sleep 0.1; done
cat > opens.lua <<'LUA'
local paths = {}
for line in io.lines("opens.txt") do paths[#paths + 1] = line end
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1])
end
LUA
count() { python3 -c "import sqlite3;print(sqlite3.connect('crm.sqlite').execute(\"SELECT count(*) FROM flow_events WHERE name='$1'\").fetchone()[0])"; }
before=$(count email_opened)
echo "== tracking: GET /o/TOKEN, $CONN connections, 2 threads, $DUR"
wrk -t2 -c"$CONN" -d"$DUR" --latency -s opens.lua "http://127.0.0.1:$PORT" | sed -n '1,20p'
echo "email_opened events recorded: $(( $(count email_opened) - before ))"
# The engine's backlog: events recorded but not yet processed by the rules,
# right after the load and as the engine catches up.
pending() { python3 -c "import sqlite3;print(sqlite3.connect('crm.sqlite').execute('SELECT count(*) FROM flow_events WHERE processed = 0').fetchone()[0])"; }
echo "events not yet processed by the engine: $(pending) right after, $(sleep 5; pending) 5 s later, $(sleep 10; pending) 15 s later"
# Signed webhooks: one body signed now (valid for 300 s), sent again and again.
BODY='{"on": "contact:1", "data": {"amount": 1200}}'
T=$(date +%s)
SIG=$(python3 -c "import hmac,hashlib,sys;print(hmac.new(sys.argv[1].encode(), (sys.argv[2]+'.'+sys.argv[3]).encode(), hashlib.sha256).hexdigest())" "$FLOWC_SECRET" "$T" "$BODY")
cat > hook.lua <<LUA
wrk.method = "POST"
wrk.body = '$BODY'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Flowc-Signature"] = "t=$T,v1=$SIG"
LUA
echo "== webhooks: POST /hooks/invoice_paid, signed, $CONN connections, 2 threads, $DUR"
wrk -t2 -c"$CONN" -d"$DUR" --latency -s hook.lua "http://127.0.0.1:$PORT/hooks/invoice_paid" | sed -n '1,20p'
echo "invoice_paid events recorded: $(count invoice_paid)"
# The baseline on the same machine, in the same run: SQLite's own
# single-row commit rate (`flowc bench commits`).
echo "== baseline"
"$FLOWC" bench commits | tail -1
