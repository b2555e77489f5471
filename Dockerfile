# Build: cgo is needed for SQLite.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=1 go build -trimpath -ldflags="-s -w" -o /out/kuberpult ./cmd/kuberpult

# Run: git is needed for file:// and local env repos; ca-certificates for https remotes.
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates git openssh-client \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /data --create-home kuberpult
COPY --from=build /out/kuberpult /usr/local/bin/kuberpult
USER 10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/kuberpult"]
CMD ["serve", "--config", "/etc/kuberpult/config.yaml"]
