#!/usr/bin/env bash
# Drives a running `stackerless sandbox` with Debian's AWS CLI (2.9), the way a
# user following the README would, and checks what the CLI prints.
# Usage: awscli-conformance.sh path/to/stackerless
set -euo pipefail

bin=${1:?usage: $0 path/to/stackerless}
root=$(cd "$(dirname "$0")/../../.." && pwd)
aws_cli=/usr/bin/aws # Debian's; another `aws` shim may come first on PATH
[ -x "$aws_cli" ] || { echo "conformance: $aws_cli not found (apt-get install awscli)" >&2; exit 1; }

work=$(mktemp -d)
log="$work/sandbox.out"
"$bin" sandbox --listen 127.0.0.1:0 --https-listen 127.0.0.1:0 --stack-duration 300ms --throttle-lambda advance=1 >"$log" 2>"$work/sandbox.err" &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

for _ in $(seq 1 100); do
  grep -q 'AWS_ENDPOINT_URL=' "$log" 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/sandbox.err" >&2; echo "conformance: sandbox exited" >&2; exit 1; }
  sleep 0.1
done
endpoint=$(grep -o 'AWS_ENDPOINT_URL=[^ ]*' "$log" | head -n 1 | cut -d= -f2-)
[ -n "$endpoint" ] || { cat "$log" >&2; echo "conformance: no endpoint printed" >&2; exit 1; }
https_endpoint=$(grep -o 'AWS_ENDPOINT_URL=https://[^ ]*' "$log" | head -n 1 | cut -d= -f2-)
ca_file=$(grep -o 'export AWS_CA_BUNDLE=[^ ]*' "$log" | head -n 1 | cut -d= -f2-)
[ -n "$https_endpoint" ] && [ -f "$ca_file" ] || { cat "$log" >&2; echo "conformance: no HTTPS endpoint or CA file printed" >&2; exit 1; }

passed=0
failed=0
check() { # check NAME EXPECTED ACTUAL
  if [ "$2" == "$3" ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    printf 'FAIL %s\n  want: %q\n  got:  %q\n' "$1" "$2" "$3" >&2
  fi
}

# as ACCOUNT CMD...: run the CLI with that account's root keys from the sandbox's banner,
# at $via (default: the plain HTTP endpoint), trusting $ca_bundle when set.
as() {
  local name=$1; shift
  local line
  line=$(grep "^$name " "$log")
  env -u AWS_PROFILE -u AWS_SESSION_TOKEN -u AWS_CA_BUNDLE \
    AWS_ACCESS_KEY_ID="$(sed -n 's/.*AWS_ACCESS_KEY_ID=\([^ ]*\).*/\1/p' <<<"$line")" \
    AWS_SECRET_ACCESS_KEY="$(sed -n 's/.*AWS_SECRET_ACCESS_KEY=\([^ ]*\).*/\1/p' <<<"$line")" \
    AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
    ${ca_bundle:+AWS_CA_BUNDLE="$ca_bundle"} \
    "$aws_cli" --endpoint-url "${via:-$endpoint}" "$@"
}
id_of() { grep "^$1 " "$log" | awk '{print $2}'; }

wait_stack() { # wait_stack ACCOUNT STACK: prints the final status
  local status
  for _ in $(seq 1 100); do
    status=$(as "$1" cloudformation describe-stacks --stack-name "$2" --query 'Stacks[0].StackStatus' --output text)
    case "$status" in *_IN_PROGRESS) sleep 0.2 ;; *) echo "$status"; return ;; esac
  done
  echo "$status"
}

master=$(id_of master)

# The seed README's bootstrap: the Stacker role in every account, then its ARN.
for acct in master prod stage; do
  as "$acct" cloudformation create-stack --stack-name stacker-role \
    --template-body "file://$root/templates/stacker-role.yaml" \
    --parameters "ParameterKey=MasterAccountId,ParameterValue=$master" \
    --capabilities CAPABILITY_NAMED_IAM >/dev/null
done
for acct in master prod stage; do
  check "stacker-role $acct status" CREATE_COMPLETE "$(wait_stack "$acct" stacker-role)"
  check "stacker-role $acct outputs" "$(printf 'StackerRole\tarn:aws:iam::%s:role/Stacker' "$(id_of "$acct")")" \
    "$(as "$acct" cloudformation describe-stacks --stack-name stacker-role --query 'Stacks[0].Outputs' --output text)"
done

