# The shop's verbs. `make synth` and `make test` work on a fresh clone with no
# AWS account: they install what they need first (npm packages from the
# lockfile, Go modules) and say what is missing when they cannot.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# The stage to synthesize or deploy. Empty means the app's default: dev-$USER.
STAGE ?=
# A stage name is a-z, 0-9 and -: checked here, before any recipe pastes it
# into a command line (the other values a verb hands to a script travel in
# the environment, below).
stage_chars := a b c d e f g h i j k l m n o p q r s t u v w x y z 0 1 2 3 4 5 6 7 8 9 -
strip_chars = $(if $(2),$(call strip_chars,$(subst $(firstword $(2)),,$(1)),$(wordlist 2,$(words $(2)),$(2))),$(1))
ifneq ($(subst $() ,_,$(call strip_chars,$(STAGE),$(stage_chars))),)
$(error STAGE may hold only a-z, 0-9 and -, not "$(STAGE)")
endif
export STAGE BASE ALLOW_REPLACE ALLOW_GROWTH URL
FUNCTIONS := catalog cart orders authorizer images reaper expiry events cacheusers pretraffic
DIST := dist
NODE_BIN := $(CURDIR)/node_modules/.bin
export PATH := $(NODE_BIN):$(PATH)
export GOFLAGS := -buildvcs=false
CDK := cdk --no-notices $(if $(STAGE),-c stage=$(STAGE))
LAMBDA_ENV := CGO_ENABLED=0 GOOS=linux GOARCH=arm64 GOWORK=off
LAMBDA_FLAGS := -trimpath -buildvcs=false -tags lambda.norpc -ldflags='-s -w -buildid='
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
ACTIONLINT := github.com/rhysd/actionlint/cmd/actionlint@v1.7.12
GOIMPORTS := golang.org/x/tools/cmd/goimports@v0.53.0
MODULE := github.com/go-cdk-shop/shop

.PHONY: bench-smoke help deps build app synth review diff preflight smoke deploy rotate-origin stages account-deploy destroy postman-env test unit test-tools test-infra test-lambdas test-api lint bench load-views cold cost local redrive-images migrate-text determinism fresh-clone clean check-tools check-backends

help: ## list the verbs
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

# Debian packages: installed when running as root with apt-get, otherwise
# the script prints the exact command (tools/setup/system-deps.sh).
check-tools:
	@tools/setup/system-deps.sh synth

check-backends:
	@tools/setup/system-deps.sh test

# npm packages from the lockfile, reinstalled only when the lockfile changes.
node_modules/.installed: package.json package-lock.json | check-tools
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

deps: node_modules/.installed ## install pinned Node tools and Go modules
	go mod download
	cd lambdas && GOWORK=off go mod download
	cd tools/versitygw && GOWORK=off go mod download
	cd tools/preflight && GOWORK=off go mod download
	cd tools/smoke && GOWORK=off go mod download

build: $(addprefix build-,$(FUNCTIONS)) app ## build every Lambda binary (reproducible) and the CDK app

# VersityGW, the local S3 server, from its own module (tools/versitygw) so that
# its dependencies stay out of the Lambdas' graph. The first build takes a few
# minutes; Go's build cache makes later ones quick.
VERSITYGW := $(DIST)/versitygw
$(VERSITYGW): tools/versitygw/go.mod tools/versitygw/go.sum
	cd tools/versitygw && GOWORK=off go build -trimpath -o ../../$(VERSITYGW) github.com/versity/versitygw/cmd/versitygw

# The Lambda Runtime Interface Emulator, pinned in its own module.
RIE := $(DIST)/aws-lambda-rie
$(RIE): tools/rie/go.mod tools/rie/go.sum
	cd tools/rie && GOWORK=off go build -trimpath -o ../../$(RIE) github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie

build-%:
	cd lambdas && $(LAMBDA_ENV) go build $(LAMBDA_FLAGS) -o ../$(DIST)/$*/bootstrap ./cmd/$*

# The CDK app as a binary: `go run` would recompile and link on every synth.
app:
	go build -trimpath -o $(DIST)/cdkapp ./infra/cmd/app

