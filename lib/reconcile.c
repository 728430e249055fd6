/* reconcile: placeholder until its author lands it. */
#include "reconcile.h"
