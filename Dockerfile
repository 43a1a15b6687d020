# The hub binary on a small base. Build: docker build -t hub .
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /hub ./cmd/hub

FROM gcr.io/distroless/static-debian12
COPY --from=build /hub /hub
USER nonroot
EXPOSE 8080
ENTRYPOINT ["/hub"]
CMD ["serve"]
