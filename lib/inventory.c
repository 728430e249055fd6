/* inventory: placeholder until its author lands it. */
#include "inventory.h"
