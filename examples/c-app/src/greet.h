#ifndef GREET_H
#define GREET_H
#include <stddef.h>

/* Writes "hello, <name>" (or "hello, world") into buffer; returns the length snprintf reports. */
int greet(char *buffer, size_t size, const char *name);
#endif