# Without CAPABILITY_NAMED_IAM the CLI reports CloudFormation's error.
if out=$(as prod cloudformation create-stack --stack-name no-caps \
  --template-body "file://$root/templates/stacker-role.yaml" \
  --parameters "ParameterKey=MasterAccountId,ParameterValue=$master" 2>&1); then
  check "create-stack without capabilities fails" failure success
else
  check "missing capabilities error" "InsufficientCapabilitiesException" "$(grep -o InsufficientCapabilitiesException <<<"$out" | head -n 1)"
fi

# A missing stack is a ValidationError, as on AWS.
out=$(as prod cloudformation describe-stacks --stack-name nope 2>&1 || true)
check "missing stack error" "An error occurred (ValidationError) when calling the DescribeStacks operation: Stack with id nope does not exist" "$(grep -o 'An error.*' <<<"$out")"

# STS: who am I, MFA session, and the MFA-gated role.
check "caller identity" "arn:aws:iam::$master:root" "$(as master sts get-caller-identity --query Arn --output text)"
if as master sts assume-role --role-arn "arn:aws:iam::$master:role/Stacker" --role-session-name nomfa >/dev/null 2>&1; then
  check "assume Stacker without MFA is denied" denied allowed
else
  check "assume Stacker without MFA is denied" denied denied
fi
read -r sak ssk sst < <(as master sts get-session-token --serial-number "arn:aws:iam::$master:mfa/alice" --token-code 123456 \
  --query 'Credentials.[AccessKeyId,SecretAccessKey,SessionToken]' --output text)
mfa() { env AWS_ACCESS_KEY_ID="$sak" AWS_SECRET_ACCESS_KEY="$ssk" AWS_SESSION_TOKEN="$sst" AWS_DEFAULT_REGION=us-east-1 \
  AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null "$aws_cli" --endpoint-url "$endpoint" "$@"; }
check "assume Stacker with MFA" "arn:aws:sts::$master:assumed-role/Stacker/demo" \
  "$(mfa sts assume-role --role-arn "arn:aws:iam::$master:role/Stacker" --role-session-name demo --query AssumedRoleUser.Arn --output text)"

# S3: bucket, small and multipart objects, listing, missing keys.
as master s3 mb s3://conformance-bucket >/dev/null
head -c $((12 * 1024 * 1024)) /dev/urandom >"$work/big.bin"
as master s3 cp "$work/big.bin" s3://conformance-bucket/big.bin >/dev/null
as master s3 cp s3://conformance-bucket/big.bin "$work/big.back" >/dev/null
check "multipart round trip" "$(sha256sum <"$work/big.bin")" "$(sha256sum <"$work/big.back")"
echo hello >"$work/small.txt"
as master s3api put-object --bucket conformance-bucket --key dir/small.txt --body "$work/small.txt" >/dev/null
check "list objects" "big.bin dir/small.txt" "$(as master s3api list-objects-v2 --bucket conformance-bucket --query 'Contents[].Key' --output text | tr '\t' ' ')"
out=$(as master s3api head-object --bucket conformance-bucket --key missing 2>&1 || true)
check "missing key" "404" "$(grep -o '(404)' <<<"$out" | tr -d '()')"
out=$(as prod s3api get-object --bucket conformance-bucket --key dir/small.txt "$work/x" 2>&1 || true)
check "cross-account read without bucket policy" "AccessDenied" "$(grep -o AccessDenied <<<"$out" | head -n 1)"

# SSM and EventBridge.
as master ssm put-parameter --name /conformance/secret --type SecureString --value s3cret >/dev/null
check "ssm decrypt" "s3cret" "$(as master ssm get-parameter --name /conformance/secret --with-decryption --query Parameter.Value --output text)"
check "events put" "0" "$(as master events put-events --entries '[{"Source":"conformance","DetailType":"test","Detail":"{}"}]' --query FailedEntryCount --output text)"

# HTTPS: the CLI trusts the sandbox's CA through AWS_CA_BUNDLE, and a bucket
# policy that denies requests without TLS (as CDK's and the product's do) holds.
check "caller identity over HTTPS" "arn:aws:iam::$master:root" \
  "$(via=$https_endpoint ca_bundle=$ca_file as master sts get-caller-identity --query Arn --output text)"
out=$(via=$https_endpoint as master sts get-caller-identity 2>&1 || true)
check "HTTPS without the CA" "CERTIFICATE_VERIFY_FAILED" "$(grep -o CERTIFICATE_VERIFY_FAILED <<<"$out" | head -n 1)"
via=$https_endpoint ca_bundle=$ca_file as master s3 mb s3://tls-only >/dev/null
via=$https_endpoint ca_bundle=$ca_file as master s3api put-bucket-policy --bucket tls-only --policy \
  '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::tls-only","arn:aws:s3:::tls-only/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}'
