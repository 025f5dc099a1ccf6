/*
 * replay.c: a main() for fuzz targets built without libFuzzer.  Runs the
 * target once over each file named on the command line (the seed corpus),
 * so make check exercises every fuzz target under the sanitizers.
 */
#include "util/common.h"

#include <errno.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		uint8_t *p = NULL;
		size_t len = 0, cap = 0, n;

		if (f == NULL) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		for (;;) {
			if (len == cap) {
				cap = cap == 0 ? 65536 : cap * 2;
				if ((p = realloc(p, cap)) == NULL)
					return 1;
			}
			if ((n = fread(p + len, 1, cap - len, f)) == 0)
				break;
			len += n;
		}
		fclose(f);
		LLVMFuzzerTestOneInput(p, len);
		free(p);
	}
	return 0;
}
