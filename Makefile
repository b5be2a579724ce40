# The two set-up commands of the README.
.PHONY: demo test

demo:
	./scripts/bootstrap.sh
	.venv/bin/ocpp-bridge demo

test:
	./scripts/bootstrap.sh --mosquitto
	.venv/bin/ruff check .
	.venv/bin/mypy
	.venv/bin/python -m pytest $(PYTEST_ARGS)
