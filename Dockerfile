# Build: docker build -t planner .            (or ../shared/tools/docker-offline.sh build)
# Run:   docker run -p 9000:9000 -e OLLAMA_HOST=http://ollama:11434 planner
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src

# Dependencies first, in their own layer: rebuilt only when Cargo.toml or Cargo.lock change.
# Stub targets stand in for the sources (the bench target must exist for the manifest to load).
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src benches \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && echo 'fn main() {}' > benches/pipeline.rs \
    && cargo build --release --locked --bin planner \
    && rm -rf src benches target/release/planner target/release/deps/planner-* \
       target/release/deps/libplanner-* target/release/.fingerprint/planner-*

# Then the crate: only what the binary compiles in (sources, prompts, default settings).
COPY src src
COPY prompts prompts
COPY config config
RUN mkdir -p benches && echo 'fn main() {}' > benches/pipeline.rs \
    && cargo build --release --locked --bin planner \
    && cp target/release/planner /src/planner

# rustls + ring: no libssl and no CA bundle needed; the binary links only glibc.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/planner /usr/local/bin/planner
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
