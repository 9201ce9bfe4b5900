/* Tests for greet(), split into shards: `./test_greet SHARD` runs the cases of one shard (1..3). */
#include "greet.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;

static void expect(const char *name, const char *expected) {
  char line[64];
  greet(line, sizeof line, name);
  if (strcmp(line, expected) != 0) {
    fprintf(stderr, "FAIL greet(%s): expected \"%s\", got \"%s\"\n", name ? name : "NULL", expected, line);
    failures++;
  } else {
    printf("ok greet(%s)\n", name ? name : "NULL");
  }
}

int main(int argc, char **argv) {
  int shard = argc > 1 ? atoi(argv[1]) : 0;
  if (shard == 0 || shard == 1) { expect("kiln", "hello, kiln"); expect("a", "hello, a"); }
  if (shard == 0 || shard == 2) { expect(NULL, "hello, world"); expect("", "hello, world"); }
  if (shard == 0 || shard == 3) {
    char small[8];
    int length = greet(small, sizeof small, "truncated");
    if (length != 16 || strcmp(small, "hello, ") != 0) { fprintf(stderr, "FAIL truncation\n"); failures++; }
    else puts("ok truncation");
  }
  return failures == 0 ? 0 : 1;
}