synth: node_modules/.installed build ## synthesize every stack of STAGE into cdk.out (no AWS account needed)
	rm -f cdk.out/*.template.json cdk.out/*.assets.json cdk.out/*-NagReport.csv
	$(CDK) synth --quiet
	@echo "templates: $$(ls cdk.out/*.template.json | tr '\n' ' ')"

# The stage's own stacks: STAGE, or the app's default (dev-$USER), as the app
# itself resolves it. Shop-Account is deployed on its own (account-deploy).
STACKS = 'Shop-$(shell ./$(DIST)/cdkapp -print-stage)-*'
# What `cdk deploy` needs in the account before anything else, and where to
# look without credentials.
define need-credentials
	@if [ -z "$${AWS_PROFILE:-}$${AWS_ACCESS_KEY_ID:-}$${AWS_WEB_IDENTITY_TOKEN_FILE:-}$${AWS_CONTAINER_CREDENTIALS_FULL_URI:-}" ] && \
	  [ ! -f "$$HOME/.aws/credentials" ] && [ ! -f "$$HOME/.aws/config" ]; then \
	  echo "no AWS credentials: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) for the target account; to review a change without an account: make review BASE=<rev>"; exit 1; fi
endef

# Review without an AWS account: BASE synthesized in a cached worktree, the
# working tree, compared by the CDK's diff engine (tools/review).
review: node_modules/.installed ## Markdown review of BASE (default: deployed/STAGE) -> working tree, no AWS account: [BASE=<rev>] [STAGE=prod] [ALLOW_REPLACE="ids"] [ALLOW_GROWTH="fns"]
	@tools/review/review.sh

diff: node_modules/.installed build ## compare STAGE's stacks with what is deployed (needs credentials)
	$(need-credentials)
	$(CDK) diff $(STACKS)

# What the deploy would hit in the account, asked first, read-only: the CDK
# bootstrap of every region the stage targets, Lambda concurrency for its
# reservations, room for its cache and origin access control, and for prod
# an alarm subscriber and a verified SES sender (tools/preflight).
PREFLIGHT := $(DIST)/preflight
$(PREFLIGHT): $(wildcard tools/preflight/*.go) tools/preflight/go.mod tools/preflight/go.sum
	cd tools/preflight && GOWORK=off go build -trimpath -o ../../$(PREFLIGHT) .

preflight: synth $(PREFLIGHT) ## ask the account whether STAGE's deploy fits (bootstrap, quotas, prod's alarms and sender); read-only, needs credentials
	$(need-credentials)
	./$(PREFLIGHT) -assembly cdk.out -stage "$$(./$(DIST)/cdkapp -print-stage)"

# The smoke run of a deployed stage: the Postman collection with throwaway
# Cognito users (tools/smoke), deleted at the end, on failure too.
SMOKE := $(DIST)/smoke
$(SMOKE): $(wildcard tools/smoke/*.go) tools/smoke/go.mod tools/smoke/go.sum
	cd tools/smoke && GOWORK=off go build -trimpath -o ../../$(SMOKE) .

smoke: node_modules/.installed $(SMOKE) ## run the Postman collection against a deployed STAGE with throwaway users (needs credentials; URL= overrides the API's address)
	$(need-credentials)
	./$(SMOKE) -stage "$$(./$(DIST)/cdkapp -print-stage)" -outputs cdk.out/outputs.json $(if $(URL),-url "$$URL")

# The assembly the preflight read is the one deployed (--app cdk.out).
# After a deploy, the tag deployed/<stage> marks the commit deployed (make
# review STAGE=<stage> takes it as its base); a tree with uncommitted changes
# deployed is said, not tagged.
deploy: preflight ## deploy STAGE's stacks after make preflight (a development stage's get expires-at, renewed each deploy); outputs in cdk.out/outputs.json
	cdk --no-notices --app cdk.out deploy --exclusively $(STACKS) $(shell ./$(DIST)/cdkapp -deploy-tags) --outputs-file cdk.out/outputs.json
	@stage="$$(./$(DIST)/cdkapp -print-stage)"; if git diff --quiet HEAD 2>/dev/null; then git tag -f "deployed/$$stage" HEAD >/dev/null && \
	  echo "tagged deployed/$$stage at $$(git rev-parse --short HEAD) (git push -f origin deployed/$$stage shares it)"; \
	  else echo "deployed uncommitted changes: deployed/$$stage not moved"; fi

rotate-origin: app ## the next step of STAGE's (prod's) rotation of its CDN origin value: what to do, the edge.origin to commit, and when (docs/design.md, The edge)
	./$(DIST)/cdkapp -origin-step

stages: ## the account's stages: owner, last deploy, expiry, status, what the reaper would do (needs credentials)
	$(need-credentials)
	cd lambdas && GOWORK=off go run ./cmd/stages

account-deploy: synth $(PREFLIGHT) ## deploy Shop-Account once per account and region (the shared development network), after its preflight
	$(need-credentials)
	./$(PREFLIGHT) -assembly cdk.out -stage account
	cdk --no-notices --app cdk.out deploy --exclusively Shop-Account $(shell ./$(DIST)/cdkapp -account-deploy-tags)

# A Postman environment for a deployed stage, from the outputs `make deploy` wrote.
postman-env: ## write docs/postman/<stage>.postman_environment.json from cdk.out/outputs.json
	@test -f cdk.out/outputs.json || { echo "no cdk.out/outputs.json: run make deploy STAGE=... first"; exit 1; }
	node tools/ops/postman-env.js cdk.out/outputs.json "$(STAGE)" > docs/postman/$(or $(STAGE),dev).postman_environment.json
	@echo "wrote docs/postman/$(or $(STAGE),dev).postman_environment.json"

destroy: node_modules/.installed build ## remove STAGE's stacks (prod keeps its data: RETAIN); FORCE=1 skips the question (CI)
	$(need-credentials)
	$(CDK) destroy --exclusively $(STACKS) $(if $(FORCE),--force)

test: check-backends node_modules/.installed build $(VERSITYGW) test-tools test-infra test-lambdas test-api bench-smoke ## run the whole test suite

test-infra:
	CDK_VALIDATION=false go test -count=1 ./infra/...

# The review tool, on scratch git repositories.
test-tools: node_modules/.installed
	node --test tools/review/review.test.mjs tools/review/rules.test.mjs
	cd tools/preflight && GOWORK=off go test -count=1 ./...
	cd tools/smoke && GOWORK=off go test -count=1 ./...
	node --test tools/checks/asyncapi.test.mjs

# Every test that needs no Java, redis-server or VersityGW: the contract, the
# domain on in-memory fakes (which pass the real stores' suites), the HTTP
# edge, and the CDK assertions.
unit: node_modules/.installed ## fast tests: no local backends needed
	$(MAKE) --no-print-directory test-tools
	cd lambdas/contract && GOWORK=off go test -count=1 ./...
	cd lambdas && GOWORK=off go test -count=1 ./...
	$(MAKE) --no-print-directory test-infra

# Integration tests start DynamoDB Local themselves, on a free port. Every Go
# benchmark runs once too, at smoke size (BENCH_SMOKE: small backlogs and
# sales), beside the tests that share its backends: a change that breaks a
# benchmark fails here, not in the next make bench.
test-lambdas:
	cd lambdas/contract && GOWORK=off go test -count=1 ./...
	cd lambdas && GOWORK=off BENCH_SMOKE=1 DYNAMODB_LOCAL_DIR=$(CURDIR)/node_modules/amplify-dynamodb-simulator/emulator \
		go test -count=1 -tags integration -bench . -benchtime 1x ./...

# The harnesses outside go test, each once at smoke size: one cold start per
# function under the emulator, and a small view load against a local API.
bench-smoke: check-backends node_modules/.installed $(VERSITYGW) $(RIE)
	$(MAKE) --no-print-directory cold STARTS=1
	$(MAKE) --no-print-directory load-views VIEWLOAD_ARGS="-products 50 -reads 500 -trending 20"

# The Postman collection, run by newman against a local API that the script starts and stops.
# The Postman collection, whole, against the local API; then the smoke path
# of a preview (make smoke) against it, and once more against a local API
# with one route broken on purpose, where it must fail.
test-api: node_modules/.installed $(VERSITYGW) $(SMOKE)
	cd lambdas && GOWORK=off go build -o ../$(DIST)/local ./cmd/local
	tools/local/newman.sh
	tools/local/with-local.sh bash -c './$(SMOKE) -local -url "$$BASE_URL"'
	@if LOCAL_BREAK_ROUTE="GET /trending" tools/local/with-local.sh bash -c './$(SMOKE) -local -url "$$BASE_URL"' > $(DIST)/smoke-broken.log 2>&1; then \
	  cat $(DIST)/smoke-broken.log; echo "make smoke passed against a broken route (GET /trending answers 500)"; exit 1; \
	else grep -E "GET .*/trending|failure" $(DIST)/smoke-broken.log | head -5; echo "make smoke fails when a route breaks: ok"; fi

