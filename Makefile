# Lifeline. `make run` starts the daemon on the simulated board; `make test`
# installs what the tests need and runs them. See README.md.

GO       ?= go
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
# No inlining in the packages of scripts/noinline.pkgs (flash; see there).
GCFLAGS  := $(foreach p,$(shell sed 's/\#.*//' scripts/noinline.pkgs),-gcflags=$(p)=-l)
RUNDIR   := $(CURDIR)/run
FUZZTIME ?= 10s

export CGO_ENABLED := 0

.PHONY: all build run test test-deps vet unit stress cross size test-qemu-user test-guest test-openwrt fuzz bench soak clean

all: build

# The SIP-to-line gateway is part of every build.
build:
	$(GO) build -trimpath $(GCFLAGS) -ldflags '$(LDFLAGS)' -o bin/lifeline ./cmd/lifeline

# The daemon on the sim board, everything under ./run (no root needed).
# In a second terminal: ./bin/lifeline sim wan down; ./bin/lifeline status
# scripts/sim.config has a gateway section: a softphone on this machine can
# call the sim line (see README.md).
# `make run LINE=cellular [PROFILE=huawei-e1550]`: the line is a simulated
# cellular module instead (scripts/sim-cellular.line).
LINE ?= analog
PROFILE ?= quectel-ec25
run: build
	@mkdir -p $(RUNDIR)/hooks.d
	@sed 's|@RUN@|$(RUNDIR)|g; s|@PROFILE@|$(PROFILE)|g' scripts/sim.config \
		$(if $(filter cellular,$(LINE)),scripts/sim-cellular.line) > $(RUNDIR)/lifeline.conf
	@echo "lifeline: sim board; state in $(RUNDIR); try './bin/lifeline sim wan down' in another terminal"
	./bin/lifeline run -c $(RUNDIR)/lifeline.conf --board sim --state-dir $(RUNDIR) --socket $(RUNDIR)/lifeline.sock

# Every tier: vet, unit + netns + Kamailio/SIPp + pty tests with -race,
# cross builds with their size budgets, the tests of four architectures
# under qemu-user, the gpio-sim QEMU guest, the OpenWrt package checks.
test: test-deps vet unit cross test-qemu-user test-guest test-openwrt

test-deps:
	@sh scripts/test-deps.sh

vet:
	$(GO) vet ./...
	@unformatted=$$(gofmt -l cmd daemon hal boards); if [ -n "$$unformatted" ]; then \
		echo "gofmt: not formatted (gofmt -w them):" $$unformatted >&2; exit 1; fi

# -race needs cgo.
unit:
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 20m ./...

# The unit suite STRESS_RUNS times in a row (default 10) with stress-ng
# hogging every core (STRESS_CPUS=N for N): the proof that no test depends
# on timing or scheduling. Long (ten full suites); stops at the first failure.
STRESS_RUNS ?= 10
stress: test-deps
	scripts/stress.sh $(STRESS_RUNS)

# Static stripped binaries for every target into dist/, with a size table;
# fails over a target's budget, stripped or xz (scripts/cross.sh; mipsle:
# 5.5 MiB and 1.35 MiB).
cross:
	VERSION=$(VERSION) scripts/cross.sh

# What takes the bytes of the mipsle binary: sections, load segments and
# their padding, bytes per package and module, the largest symbols.
size:
	VERSION=$(VERSION) scripts/size.sh mipsle

test-qemu-user:
	scripts/qemu-user-test.sh

# Debian's kernel in QEMU with a gpio-sim module: the GPIO tests of hal/gpio
# and hal/power, `lifeline run` on the qemu-gpiosim board, and a proof that
# a failing assertion fails the run.
test-guest: cross
	scripts/gpiosim-guest/run.sh --selftest --pkg ./hal/gpio --pkg ./hal/power --lifeline dist/lifeline-linux-amd64
	scripts/gpiosim-guest/run.sh --prove-failure

test-openwrt: cross
	LIFELINE=dist/lifeline-linux-amd64 scripts/openwrt/check.sh
	sh scripts/hooks/selftest.sh

# Short coverage-guided runs of every fuzz target.
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

# Benchmarks of every package (netns and Kamailio ones need root and the
# Debian packages of test-deps; they skip otherwise).
# The gateway's call (one 60 s call: one-way delay, frames lost, CPU per
# call against an idle daemon; LIFELINE_BENCH_CALL=15s for a shorter one),
# beside the cellular line's call and the floor: the frame loop's four
# system calls alone, raw, to read the call's CPU against.
# Calls lost across a silent provider death (calls-lost, at 5 calls/s
# through the real binary and Kamailio): BenchmarkCallsLostSilentProviderDeath
# in ./cmd/lifeline, one death per run.
# The gateway under a flood (`make soak`) last.
bench: test-deps
	CGO_ENABLED=1 $(GO) test -run '^$$' -bench . -skip '^BenchmarkGateway(Call|CallCellular|CallFloor|Flood)$$' -benchmem -count=1 -timeout 30m ./...
	CGO_ENABLED=1 $(GO) test -run '^$$' -bench GatewayCall -benchtime 1x -timeout 10m ./cmd/lifeline
	$(SOAK)

# Issue 15's soak: the real binary's gateway in a network namespace of its
# own, 8 unauthorised sources flooding ~300 datagrams/s of INVITE, OPTIONS
# (1 in 10 of 60 KB) and junk for 60 s (LIFELINE_BENCH_FLOOD=10s for a
# shorter one) while one legitimate call is up: RSS max, CPU, the call's
# frames lost, replies and amplification, and unauthorised dials (must be
# 0). Needs root, unshare and ip; it skips otherwise.
SOAK = CGO_ENABLED=1 $(GO) test -run '^$$' -bench GatewayFlood -benchtime 1x -timeout 10m ./cmd/lifeline
soak: test-deps
	$(SOAK)

clean:
	rm -rf bin dist run
