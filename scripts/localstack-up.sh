#!/usr/bin/env bash
# `make local-up BACKEND=localstack`: deploy the same CDK app to LocalStack with cdklocal.
# Optional; never part of `make test`. Needs a Docker engine and LOCALSTACK_AUTH_TOKEN (WebSocket
# APIs and Cognito are LocalStack Pro features; its Lambda runs functions in Docker).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v docker >/dev/null || { echo "BACKEND=localstack needs Docker"; exit 1; }
docker info >/dev/null 2>&1 || { echo "BACKEND=localstack needs a running Docker engine (docker info failed)"; exit 1; }
: "${LOCALSTACK_AUTH_TOKEN:?BACKEND=localstack needs LOCALSTACK_AUTH_TOKEN (WebSocket APIs and Cognito are Pro features)}"
docker compose up -d localstack
for _ in $(seq 1 90); do
  curl -fsS http://127.0.0.1:4566/_localstack/health >/dev/null 2>&1 && break
  sleep 2
done
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1
npx --yes aws-cdk-local@3 bootstrap -c env=local
npx --yes aws-cdk-local@3 deploy -c env=local --require-approval never --outputs-file .local/localstack-outputs.json
.venv/bin/python - <<'PY'
import json
outputs = next(iter(json.load(open(".local/localstack-outputs.json")).values()))
stack = {
    "env": "localstack",
    "stage": "prod",
    "websocketUrl": outputs["WebSocketAPIEndpoint"],
    "managementApiUrl": outputs["WebSocketManagementEndpoint"],
    "dynamodbEndpoint": "http://127.0.0.1:4566",
    "region": "us-east-1",
}
json.dump(stack, open(".local/localstack-stack.json", "w"), indent=2)
print(json.dumps(stack, indent=2))
print("Run the end-to-end suite against it: E2E_STACK_JSON=.local/localstack-stack.json make e2e-test")
PY
