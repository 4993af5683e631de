# Builds Sightline from source with the official Swift image, then runs it on a slim base.
FROM swift:6.2-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends zlib1g-dev libssl-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
COPY Sources ./Sources
COPY migrations ./migrations
RUN swift build -c release --product sightline --static-swift-stdlib \
    && cp "$(swift build -c release --show-bin-path)/sightline" /sightline

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends zlib1g ca-certificates libcurl4 && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/sightline --create-home sightline
COPY --from=build /sightline /usr/local/bin/sightline
USER sightline
WORKDIR /var/lib/sightline
EXPOSE 4318 3200
ENTRYPOINT ["/usr/local/bin/sightline"]
CMD ["serve"]
