#!/usr/bin/env bash
# Rank runs by the sharpness of their newest samples: one line per run (PATH<TAB>blur), sharpest last.
#   examples/rank_by_blur.sh                  # every run under runs/
#   examples/rank_by_blur.sh runs/0*-aegan-*  # the runs named
set -euo pipefail
if [ $# -eq 0 ]; then set -- runs/*/; fi
facegan blur "$@" | sort -t "$(printf '\t')" -k2 -g
