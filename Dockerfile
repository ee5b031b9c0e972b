# syntax=docker/dockerfile:1
#
# adx container image: a static Go binary on distroless, running as nonroot.
#
#   docker build --build-arg VERSION=$(git describe --tags --always --dirty) -t adx:dev .
#   docker run --rm --read-only -p 8080:8080 -p 9090:9090 adx:dev
#
# The image writes nothing to its filesystem, so it runs with
# readOnlyRootFilesystem: true. Data files (MaxMind mmdb, device DB) and the
# config file are mounted by the Helm chart (charts/adx).

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION} AS build
WORKDIR /src
# Dependencies first, so that a source change reuses the module layer.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
ARG TARGETOS=linux
ARG TARGETARCH
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/adx ./cmd/adx

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
LABEL org.opencontainers.image.title="adx" \
      org.opencontainers.image.description="OpenRTB ad exchange" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=build /out/adx /adx
# In a container the admin port (probes, /metrics, pprof) must be reachable
# from the kubelet and Prometheus, not only from loopback.
ENV ADX_ADMIN_LISTEN=:9090
# distroless "nonroot" is uid/gid 65532.
USER nonroot:nonroot
EXPOSE 8080 9090
ENTRYPOINT ["/adx"]
CMD ["serve"]
