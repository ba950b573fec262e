# standin — developer entry points. `make help` lists them.

SHELL := /bin/bash
GO    ?= go
BIN   := $(CURDIR)/.bin
export PATH := $(BIN):$(PATH)

# Code generators, pinned; `make tools` installs them into .bin/.
BUF_VERSION                 := v1.75.0
PROTOC_GEN_GO_VERSION       := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION  := v1.6.2
GRPC_GATEWAY_VERSION        := v2.33.0
STATICCHECK_VERSION         := v0.8.2

# PostgreSQL for the tests: the local server when nothing else is said.
STANDIN_TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable
export STANDIN_TEST_DATABASE_URL

.PHONY: help run build test fuzz generate check-generated tools lint bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

run: build ## build and serve on embedded SQLite (./standin.db)
	./bin/standin serve

build: ## build ./bin/standin
	$(GO) build -o bin/standin ./cmd/standin

test: ## run every test (PostgreSQL tests use STANDIN_TEST_DATABASE_URL)
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...
	@# The manual clock's walk of Fivetran's schedule must give the same
	@# timeline, to the millisecond, every time: 20 runs on both backends.
	$(GO) test -count=20 -run '^TestManualClockWalksFivetranSchedule$$' ./testkit/

# Fuzz targets (package:Func:executions) that `make fuzz` runs; go test fuzzes
# one target per run. Their seed corpora (f.Add and testdata/fuzz/) also run
# as plain tests in `make test`. A failing input is written to the package's
# testdata/fuzz/<Func>/, to be committed with the fix.
#
# Each target runs for a number of executions (about 8 s each on a 2-core
# machine), not for a duration: with a duration, go test can fail a clean run
# with "context deadline exceeded" when the deadline catches a busy worker
# (https://go.dev/issue/75804, fixed in Go 1.27). FUZZTIME=30s (any -fuzztime
# value) overrides the budgets for a longer local run.
FUZZ_TARGETS := ./server:FuzzAPIRequest:4000 ./server:FuzzDecodeCursor:15000 \
                ./delivery:FuzzVerify:20000 ./delivery:FuzzSigningRoundTrip:25000
FUZZTIME     ?=

fuzz: ## run each fuzz target for its execution budget (or FUZZTIME)
	@set -e; for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; rest=$${t#*:}; fn=$${rest%%:*}; n=$${rest#*:}; \
	  budget=$${n}x; [ -z "$(FUZZTIME)" ] || budget=$(FUZZTIME); \
	  echo "fuzz $$fn in $$pkg for $$budget"; \
	  $(GO) test -run='^$$' -fuzz="^$$fn$$" -fuzztime=$$budget $$pkg; \
	done

$(BIN)/buf:
	GOBIN=$(BIN) $(GO) install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)
$(BIN)/protoc-gen-go:
	GOBIN=$(BIN) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
$(BIN)/protoc-gen-go-grpc:
	GOBIN=$(BIN) $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
$(BIN)/protoc-gen-grpc-gateway:
	GOBIN=$(BIN) $(GO) install github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway@$(GRPC_GATEWAY_VERSION)
$(BIN)/staticcheck:
	GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
$(BIN)/protoc-gen-openapiv2:
	GOBIN=$(BIN) $(GO) install github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-openapiv2@$(GRPC_GATEWAY_VERSION)

tools: $(BIN)/buf $(BIN)/protoc-gen-go $(BIN)/protoc-gen-go-grpc $(BIN)/protoc-gen-grpc-gateway $(BIN)/protoc-gen-openapiv2 ## install the pinned code generators into .bin/

generate: tools ## regenerate the Go and OpenAPI code from proto/
	$(BIN)/buf generate

check-generated: generate ## fail when committed generated code is stale
	@git diff --exit-code -- proto/ || { echo "generated code is stale: run 'make generate' and commit"; exit 1; }
	@test -z "$$(git status --porcelain -- proto/)" || { git status --porcelain -- proto/; echo "untracked generated files: run 'make generate' and commit"; exit 1; }

lint: $(BIN)/staticcheck ## gofmt, go vet and staticcheck (pinned, installed into .bin/)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...
	$(BIN)/staticcheck ./...

# `make bench` flags for cmd/standin-bench, e.g. BENCH_FLAGS="--events 5000 --backends sqlite".
BENCH_FLAGS ?=

bench: build ## end-to-end benchmarks on SQLite and PostgreSQL, vs bare River (table + bench-results.json)
	$(GO) build -o bin/standin-bench ./cmd/standin-bench
	./bin/standin-bench --standin ./bin/standin --database-url "$(STANDIN_TEST_DATABASE_URL)" --out bench-results.json $(BENCH_FLAGS)

clean: ## remove build output
	rm -rf bin
