# make test runs everything CI runs: formatting, vet, the Go tests with the
# race detector, the allocation pins without it, a short run of every fuzz
# target, and the Helm chart checks (a separate Go module, so the server's
# dependency graph stays small).
.PHONY: test check-fmt vet test-go test-allocs fuzz test-reliability test-chart bench-cost bench-privacy pgo

test: check-fmt vet test-go test-allocs fuzz test-reliability test-chart

check-fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	go vet ./...
	cd charts/test && go vet ./...

test-go:
	go test -race -count=1 ./...

# The allocation pins (testing.AllocsPerRun) live in files built only
# without the race detector (`//go:build !race`), whose sync.Pool drops
# items, so test-go never runs them. Every test in such a file has "Alloc"
# in its name: test-allocs checks that, then runs them without -race.
RACE_OFF_FILES = $(shell grep -rl --include='*_test.go' --exclude-dir=charts --exclude-dir=.git -e '^//go:build !race' .)

test-allocs:
	@bad=$$(grep -Ho '^func Test[A-Za-z0-9_]*' $(RACE_OFF_FILES) | grep -v 'Alloc'); \
	if [ -n "$$bad" ]; then echo "tests built only without -race must have Alloc in their name, so that test-allocs runs them:"; echo "$$bad"; exit 1; fi
	go test -count=1 -run 'Alloc' $(sort $(dir $(shell grep -l '^func Test' $(RACE_OFF_FILES))))

# fuzz runs every fuzz target for FUZZTIME, one target per go test (Go
# fuzzes one at a time). A crasher is written to the package's
# testdata/fuzz/FuzzX/; commit it there as a regression seed once fixed.
# The failing input is printed too: CI's clone does not outlive the run.
# Go 1.26's fuzz coordinator can report its own -fuzztime deadline as a
# failure ("context deadline exceeded", no input written) when a worker is
# busy at that moment, more so on a loaded machine (golang/go#75804, fixed
# in Go 1.27), under a "--- FAIL: FuzzX" line or, when it happens before
# the target's first report, alone: such a run is reported as a warning,
# not a finding.
FUZZTIME ?= 10s

fuzz:
	@failed=0; \
	for t in $$(grep -rHo --include='*_test.go' --exclude-dir=charts --exclude-dir=.git '^func Fuzz[A-Za-z0-9_]*' . | sed 's|^\(.*\)/[^/]*:func |\1:|' | sort -u); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "go test -run '^\$$' -fuzz '^$$name\$$' -fuzztime $(FUZZTIME) $$pkg"; \
		if ! out=$$(go test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg 2>&1); then \
			if ! echo "$$out" | grep -q 'Failing input written to' && \
				echo "$$out" | grep -qx '[[:space:]]*context deadline exceeded'; then \
				echo "$$out" | tail -n 4; \
				echo "WARNING: $$name: Go's fuzz coordinator reported its own -fuzztime deadline as a failure with no input found (golang/go#75804, fixed in Go 1.27); not a finding"; \
				continue; \
			fi; \
			failed=1; echo "$$out"; \
			for f in $$(echo "$$out" | sed -n 's|.*Failing input written to \(testdata/fuzz/[^ ]*\).*|\1|p'); do \
				echo "FAIL: $$name: failing input $$pkg/$$f:"; cat "$$pkg/$$f"; \
			done; \
		else \
			echo "$$out" | tail -n 1; \
		fi; \
	done; \
	exit $$failed

# The reliability scenarios (internal/reliability) load the real adx
# binary: hostile clients, odd tmax, thousands of imps and bids, 3x
# overload, SIGTERM under load, DSP faults. They skip under -race, which
# would measure the detector instead of adx, so they run here without it;
# -v prints each scenario's FIGURE line. Longer variants:
# go test -count=1 -v -timeout 30m ./internal/reliability/ -reliability.long
test-reliability:
	go test -count=1 -v ./internal/reliability/

# ADX_IMAGE_TEST=1 also builds adx with the Dockerfile's flags and runs it
# with the Deployment's arguments.
test-chart:
	cd charts/test && ADX_IMAGE_TEST=1 go test -count=1 .

# bench-cost measures what an auction costs adx (CPU, heap, own latency)
# against a fasthttp hello-world in the same run (BenchmarkCost).
bench-cost:
	go test -run '^$$' -bench Cost -benchtime 3x ./internal/reliability/

# bench-privacy measures what a request with every privacy signal costs
# the adx binary against the same request without: three adx processes,
# one per corpus, sharing one CPU kept half busy (BenchmarkPrivacyServed).
bench-privacy:
	go test -run '^$$' -bench PrivacyServed -benchtime 12x ./internal/reliability/

# pgo refreshes cmd/adx/default.pgo, the CPU profile the Go toolchain
# optimizes adx's hot paths with (profile-guided optimization): a profile
# of adx with one DSP under the cost benchmark's varied traffic. Commit
# the new profile; refresh it when the request path changes.
pgo:
	go test -run '^$$' -bench Cost -benchtime 1x ./internal/reliability/ -cost.window 30s -cost.profile $(CURDIR)/cmd/adx/default.pgo
