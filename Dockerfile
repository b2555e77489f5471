# Build: cgo is needed for SQLite.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=1 go build -trimpath -ldflags="-s -w" -o /out/kuberpult ./cmd/kuberpult

# Run: git runs only for env repos on a local path or file:// (its receive-pack is never killed
# mid-push); https and ssh remotes are spoken to by go-git, so no ssh client is needed (ssh host
# keys come from SSH_KNOWN_HOSTS, a known_hosts file). ca-certificates for https remotes.
FROM debian:bookworm-slim
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