lint: node_modules/.installed ## tracked build output, workflows, gofmt, goimports -local, go vet, staticcheck, go mod tidy
	tools/checks/check-tracked.sh
	go run $(ACTIONLINT) .github/workflows/*.yml
	@out=$$(gofmt -l infra lambdas); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@out=$$(go run $(GOIMPORTS) -local $(MODULE) -l infra lambdas); if [ -n "$$out" ]; then echo "goimports -local $(MODULE) -w needed:"; echo "$$out"; exit 1; fi
	go vet ./infra/...
	cd lambdas && GOWORK=off go vet -tags integration ./...
	cd lambdas/contract && GOWORK=off go vet ./...
	go run $(STATICCHECK) ./infra/...
	cd lambdas && GOWORK=off go run $(STATICCHECK) -tags integration ./...
	cd lambdas/contract && GOWORK=off go run $(STATICCHECK) ./...
	go mod tidy -diff
	redocly lint --config docs/redocly.yaml docs/openapi.json
	cd lambdas && GOWORK=off go mod tidy -diff
	cd lambdas/contract && GOWORK=off go mod tidy -diff
	cd tools/versitygw && GOWORK=off go mod tidy -diff
	cd tools/rie && GOWORK=off go mod tidy -diff
	cd tools/preflight && GOWORK=off go vet ./... && GOWORK=off go run $(STATICCHECK) ./... && GOWORK=off go mod tidy -diff
	cd tools/smoke && GOWORK=off go vet ./... && GOWORK=off go run $(STATICCHECK) ./... && GOWORK=off go mod tidy -diff

bench: check-backends node_modules/.installed build $(VERSITYGW) ## handler benchmarks, cart/checkout latency against local backends, binary sizes, synth times
	cd lambdas && GOWORK=off go test -run '^$$' -bench . -benchmem ./...
	cd lambdas && GOWORK=off DYNAMODB_LOCAL_DIR=$(CURDIR)/node_modules/amplify-dynamodb-simulator/emulator \
		go test -tags integration -run '^$$' -bench . -skip 'Expire|FlashSale' -benchtime 200x ./internal/testing/e2e/
	cd lambdas && GOWORK=off DYNAMODB_LOCAL_DIR=$(CURDIR)/node_modules/amplify-dynamodb-simulator/emulator \
		go test -tags integration -run '^$$' -bench 'Expire|FlashSale' -benchtime 1x -timeout 600s ./internal/testing/e2e/
	@for f in $(FUNCTIONS); do printf '%-10s %s bytes\n' $$f $$(stat -c %s $(DIST)/$$f/bootstrap); done
	tools/bench/synth-times.sh
	$(MAKE) --no-print-directory load-views
	$(MAKE) --no-print-directory cold
	@if [ -n "$(PEER_DIR)" ] && [ -x "$(PEER_BENCH)" ]; then "$(PEER_BENCH)" . "$(PEER_DIR)"; \
	else echo "peer comparison skipped: the peer is not in a package registry; PEER_DIR=<a clone of aws-samples/serverless-go-demo> PEER_BENCH=<peer-bench.sh> make bench runs it"; fi

# The warm path beside aws-samples/serverless-go-demo's GET handler on the
# same SDK versions (BenchmarkGetProduct against its GetHandler, interleaved):
# a script of yours, given with a clone of the peer (the peer is in no
# package registry, so the repository ships no comparison against it yet).
PEER_BENCH ?=

# Each request-path function and the floor (an empty aws-lambda-go handler),
# built like the deployed ones but for this machine, started under the
# emulator against the local backends (cmd/coldstart).
COLD_FUNCTIONS := catalog cart orders authorizer images expiry
cold: check-backends node_modules/.installed $(VERSITYGW) $(RIE) ## cold path under the Lambda emulator: init, first and warm invoke, size, beside an empty handler
	cd lambdas && for f in $(COLD_FUNCTIONS); do CGO_ENABLED=0 GOWORK=off go build $(LAMBDA_FLAGS) -o ../$(DIST)/host/$$f/bootstrap ./cmd/$$f || exit 1; done
	cd lambdas && CGO_ENABLED=0 GOWORK=off go build $(LAMBDA_FLAGS) -o ../$(DIST)/host/floor/bootstrap ./cmd/coldstart/floor
	cd lambdas && GOWORK=off go build -o ../$(DIST)/coldstart ./cmd/coldstart
	DYNAMODB_LOCAL_DIR=$(CURDIR)/node_modules/amplify-dynamodb-simulator/emulator ./$(DIST)/coldstart -rie $(RIE) -bin $(DIST)/host -starts $(or $(STARTS),7)

# The stage's templates priced by infra/cost's dated table (infra/cmd/cost).
cost: synth ## monthly cost of STAGE from its templates, idle and under infra/cost/usage.json (USAGE=file overrides; DETAIL=1 lists resources)
	go run ./infra/cmd/cost -stage "$$(./$(DIST)/cdkapp -print-stage)" $(if $(USAGE),-usage $(USAGE)) $(if $(DETAIL),-detail)

# The product cache under a Zipf read load, from a second process against the
# local API (bounded: 1,000 products, 20,000 reads per run, loopback only).
load-views: check-backends node_modules/.installed $(VERSITYGW) ## product cache hit ratio, table reads and latency, on and off
	cd lambdas && GOWORK=off go build -o ../$(DIST)/local ./cmd/local && GOWORK=off go build -o ../$(DIST)/viewload ./cmd/viewload
	tools/local/with-local.sh bash -c './$(DIST)/viewload -url "$$BASE_URL" $(VIEWLOAD_ARGS)'

# Built, then exec'd: Ctrl-C reaches the server itself, which stops the backends it started.
local: check-backends node_modules/.installed $(VERSITYGW) ## serve the API on 127.0.0.1:$PORT (8080) against local backends; SEED=1 loads samples, DATA_DIR keeps data
	cd lambdas && GOWORK=off go build -o ../$(DIST)/local ./cmd/local
	DYNAMODB_LOCAL_DIR=$(CURDIR)/node_modules/amplify-dynamodb-simulator/emulator exec ./$(DIST)/local $(if $(SEED),--seed)

# The one-off clean-up of free text stored before the text rule (issue 43):
# a dry run that reports, then APPLY=1 (cmd/migratetext).
export PRODUCTS CUSTOMERS
migrate-text: ## clean stored free text to the text rule: PRODUCTS=<table> CUSTOMERS=<table> [APPLY=1] (a dry run without APPLY; needs credentials)
	$(need-credentials)
	cd lambdas && GOWORK=off go run ./cmd/migratetext -products "$$PRODUCTS" -customers "$$CUSTOMERS" $(if $(APPLY),-apply)

redrive-images: app ## invoke the images function again with the events its failure queue holds (STAGE, MAX=100; needs credentials and the AWS CLI)
	$(need-credentials)
	tools/ops/redrive-images.sh "$$(./$(DIST)/cdkapp -print-stage)" $(or $(MAX),100)

determinism: ## synthesize HEAD in two clones at different paths; templates and asset hashes must be byte-identical
	tools/checks/synth-twice.sh

fresh-clone: ## make test in a fresh clone of HEAD (WITHOUT=redis|java|both removes those Debian packages first, as root)
	tools/checks/fresh-clone-test.sh $(if $(WITHOUT),--without $(WITHOUT))

clean: ## remove build output
	rm -rf $(DIST) cdk.out
