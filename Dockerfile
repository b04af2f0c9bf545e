# Build: docker build -t planner .            (or ../shared/tools/docker-offline.sh build)
#        docker build --build-arg PGO=0 -t planner .   (quicker, without profile-guided optimisation)
# Run:   docker run -p 9000:9000 -e OLLAMA_HOST=http://ollama:11434 planner
FROM rust:1.95-slim-bookworm AS build
# PGO=1 (the default): the production build, fat LTO and profile-guided optimisation trained in
# this stage on the production request mix (deploy/pgo-build.sh; about a third less CPU per
# request, two full builds). PGO=0: a plain `cargo build --release`, for a quick image.
ARG PGO=1
WORKDIR /src

# Dependencies first, in their own layer: rebuilt only when Cargo.toml or Cargo.lock change.
# Stub targets stand in for the sources (the bench target must exist for the manifest to load);
# the training client's dependencies too when PGO is on.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src benches examples \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && echo 'fn main() {}' > benches/pipeline.rs \
    && echo 'fn main() {}' > examples/pgo_train.rs \
    && cargo build --release --locked --bin planner \
    && if [ "$PGO" = 1 ]; then cargo build --release --locked --example pgo_train; fi \
    && rm -rf src benches examples target/release/planner target/release/deps/planner-* \
       target/release/deps/libplanner-* target/release/.fingerprint/planner-* \
       target/release/examples

# The PGO build's tools: llvm-profdata of rustc's own LLVM (deploy/pgo-build.sh --install-tools).
COPY deploy/pgo-build.sh deploy/pgo-build.sh
RUN if [ "$PGO" = 1 ]; then bash deploy/pgo-build.sh --install-tools; fi

# Then the crate: only what the binary compiles in (sources, prompts, default settings), and
# what the profile-guided build trains with.
COPY src src
COPY prompts prompts
COPY config config
COPY tests/data tests/data
COPY benches/request.json benches/request.json
COPY examples/pgo_train.rs examples/pgo_train.rs
RUN echo 'fn main() {}' > benches/pipeline.rs \
    && if [ "$PGO" = 1 ]; then \
         bash deploy/pgo-build.sh && cp target/production/planner /src/planner; \
       else \
         cargo build --release --locked --bin planner && cp target/release/planner /src/planner; \
       fi

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
