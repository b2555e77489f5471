# Base images are pinned by version and digest (the Go version is go.mod's; a test checks
# both); refresh them on purpose, e.g. with Dependabot or Renovate.
# Build: cgo is needed for SQLite.
FROM golang:1.26.8-bookworm@sha256:a688600ca24f8a4d3ca77f95b0dd40704a9fc787c826660eb7ba0b641b8b175d AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=1 go build -trimpath -ldflags="-s -w" -o /out/kuberpult ./cmd/kuberpult

# Run: git runs only for env repos on a local path or file:// (its receive-pack is never killed
# mid-push); https and ssh remotes are spoken to by go-git, so no ssh client is needed (ssh host
# keys come from SSH_KNOWN_HOSTS, a known_hosts file). ca-certificates for https remotes.
FROM debian:bookworm-20260824-slim@sha256:88200866dfff7ea7f5cbcb6ec7c8a701889efe6fe859fe64d6990e4b07ea4171
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates git \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /data --create-home kuberpult
COPY --from=build /out/kuberpult /usr/local/bin/kuberpult
USER 10001
WORKDIR /data
# The API listens on every interface of the container unless the config sets api.listen.
ENV KUBERPULT_API_LISTEN=0.0.0.0:8080
VOLUME ["/data"]
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/kuberpult"]
CMD ["serve", "--config", "/etc/kuberpult/config.yaml"]
