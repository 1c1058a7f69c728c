/* Tactic scripts in YAML: placeholder until the loader lands. */
#include "tactics.h"