via=$https_endpoint ca_bundle=$ca_file as master s3 cp "$work/small.txt" s3://tls-only/small.txt >/dev/null
check "TLS-only bucket over HTTPS" "hello" "$(via=$https_endpoint ca_bundle=$ca_file as master s3 cp s3://tls-only/small.txt -)"
out=$(as master s3api get-object --bucket tls-only --key small.txt "$work/plain.txt" 2>&1 || true)
check "TLS-only bucket over plain HTTP" "AccessDenied" "$(grep -o AccessDenied <<<"$out" | head -n 1)"
check "curl over HTTPS with the CA" "403" "$(curl -s --cacert "$ca_file" -o /dev/null -w '%{http_code}' "$https_endpoint/")"

# Step Functions runs a definition; an EventBridge rule starts it.
trust() { printf '{"Statement":[{"Effect":"Allow","Principal":{"Service":"%s"},"Action":"sts:AssumeRole"}]}' "$1"; }
states_role=$(as master iam create-role --role-name ConformanceStates --assume-role-policy-document "$(trust states.amazonaws.com)" --query Role.Arn --output text)
machine=$(as master stepfunctions create-state-machine --name conformance --role-arn "$states_role" \
  --definition '{"StartAt":"Pause","States":{"Pause":{"Type":"Wait","Seconds":0,"Next":"Done"},"Done":{"Type":"Pass","Result":"ok","End":true}}}' \
  --query stateMachineArn --output text)
execution=$(as master stepfunctions start-execution --state-machine-arn "$machine" --name first --input '{"a":1}' --query executionArn --output text)
for _ in $(seq 1 100); do
  status=$(as master stepfunctions describe-execution --execution-arn "$execution" --query status --output text)
  [ "$status" != RUNNING ] && break
  sleep 0.1
done
check "execution status" SUCCEEDED "$status"
check "execution history" "ExecutionStarted WaitStateEntered WaitStateExited PassStateEntered PassStateExited ExecutionSucceeded" \
  "$(as master stepfunctions get-execution-history --execution-arn "$execution" --query 'events[].type' --output text | tr '\t' ' ')"
out=$(as master stepfunctions create-state-machine --name jsonata --role-arn "$states_role" \
  --definition '{"QueryLanguage":"JSONata","StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}' 2>&1 || true)
check "JSONata refused" "InvalidDefinition" "$(grep -o InvalidDefinition <<<"$out" | head -n 1)"
events_role=$(as master iam create-role --role-name ConformanceEvents --assume-role-policy-document "$(trust events.amazonaws.com)" --query Role.Arn --output text)
as master iam put-role-policy --role-name ConformanceEvents --policy-name start \
  --policy-document "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"states:StartExecution\",\"Resource\":\"$machine\"}]}"
as master events put-rule --name conformance --event-pattern '{"source":["conformance"],"detail":{"run":[{"exists":true}]}}' >/dev/null
as master events put-targets --rule conformance --targets "Id=run,Arn=$machine,RoleArn=$events_role" >/dev/null
as master events put-events --entries '[{"Source":"conformance","DetailType":"test","Detail":"{\"run\":1}"}]' >/dev/null
check "rule started an execution" 2 "$(as master stepfunctions list-executions --state-machine-arn "$machine" --query 'length(executions)' --output text)"

# The issue's acceptance pipeline: a real Go Lambda behind Task -> Choice -> Wait -> Task, the second Task
# retried once on the throttle the sandbox was started with (--throttle-lambda advance=1) and its typed
# error caught; started by hand, by an upload through a prefix/suffix rule, and by a schedule.
mkdir -p "$work/fn"
(cd "$root/pkg/sandbox/testdata/lambdafn" && CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags='-s -w' -tags lambda.norpc -o "$work/fn/bootstrap" .)
(cd "$work/fn" && /usr/bin/python3 -m zipfile -c fn.zip bootstrap)
arch=x86_64; [ "$(go env GOARCH)" = arm64 ] && arch=arm64
fn_role=$(as master iam create-role --role-name ConformanceFn --assume-role-policy-document "$(trust lambda.amazonaws.com)" --query Role.Arn --output text)
for fn in prepare advance; do
  as master lambda create-function --function-name "$fn" --runtime provided.al2023 --handler bootstrap --role "$fn_role" \
    --architectures "$arch" --zip-file "fileb://$work/fn/fn.zip" >/dev/null
  for _ in $(seq 1 100); do
    [ "$(as master lambda get-function-configuration --function-name "$fn" --query State --output text)" = Active ] && break
    sleep 0.1
  done
