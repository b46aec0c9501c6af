#!/bin/bash
# tg-cost: 300
# tg-timeout: 600
# The attack suite, family P (the policy file): see attack.sh.
TG_ATTACK_CASES="P"
. "$(dirname "$0")/attack.sh"
