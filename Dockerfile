# farmwatch site agent. Build: docker build -t farmwatch .
# Run:   docker run --network host -v $PWD/site.yaml:/etc/farmwatch/site.yaml:ro \
#          -v /run/secrets:/run/secrets:ro farmwatch
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY agent ./agent
COPY collectors ./collectors
COPY simsite ./simsite
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
COPY --from=build /install /usr/local
RUN useradd --system --uid 10428 --no-create-home farmwatch
USER 10428
EXPOSE 10428
HEALTHCHECK --interval=30s --timeout=5s --start-period=2m \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:10428/healthz', timeout=4).status == 200 else 1)"
ENTRYPOINT ["farmwatch"]
CMD ["run", "--config", "/etc/farmwatch/site.yaml"]
