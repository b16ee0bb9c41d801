# One entry point for people and CI. `make test` is what .ci/run runs.
GO ?= go
BIN := bin/stackerless
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.7.0
# Go packages, the Lambdas (functions/) among them. infra/ is a Go module of
# its own, so that building the root never compiles the CDK; lint and unit
# cover it separately.
PKGS := ./pkg/... ./cmd/... ./functions/...
# The Lambda functions, each a main package under functions/.
FUNCTIONS := $(patsubst functions/%/main.go,%,$(wildcard functions/*/main.go))
HOST_ARCH := $(shell $(GO) env GOARCH)
# The architectures `make functions` builds: arm64 for AWS, the host's for the sandbox.
FUNCTION_ARCHS ?= arm64 $(HOST_ARCH)

.PHONY: functions build test unit conformance lint bench fuzz clean demo demo-cli master-app node_modules

build:
	$(GO) build -o $(BIN) ./cmd/stackerless

## functions: each Lambda's bootstrap binary for the provided.al2023 runtime, one folder per function
## (a CDK code asset): dist/arm64/<name>/bootstrap for AWS (Graviton), dist/<host arch>/<name>/bootstrap
## for the sandbox.
functions:
	@for arch in $(sort $(FUNCTION_ARCHS)); do \
	  for fn in $(FUNCTIONS); do \
	    mkdir -p dist/$$arch/$$fn && \
	    CGO_ENABLED=0 GOOS=linux GOARCH=$$arch $(GO) build -trimpath -ldflags='-s -w' -tags lambda.norpc \
	      -o dist/$$arch/$$fn/bootstrap ./functions/$$fn || exit 1; \
	  done; \
	done
	@ls -l dist/*/*/bootstrap

## demo: the serverless path in a local AWS sandbox (master, prod, stage): cdk bootstrap and cdk deploy
## of the master app with the real Lambda binaries, the Stacker roles, then the cross-account example
## uploaded with `stackerless submit` and followed with `stackerless watch`, step by step.
demo: node_modules build master-app
	@$(MAKE) --no-print-directory functions FUNCTION_ARCHS=$(HOST_ARCH)
	$(BIN) demo --functions-dir dist --app $(MASTER_APP)

## demo-cli: the same example through the local CLI, as stacker runs it from a laptop.
demo-cli: node_modules
	$(GO) run ./cmd/stackerless demo cli

## master-app: the CDK app (infra/) as a binary, for `cdk deploy --app` (the first build takes a minute).
MASTER_APP := bin/stackerless-master
master-app:
	cd infra && $(GO) build -o ../$(MASTER_APP) .

## test: lint, unit and sandbox tests, then the AWS CLI conformance script.
test: node_modules lint unit conformance

## node_modules: the pinned Node packages (package-lock.json) the sandbox's
## Step Functions runs; `npm ci` again only when the lock file changes.
node_modules: node_modules/.installed
node_modules/.installed: package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

## unit: the Go tests of both modules. infra/'s include deploying a CDK app
## into the sandbox with the CDK CLI (npx cdk, from node_modules).
unit:
	$(GO) test -count=1 $(PKGS)
	cd infra && $(GO) test -count=1 -timeout 30m ./...

conformance: build
	bash pkg/sandbox/testdata/awscli-conformance.sh $(BIN)

lint:
	@out=$$(gofmt -l pkg cmd functions infra 2>/dev/null); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) run $(STATICCHECK) $(PKGS)
	cd infra && $(GO) vet ./... && $(GO) run $(STATICCHECK) ./...

## bench: the measurements the README records. Benchmarks named *Memory or
## *10k take a second or more per op (a fresh sandbox with 1,000 stacks, a
## 10,000-stack config): they run a fixed number of times instead of for 1s.
BENCH_HEAVY := Memory|10k
BENCH_HEAVY_TIME ?= 3x
## infra/'s benchmarks deploy the master app into a sandbox with the CDK CLI and run
## configs through it (minutes each): once per run.
BENCH_INFRA_TIME ?= 1x
bench: node_modules
	$(GO) test -run '^$$' -bench . -skip '$(BENCH_HEAVY)' -benchmem $(PKGS)
	$(GO) test -run '^$$' -bench '$(BENCH_HEAVY)' -benchtime=$(BENCH_HEAVY_TIME) -benchmem $(PKGS)
	cd infra && $(GO) test -run '^$$' -bench . -benchtime=$(BENCH_INFRA_TIME) -timeout 90m ./...

## fuzz: a short run of each fuzz target (seeds always run as part of `make unit`).
FUZZTIME ?= 20s
fuzz:
	@for spec in $$(grep -rl --include='*_test.go' '^func Fuzz' pkg | xargs -n1 dirname | sort -u); do \
	  for f in $$(grep -h '^func Fuzz' $$spec/*_test.go | sed 's/func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
	    echo "== $$spec $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) ./$$spec || exit 1; \
	  done; \
	done

clean:
	rm -rf bin dist

## synth: the master app's CloudFormation template in infra/cdk.out (offline), from infra/settings.json
## and the functions `make functions` builds.
.PHONY: synth
synth: functions
	cd infra && CDK_OUTDIR=cdk.out $(GO) run .
