# Lifeline. `make run` starts the daemon on the simulated board; `make test`
# installs what the tests need and runs them. See README.md.

GO       ?= go
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
RUNDIR   := $(CURDIR)/run
FUZZTIME ?= 10s

export CGO_ENABLED := 0

.PHONY: all build run test test-deps vet unit fuzz bench clean

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/lifeline ./cmd/lifeline

# The daemon on the sim board, everything under ./run (no root needed).
# In a second terminal: ./bin/lifeline sim wan down; ./bin/lifeline status
run: build
	@mkdir -p $(RUNDIR)/hooks.d
	@sed 's|@RUN@|$(RUNDIR)|g' scripts/sim.config > $(RUNDIR)/lifeline.conf
	@echo "lifeline: sim board; state in $(RUNDIR); try './bin/lifeline sim wan down' in another terminal"
	./bin/lifeline run -c $(RUNDIR)/lifeline.conf --board sim --state-dir $(RUNDIR) --socket $(RUNDIR)/lifeline.sock

test: test-deps vet unit

test-deps:
	@sh scripts/test-deps.sh

vet:
	$(GO) vet ./...

# -race needs cgo.
unit:
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 20m ./...

# Short coverage-guided runs of every fuzz target.
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

bench:
	CGO_ENABLED=1 $(GO) test -run '^$$' -bench . -benchmem -count=1 ./...

clean:
	rm -rf bin dist run
