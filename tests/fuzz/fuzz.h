/*
 * fuzz.h - what every harness in tests/fuzz/ shares.  A harness defines
 * LLVMFuzzerTestOneInput over one parser; it is linked either with
 * libFuzzer (clang -fsanitize=fuzzer, "make fuzz") or with replay.c, which
 * runs it on every file of its corpus in "make check".  A harness calls
 * FUZZ_CHECK on what the parser promises; a broken promise aborts, which
 * both drivers report as a failure.
 */
#ifndef NOTARYD_FUZZ_H
#define NOTARYD_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: broken promise: %s\n",		\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

#endif
