/* admin: helpers the admin page families share. Placeholder until its author lands it. */
#ifndef JT_ADMIN_H
#define JT_ADMIN_H
#endif
