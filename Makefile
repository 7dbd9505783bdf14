# Convenience targets; each is one plain go command, so nothing here is needed
# to build or test weft.
GO ?= go

.PHONY: build test race lint bench demo

build:
	$(GO) build -o weft ./cmd/weft

test:
	$(GO) test ./...

race:
	$(GO) test -race ./...

lint:
	gofmt -l $$(git ls-files '*.go') | (! grep .)
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./...
	$(GO) run ./cmd/weft bench

demo:
	$(GO) run ./cmd/weft demo
