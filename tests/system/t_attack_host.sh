#!/bin/bash
# tg-cost: 240
# tg-timeout: 600
# The attack suite, families K and L (kernel and host state, logging): see
# attack.sh.
TG_ATTACK_CASES="K L"
. "$(dirname "$0")/attack.sh"
