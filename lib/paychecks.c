/* paychecks: placeholder until its author lands it. */
#include "paychecks.h"
