# syntax=docker/dockerfile:1
# One image for every Vidnova process; the command picks what runs:
#   docker run IMAGE serve requests|allocation|notifications
#   docker run IMAGE migrate all        docker run IMAGE topics
# No HEALTHCHECK here on purpose: the same image serves three ports and also runs one-shot
# commands (migrate, topics), so the check belongs to whoever starts it — docker-compose.yml
# defines one per service and Kubernetes uses its own probes (it ignores HEALTHCHECK).

ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src

# Dependencies first, against empty packages, so a code change does not reinstall them.
COPY pyproject.toml constraints.txt README.md ./
RUN mkdir -p shared services vidnova \
    && touch shared/__init__.py services/__init__.py vidnova/__init__.py \
    && pip install --no-cache-dir -c constraints.txt . \
    && pip uninstall --yes vidnova

COPY shared ./shared
COPY services ./services
COPY vidnova ./vidnova
# Not editable: the runtime stage gets site-packages (bytecode compiled by pip) only,
# never the build context.
RUN pip install --no-cache-dir --no-deps -c constraints.txt .

FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="vidnova" \
      org.opencontainers.image.description="Vidnova requests, allocation and notifications services"
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    VIDNOVA_ENV=production \
    VIDNOVA_HOST=0.0.0.0 \
    LOG_FORMAT=json
RUN groupadd --system --gid 10001 vidnova \
    && useradd --system --uid 10001 --gid vidnova --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin vidnova
# Pango and DejaVu for WeasyPrint: the donor statement's PDF (shared/statement/), Latin and Cyrillic.
# Versions are bookworm's, the base image's release.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
       libpango-1.0-0=1.50.12+ds-1 libpangoft2-1.0-0=1.50.12+ds-1 fonts-dejavu-core=2.37-6 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# Numeric so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
EXPOSE 8000 8001 8002 8003
ENTRYPOINT ["vidnova"]
CMD ["serve", "requests"]