done
prepare="arn:aws:lambda:us-east-1:$master:function:prepare"
advance="arn:aws:lambda:us-east-1:$master:function:advance"
cat >"$work/pipeline.json" <<JSON
{"StartAt":"Prepare","States":{
  "Prepare":{"Type":"Task","Resource":"$prepare","Parameters":{"op":"echo","name.\$":"\$.name"},"ResultPath":"\$.prepared","Next":"Ready?"},
  "Ready?":{"Type":"Choice","Choices":[{"Variable":"\$.prepared.hello","StringEquals":"go","Next":"Pause"}],"Default":"NotReady"},
  "NotReady":{"Type":"Fail","Error":"NotReady"},
  "Pause":{"Type":"Wait","Seconds":1,"Next":"Advance"},
  "Advance":{"Type":"Task","Resource":"$advance","Parameters":{"op":"error","name.\$":"\$.source"},
    "Retry":[{"ErrorEquals":["Lambda.TooManyRequestsException"],"IntervalSeconds":1,"MaxAttempts":2,"BackoffRate":1}],
    "Catch":[{"ErrorEquals":["NotFoundError"],"ResultPath":"\$.error","Next":"Handled"}],"End":true},
  "Handled":{"Type":"Pass","End":true}}}
JSON
as master iam put-role-policy --role-name ConformanceStates --policy-name invoke \
  --policy-document "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"lambda:InvokeFunction\",\"Resource\":[\"$prepare\",\"$advance\"]}]}"
pipeline=$(as master stepfunctions create-state-machine --name pipeline --role-arn "$states_role" --definition "file://$work/pipeline.json" \
  --query stateMachineArn --output text)
wait_execution() { # wait_execution ARN: prints the final status
  local status
  for _ in $(seq 1 200); do
    status=$(as master stepfunctions describe-execution --execution-arn "$1" --query status --output text)
    [ "$status" != RUNNING ] && break
    sleep 0.1
  done
  echo "$status"
}
execution=$(as master stepfunctions start-execution --state-machine-arn "$pipeline" --input '{"name":"go","source":"console"}' --query executionArn --output text)
check "pipeline status" SUCCEEDED "$(wait_execution "$execution")"
check "pipeline history" "ExecutionStarted TaskStateEntered LambdaFunctionScheduled LambdaFunctionStarted LambdaFunctionSucceeded TaskStateExited ChoiceStateEntered ChoiceStateExited WaitStateEntered WaitStateExited TaskStateEntered LambdaFunctionScheduled LambdaFunctionStarted LambdaFunctionFailed LambdaFunctionScheduled LambdaFunctionStarted LambdaFunctionFailed TaskStateExited PassStateEntered PassStateExited ExecutionSucceeded" \
  "$(as master stepfunctions get-execution-history --execution-arn "$execution" --query 'events[].type' --output text | tr '\t' ' ')"
check "pipeline retried the throttle, caught the typed error" "Lambda.TooManyRequestsException NotFoundError" \
  "$(as master stepfunctions get-execution-history --execution-arn "$execution" --query 'events[?type==`LambdaFunctionFailed`].lambdaFunctionFailedEventDetails.error' --output text | tr '\t' ' ')"

as master iam put-role-policy --role-name ConformanceEvents --policy-name start \
  --policy-document "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"states:StartExecution\",\"Resource\":[\"$machine\",\"$pipeline\"]}]}"
as master s3 mb s3://configs-conformance >/dev/null
as master s3api put-bucket-notification-configuration --bucket configs-conformance --notification-configuration '{"EventBridgeConfiguration":{}}'
as master events put-rule --name on-upload \
  --event-pattern '{"source":["aws.s3"],"detail-type":["Object Created"],"detail":{"bucket":{"name":[{"prefix":"configs-"}]},"object":{"key":[{"suffix":".yaml"}]}}}' >/dev/null
cat >"$work/targets.json" <<JSON
[{"Id":"run","Arn":"$pipeline","RoleArn":"$events_role","InputTransformer":{"InputPathsMap":{"key":"\$.detail.object.key"},"InputTemplate":"{\"name\":\"go\",\"source\":<key>}"}}]
JSON
as master events put-targets --rule on-upload --targets "file://$work/targets.json" >/dev/null
as master s3 cp "$work/small.txt" s3://configs-conformance/stacker.json >/dev/null
as master s3 cp "$work/small.txt" s3://configs-conformance/stacker.yaml >/dev/null
check "an upload started the pipeline (.yaml only)" 2 "$(as master stepfunctions list-executions --state-machine-arn "$pipeline" --query 'length(executions)' --output text)"
check "the upload's execution" SUCCEEDED "$(wait_execution "$(as master stepfunctions list-executions --state-machine-arn "$pipeline" --query 'executions[0].executionArn' --output text)")"

