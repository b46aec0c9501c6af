#!/bin/bash
# tg-cost: 260
# tg-timeout: 600
# The attack suite, family E (process entry and environment): see attack.sh.
TG_ATTACK_CASES="E"
. "$(dirname "$0")/attack.sh"
