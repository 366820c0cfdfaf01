#!/usr/bin/env bash
# A walk through the API with curl against a local `npm start`.
# CP: the control plane's URL, as `npm start` printed it ("serving on …"); default MCPCTL_SERVER or
# http://127.0.0.1:8080. The token: MCP_CP_ADMIN_TOKEN, else ./data/admin-token.
set -euo pipefail
CP=${CP:-${MCPCTL_SERVER:-http://127.0.0.1:8080}}
CP=${CP%/}
if [ -n "${MCP_CP_ADMIN_TOKEN:-}" ]; then
  TOKEN=$MCP_CP_ADMIN_TOKEN
elif [ -r ./data/admin-token ]; then
  TOKEN=$(cat ./data/admin-token)
else
  echo "curl-walkthrough: no token: set MCP_CP_ADMIN_TOKEN, or run this in the directory of npm start (./data/admin-token)" >&2
  exit 2
fi
H=(-H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json')
here=$(dirname "$0")

# Fail loudly, naming the URL, when nothing answers there (curl alone would exit 7 silently).
if ! curl -sS -o /dev/null "$CP/healthz"; then
  echo "curl-walkthrough: cannot reach the control plane at $CP; start it (npm start) or set CP to the URL it printed" >&2
  exit 1
fi
# -f: an HTTP error fails the walk (with the answer shown), instead of passing unnoticed.
api() { curl -sS --fail-with-body "${H[@]}" "$@"; echo; }

echo '# 1. Preview: dryRun answers the plan and writes nothing'
api -X PUT "$CP/api/svc/v1/mcp-servers" --data @"$here/github-tools.json"

echo '# 2. Apply for real'
sed 's/"dryRun": true/"dryRun": false/' "$here/github-tools.json" | api -X PUT "$CP/api/svc/v1/mcp-servers" --data @-

echo '# 3. What the gateway store holds now'
api "$CP/api/svc/v1/gateway/servers"

echo '# 4. Status: conditions and generations'
api "$CP/api/svc/v1/mcp-servers/name/github-tools"

echo '# 5. Delete'
api -X DELETE "$CP/api/svc/v1/mcp-servers/name/github-tools"