# A schedule fires it: `stackerless sandbox fire` runs it now.
scheduler_role=$(as master iam create-role --role-name ConformanceScheduler --assume-role-policy-document "$(trust scheduler.amazonaws.com)" --query Role.Arn --output text)
as master iam put-role-policy --role-name ConformanceScheduler --policy-name start \
  --policy-document "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"states:StartExecution\",\"Resource\":\"$pipeline\"}]}"
cat >"$work/schedule-target.json" <<JSON
{"Arn":"$pipeline","RoleArn":"$scheduler_role","Input":"{\\"name\\":\\"go\\",\\"source\\":\\"schedule\\"}"}
JSON
schedule=$(as master scheduler create-schedule --name reconcile --schedule-expression 'cron(0 6 ? * MON-FRI *)' --schedule-expression-timezone Europe/London \
  --flexible-time-window Mode=OFF --target "file://$work/schedule-target.json" \
  --query ScheduleArn --output text)
check "get-schedule" "ENABLED Europe/London" "$(as master scheduler get-schedule --name reconcile --query '[State,ScheduleExpressionTimezone]' --output text | tr '\t' ' ')"
line=$(grep "^master " "$log")
fired=$(env AWS_ACCESS_KEY_ID="$(sed -n 's/.*AWS_ACCESS_KEY_ID=\([^ ]*\).*/\1/p' <<<"$line")" \
  AWS_SECRET_ACCESS_KEY="$(sed -n 's/.*AWS_SECRET_ACCESS_KEY=\([^ ]*\).*/\1/p' <<<"$line")" AWS_REGION=us-east-1 \
  AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null "$bin" sandbox fire "$schedule" --endpoint-url "$endpoint" | cut -f2)
check "the schedule's execution" SUCCEEDED "$(wait_execution "$fired")"
check "the schedule's input" '{"name":"go","source":"schedule"}' "$(as master stepfunctions describe-execution --execution-arn "$fired" --query input --output text)"
out=$(as master scheduler create-schedule --name bad --schedule-expression 'every day' --flexible-time-window Mode=OFF \
  --target "{\"Arn\":\"$pipeline\",\"RoleArn\":\"$scheduler_role\"}" 2>&1 || true)
check "bad schedule expression" "ValidationException" "$(grep -o ValidationException <<<"$out" | head -n 1)"

# A state machine role without lambda:InvokeFunction fails the execution.
denied_role=$(as master iam create-role --role-name ConformanceDenied --assume-role-policy-document "$(trust states.amazonaws.com)" --query Role.Arn --output text)
denied=$(as master stepfunctions create-state-machine --name denied --role-arn "$denied_role" --definition "file://$work/pipeline.json" --query stateMachineArn --output text)
execution=$(as master stepfunctions start-execution --state-machine-arn "$denied" --input '{"name":"go","source":"x"}' --query executionArn --output text)
check "execution without lambda:InvokeFunction" "FAILED Lambda.AWSLambdaException" "$(wait_execution "$execution") $(as master stepfunctions describe-execution --execution-arn "$execution" --query error --output text)"

# Bad input is answered as AWS answers it.
out=$(as master stepfunctions create-state-machine --name broken --role-arn "$states_role" --definition '{"StartAt":"P","States":{' 2>&1 || true)
check "malformed definition" "InvalidDefinition" "$(grep -o InvalidDefinition <<<"$out" | head -n 1)"
head -c 262200 /dev/zero | tr '\0' x | sed 's/.*/{"pad":"&"}/' >"$work/big.json"
out=$(as master stepfunctions start-execution --state-machine-arn "$pipeline" --input "file://$work/big.json" 2>&1 || true)
check "256 KB+ input" "ValidationException" "$(grep -o ValidationException <<<"$out" | head -n 1)"
out=$(as master events put-rule --name broken --event-pattern '{"source":"aws.s3"}' 2>&1 || true)
check "malformed pattern" "InvalidEventPatternException" "$(grep -o InvalidEventPatternException <<<"$out" | head -n 1)"

# Unsigned requests are rejected.
status=$(curl -s -o /dev/null -w '%{http_code}' -X POST -d 'Action=GetCallerIdentity&Version=2011-06-15' "$endpoint/")
check "unsigned request" "403" "$status"

echo "awscli-conformance: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
