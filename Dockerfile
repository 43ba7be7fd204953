# farmwatch site agent: a slim, non-root image. docs/deploy.md has the whole deployment (compose, systemd).
#   docker build -t farmwatch .
#   docker run -d --name farmwatch --network host --restart unless-stopped \
#     -v /etc/farmwatch:/etc/farmwatch:ro -v /etc/farmwatch/secrets:/run/secrets:ro farmwatch
# Config and secrets are mounted, never baked in: /etc/farmwatch/site.yaml (and its site map, power-domains file,
# web.yml), secret files under /run/secrets (site.yaml's *_file keys point there). SIGHUP reloads the config.
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# The whole build context (.dockerignore keeps out .git, .venv, caches and the compose secrets): what ships is
# decided once, by pyproject.toml, when the wheel is built; tests/integration/test_image.py builds this file set the same way.
COPY . .
# pip first (the version constraints.txt was made with; --build-constraint needs pip >= 25.3), then a wheel of the
# project built with the pinned setuptools, then that wheel and its dependencies at their pinned versions. The
# `fast` extra adds uvloop (about a third less CPU per miner, bench/scale.py).
RUN python -m venv /opt/farmwatch \
 && /opt/farmwatch/bin/pip install --no-cache-dir -c constraints.txt pip setuptools \
 && /opt/farmwatch/bin/pip wheel --no-cache-dir --no-deps --build-constraint constraints.txt -w /tmp/dist . \
 && set -- /tmp/dist/farmwatch-*.whl \
 && /opt/farmwatch/bin/pip install --no-cache-dir -c constraints.txt "$1[fast]"

FROM python:3.11-slim-bookworm
LABEL org.opencontainers.image.title="farmwatch" \
      org.opencontainers.image.description="Telemetry for ASIC mining and GPU fleets, exported to Prometheus" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PATH=/opt/farmwatch/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    FARMWATCH_HEALTH_URL=http://127.0.0.1:10428/healthz
COPY --from=build /opt/farmwatch /opt/farmwatch
RUN groupadd --system --gid 10428 farmwatch \
 && useradd --system --uid 10428 --gid farmwatch --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin farmwatch \
 && mkdir -p /etc/farmwatch \
 && chown root:root /etc/farmwatch
USER 10428:10428
EXPOSE 10428
STOPSIGNAL SIGTERM
# /healthz is 200 while every poll group completes cycles on time. With TLS in web.yml set
# FARMWATCH_HEALTH_URL=https://127.0.0.1:10428/healthz (the loopback check does not verify the certificate);
# with basic auth, FARMWATCH_HEALTH_AUTH=user:password (an environment value for the check only).
HEALTHCHECK --interval=30s --timeout=5s --start-period=3m --retries=3 \
  CMD ["python", "-c", "import base64,os,ssl,sys,urllib.request as u; r=u.Request(os.environ['FARMWATCH_HEALTH_URL']); a=os.environ.get('FARMWATCH_HEALTH_AUTH'); a and r.add_header('Authorization','Basic '+base64.b64encode(a.encode()).decode()); c=ssl.create_default_context(); c.check_hostname=False; c.verify_mode=ssl.CERT_NONE; sys.exit(0 if u.urlopen(r,timeout=4,context=c).status==200 else 1)"]
ENTRYPOINT ["farmwatch"]
CMD ["run", "--config", "/etc/farmwatch/site.yaml"]
