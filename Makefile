# Progress Service. `make run` starts everything locally; `make test` runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := help
RT := runtime

help:  ## list targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

venv:  ## create/update .venv from requirements.lock
	@$(RT)/python-env.sh

runtime-deps:  ## build the Dapr binaries and fetch Kafka (cached, first time only)
	@$(RT)/build-dapr.sh
	@$(RT)/fetch-kafka.sh

up: venv  ## start Kafka, PostgreSQL, placement, scheduler in the background
	@$(RT)/up.sh

down:  ## stop everything started in the background (by PID)
	@$(RT)/down.sh

run: venv  ## start the whole stack plus daprd and the app in the foreground (Ctrl-C stops; ROLES=split: the two roles)
	@ROLES=$(ROLES) $(RT)/run.sh

test: lint runtime-deps  ## run every test after lint (builds the runtime first, starts what it needs, stops what it started)
	@$(RT)/test.sh

image: venv  ## build the OCI image without a Docker daemon: build/progress-service-image.tar (docs/image.md)
	@$(RT)/image/build.sh

image-run: venv  ## run the built image beside `make up`: make image-run CMD="migrate|start|stop|exec python verify.py"
	@$(RT)/image/run.sh $(or $(CMD),start)

token: venv  ## mint a local dev JWT: make token ROLE=teacher SUB=teacher-1
	@.venv/bin/python -m service.dev_token --role $(or $(ROLE),teacher) $(if $(SUB),--sub $(SUB))

openapi: venv  ## regenerate docs/openapi.yaml from the app
	@PROGRESS_LOG_FORMAT=json .venv/bin/python -m service.openapi_export

roster-import: venv  ## upload a OneRoster 1.2 CSV bundle to `make run`: make roster-import BUNDLE=path.zip|folder
	@.venv/bin/python -m service.rosters.cli "$(BUNDLE)" $(if $(API),--api $(API))

fit-mastery: venv  ## fit knowledge tracing parameters from the event log of `make run`: make fit-mastery [DAYS=30] [CREATE=1] (CREATE stores a rule set, not applied)
	@.venv/bin/python -m service.knowledge_fit $(if $(DAYS),--days $(DAYS)) $(if $(CREATE),--create)

verify: venv  ## run verify.py against the local `make run` stack
	@VERIFY_TOKEN=$$(.venv/bin/python -m service.dev_token --role admin --sub verify) \
	 VERIFY_DAPR_TOKEN=$$(cat .stack/secrets/dapr_api_token) \
	 VERIFY_DATABASE_URL=postgresql://progress:progress-dev@127.0.0.1:$${PG_PORT:-15432}/progress \
	 .venv/bin/python verify.py

backup:  ## back up the local database (PG_DATABASE, default progress) and the Dapr scheduler: make backup [BACKUP=dir]
	@$(RT)/backup.sh $(BACKUP)

restore:  ## restore a `make backup` folder (stop the app first): make restore BACKUP=dir
	@$(RT)/restore.sh "$(BACKUP)"

chaos: venv  ## fault suite, long form: 3000 events per scenario, 30 s outages
	@.venv/bin/python -m bench.chaos --events $(or $(EVENTS),3000) --outage $(or $(OUTAGE),30)

bench: venv  ## benchmark: throughput, latency percentiles, floor ratio, API latency
	@.venv/bin/python -m bench.run

bench-floor: venv  ## the floor by transport: no-op actor variants vs the service (VARIANTS, ROUNDS, STEP)
	@.venv/bin/python -m bench.floor $(if $(VARIANTS),--variants $(VARIANTS)) $(if $(ROUNDS),--rounds $(ROUNDS)) $(if $(STEP),--step-seconds $(STEP))

bench-console: venv  ## the console's page load times (p50/p95) over the demo school
	@.venv/bin/python -m bench.console_pages

demo: venv  ## seed a demo school into `make run` (5 classes, teachers demo-t-1..5) for the console
	@.venv/bin/python -m bench.demo_school

bench-xapi: venv  ## xAPI statements/s and CPU per statement in batches of 1, 50, 500, beside the Kafka intake
	@.venv/bin/python -m bench.xapi_statements

bench-mixed: venv  ## teachers' reads (vegeta) while events flow: one process vs the two roles (ROUNDS)
	@.venv/bin/python -m bench.mixed $(if $(ROUNDS),--rounds $(ROUNDS))

bench-ab: venv  ## A/B: alternating runs of BASELINE (default the per-event commit) and this checkout; RATE adds a paced step
	@.venv/bin/python -m bench.ab $(if $(BASELINE),--baseline $(BASELINE)) $(if $(ROUNDS),--rounds $(ROUNDS)) $(if $(RATE),--rate $(RATE))

lint: venv  ## ruff and mypy
	@.venv/bin/ruff check actors service tests migrations bench runtime verify.py
	@.venv/bin/ruff format --check actors service tests migrations bench runtime verify.py
	@.venv/bin/mypy

.PHONY: help venv runtime-deps up down run test image image-run token openapi roster-import fit-mastery verify backup restore chaos bench bench-floor bench-console demo bench-xapi bench-mixed bench-ab lint




