#!/usr/bin/env bash
# A walk through the API with curl against a local `npm start`.
set -euo pipefail
CP=${CP:-http://127.0.0.1:8080}
TOKEN=${MCP_CP_ADMIN_TOKEN:-$(cat ./data/admin-token)}
H=(-H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json')
here=$(dirname "$0")

echo '# 1. Preview: dryRun answers the plan and writes nothing'
curl -s "${H[@]}" -X PUT "$CP/api/svc/v1/mcp-servers" --data @"$here/github-tools.json"; echo

echo '# 2. Apply for real'
sed 's/"dryRun": true/"dryRun": false/' "$here/github-tools.json" |
  curl -s "${H[@]}" -X PUT "$CP/api/svc/v1/mcp-servers" --data @-; echo

echo '# 3. What the gateway store holds now'
curl -s "${H[@]}" "$CP/api/svc/v1/gateway/servers"; echo

echo '# 4. Status: conditions and generations'
curl -s "${H[@]}" "$CP/api/svc/v1/mcp-servers/name/github-tools"; echo

echo '# 5. Delete'
curl -s "${H[@]}" -X DELETE "$CP/api/svc/v1/mcp-servers/name/github-tools"; echo
