/* inventory: placeholder until its author lands it. */
#ifndef JT_INVENTORY_H
#define JT_INVENTORY_H
#endif
