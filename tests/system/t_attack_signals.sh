#!/bin/bash
# tg-cost: 210
# tg-timeout: 600
# The attack suite, family S (signals at every step): see attack.sh.
TG_ATTACK_CASES="S"
. "$(dirname "$0")/attack.sh"
