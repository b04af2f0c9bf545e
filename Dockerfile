# Build: docker build -t planner .
# Run:   docker run -p 9000:9000 -e OLLAMA_HOST=http://ollama:11434 planner
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock clippy.toml ./
COPY src src
COPY prompts prompts
COPY config config
COPY benches benches
COPY tests/data tests/data
RUN cargo build --release --locked --bin planner

# rustls + ring: no libssl and no CA bundle needed; the binary links only glibc.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/planner /usr/local/bin/planner
ENV PLANNER_HOST=0.0.0.0 \
    PLANNER_PORT=9000 \
    LOG_FORMAT=json
EXPOSE 9000
# distroless has no curl: the binary checks itself.
HEALTHCHECK --interval=15s --timeout=5s --start-period=5s --retries=3 \
    CMD ["/usr/local/bin/planner", "healthcheck"]
USER nonroot
ENTRYPOINT ["/usr/local/bin/planner"]
CMD ["serve"]
