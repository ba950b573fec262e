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

# Fuzz targets (package:Func) that `make fuzz` runs for FUZZTIME each; go test
# fuzzes one target per run. Their seed corpora (f.Add and testdata/fuzz/)
# also run as plain tests in `make test`. A failing input is written to the
# package's testdata/fuzz/<Func>/, to be committed with the fix.
FUZZTIME     ?= 10s
FUZZ_TARGETS := ./server:FuzzAPIRequest ./server:FuzzDecodeCursor ./delivery:FuzzVerify ./delivery:FuzzSigningRoundTrip

fuzz: ## run each fuzz target for FUZZTIME (default 10s)
	@set -e; for t in $(FUZZ_TARGETS); do \
	  echo "fuzz $${t#*:} in $${t%%:*} for $(FUZZTIME)"; \
	  $(GO) test -run='^$$' -fuzz="^$${t#*:}$$" -fuzztime=$(FUZZTIME) $${t%%:*}; \
	done

$(BIN)/buf:
	GOBIN=$(BIN) $(GO) install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)
$(BIN)/protoc-gen-go:
	GOBIN=$(BIN) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
$(BIN)/protoc-gen-go-grpc:
	GOBIN=$(BIN) $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
$(BIN)/protoc-gen-grpc-gateway:
	GOBIN=$(BIN) $(GO) install github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway@$(GRPC_GATEWAY_VERSION)
$(BIN)/protoc-gen-openapiv2:
	GOBIN=$(BIN) $(GO) install github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-openapiv2@$(GRPC_GATEWAY_VERSION)

tools: $(BIN)/buf $(BIN)/protoc-gen-go $(BIN)/protoc-gen-go-grpc $(BIN)/protoc-gen-grpc-gateway $(BIN)/protoc-gen-openapiv2 ## install the pinned code generators into .bin/

generate: tools ## regenerate the Go and OpenAPI code from proto/
	$(BIN)/buf generate

check-generated: generate ## fail when committed generated code is stale
	@git diff --exit-code -- proto/ || { echo "generated code is stale: run 'make generate' and commit"; exit 1; }
	@test -z "$$(git status --porcelain -- proto/)" || { git status --porcelain -- proto/; echo "untracked generated files: run 'make generate' and commit"; exit 1; }

lint: ## gofmt and go vet
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...

# `make bench` flags for cmd/standin-bench, e.g. BENCH_FLAGS="--events 5000 --backends sqlite".
BENCH_FLAGS ?=

bench: build ## end-to-end benchmarks on SQLite and PostgreSQL, vs bare River (table + bench-results.json)
	$(GO) build -o bin/standin-bench ./cmd/standin-bench
	./bin/standin-bench --standin ./bin/standin --database-url "$(STANDIN_TEST_DATABASE_URL)" --out bench-results.json $(BENCH_FLAGS)

clean: ## remove build output
	rm -rf bin
