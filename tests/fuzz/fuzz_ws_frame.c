/*
 * fuzz_ws_frame.c - libFuzzer harness for the websocket client frame
 * parser (server/ws.h ws_parse_frame): the input is what a client sent
 * after the upgrade; frames are parsed and consumed one after the other as
 * the worker does.  Checked: the bytes used are within the input, the
 * payload lies inside the frame, and no frame is larger than
 * WS_CLIENT_FRAME_MAX.
 */
#include <string.h>

#include "server/ws.h"
#include "tests/fuzz/fuzz.h"

#define FUZZ_MAX_FRAMES	256

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ws_frame	 f;
	uint8_t		*buf;
	size_t		 off = 0;
	long		 used;
	int		 n;

	/* the parser unmasks in place: work on a copy of exactly size */
	if ((buf = malloc(size > 0 ? size : 1)) == NULL)
		return (0);
	memcpy(buf, data, size);
	for (n = 0; n < FUZZ_MAX_FRAMES && off < size; n++) {
		memset(&f, 0, sizeof(f));
		used = ws_parse_frame(buf + off, size - off, &f);
		if (used <= 0) {
			FUZZ_CHECK(used == 0 || used == -1002 ||
			    used == -1009);
			break;
		}
		FUZZ_CHECK((size_t)used <= size - off);
		FUZZ_CHECK(f.len <= WS_CLIENT_FRAME_MAX);
		FUZZ_CHECK(f.payload >= buf + off && f.payload + f.len <=
		    buf + off + (size_t)used);
		FUZZ_CHECK(f.opcode >= 0 && f.opcode <= 0xf);
		off += (size_t)used;
	}
	free(buf);
	return (0);
}
