# sluice — the targets people and CI use. CI (.ci/run) calls `make test`.
GO     ?= go
BIN    := bin/sluice
CONFIG ?= examples/sluice.yaml
# The race detector needs cgo; a machine with only Go runs without it.
RACE   := $(if $(filter 1,$(shell $(GO) env CGO_ENABLED)),-race,)
# The packages whose tests use Redis (testkit.NewRedis), which make test
# runs once more on a Redis Cluster when REDIS_CLUSTER_URL is set.
REDIS_PACKAGES := ./cmd/sluice ./consumers/... ./internal/ratelimit ./internal/redisconn ./internal/testkit ./producers/webhook

.PHONY: run build test bench lint services services-stop

## run: the whole pipeline in one process on embedded Kafka and Redis
run: build
	./$(BIN) dev --config $(CONFIG)

## build: the sluice binary in bin/
build:
	$(GO) build -o $(BIN) ./cmd/sluice

## test: every test; uses KAFKA_BROKERS, REDIS_URL, DATABASE_URL when set;
## with REDIS_CLUSTER_URL (a Redis Cluster's host:port list), the packages
## that use Redis run once more on the cluster
test:
	$(GO) vet ./...
	$(GO) test $(RACE) -count=1 -timeout 25m ./...
	@if [ -n "$$REDIS_CLUSTER_URL" ]; then \
		echo "== the packages that use Redis, again on the Redis Cluster at $$REDIS_CLUSTER_URL"; \
		REDIS_URL="$$REDIS_CLUSTER_URL" $(GO) test $(RACE) -count=1 -timeout 25m $(REDIS_PACKAGES); \
	fi

## bench: benchmarks, each beside its baseline from the same run; one
## package at a time (-p 1), so that no two benchmarks share the cores
bench:
	$(GO) test -p 1 -run '^$$' -bench . -benchmem -count 1 -timeout 30m ./...

## lint: formatting and vet
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

## services: install and start real Kafka, Redis and PostgreSQL (deploy/local)
services:
	deploy/local/services.sh start

## services-stop: stop them
services-stop:
	deploy/local/services.sh stop
