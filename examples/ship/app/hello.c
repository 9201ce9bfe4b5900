#include <stdio.h>
#include <string.h>

#ifndef VERSION
#define VERSION "dev"
#endif

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--version") == 0) {
    puts(VERSION);
    return 0;
  }
  printf("hello from %s\n", argc > 1 ? argv[1] : "kiln");
  return 0;
}
