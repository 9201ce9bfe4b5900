#include "greet.h"
#include <stdio.h>
#include <string.h>

int greet(char *buffer, size_t size, const char *name) {
  if (name == NULL || name[0] == '\0') name = "world";
  return snprintf(buffer, size, "hello, %s", name);
}
