#!/bin/bash
# tg-cost: 320
# tg-timeout: 600
# The attack suite, family A (arguments and requests): see attack.sh.
TG_ATTACK_CASES="A"
. "$(dirname "$0")/attack.sh"
