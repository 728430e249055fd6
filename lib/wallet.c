/* wallet: placeholder until its author lands it. */
#include "wallet.h"
