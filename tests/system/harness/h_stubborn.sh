#!/bin/bash
# h_hang, stubborn: see h_hang.sh.
TG_HARNESS_STUBBORN=1
. "$(dirname "$0")/h_hang.sh"
