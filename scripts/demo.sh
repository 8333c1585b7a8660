#!/usr/bin/env bash
# Quick start: install, ingest sample_docs/, ask one question with the bundled models.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
# shellcheck disable=SC1091
. .venv/bin/activate
ragkb ingest sample_docs/
ragkb ask "What is a trace tree?"
