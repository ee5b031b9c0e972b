# make test runs everything CI runs: formatting, vet, the Go tests with the
# race detector, and the Helm chart checks (a separate Go module, so the
# server's dependency graph stays small).
.PHONY: test check-fmt vet test-go test-chart

test: check-fmt vet test-go test-chart

check-fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	go vet ./...
	cd charts/test && go vet ./...

test-go:
	go test -race -count=1 ./...

# ADX_IMAGE_TEST=1 also builds adx with the Dockerfile's flags and runs it
# with the Deployment's arguments.
test-chart:
	cd charts/test && ADX_IMAGE_TEST=1 go test -count=1 .
