/*
 * nats_dump.c - print every message of a JetStream stream, for the
 * integration tests (tests/integration/test_nats.py): a tiny libnats
 * reader, built by "make check" but not a test itself.
 *
 * Usage: nats_dump URL STREAM.  For each stored message, in stream
 * order: a line "SEQ SUBJECT LEN", then exactly LEN payload bytes, then
 * "\n".  The last line is "end MSGS".  Exit 0, or 1 (with a message on
 * stderr) when the server, the stream or a message cannot be read.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <nats/nats.h>

#define DUMP_MAX_MSGS	10000000ULL	/* bound on the loop */

static int
dump(jsCtx *js, const char *stream, uint64_t first, uint64_t last)
{
	natsMsg		*m;
	jsErrCode	 jerr;
	natsStatus	 s;
	uint64_t	 seq;

	for (seq = first; seq <= last && seq - first < DUMP_MAX_MSGS; seq++) {
		m = NULL;
		jerr = 0;
		s = js_GetMsg(&m, js, stream, seq, NULL, &jerr);
		if (s == NATS_NOT_FOUND)
			continue;	/* deleted: not ours to judge here */
		if (s != NATS_OK) {
			fprintf(stderr, "nats_dump: message %" PRIu64 ": %s\n",
			    seq, natsStatus_GetText(s));
			return (-1);
		}
		printf("%" PRIu64 " %s %d\n", seq, natsMsg_GetSubject(m),
		    natsMsg_GetDataLength(m));
		fwrite(natsMsg_GetData(m), 1,
		    (size_t)natsMsg_GetDataLength(m), stdout);
		putchar('\n');
		natsMsg_Destroy(m);
	}
	return (0);
}

int
main(int argc, char **argv)
{
	natsConnection	*nc = NULL;
	jsCtx		*js = NULL;
	jsStreamInfo	*si = NULL;
	jsErrCode	 jerr = 0;
	natsStatus	 s;
	int		 rc = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: nats_dump URL STREAM\n");
		return (2);
	}
	s = natsConnection_ConnectTo(&nc, argv[1]);
	if (s == NATS_OK)
		s = natsConnection_JetStream(&js, nc, NULL);
	if (s == NATS_OK)
		s = js_GetStreamInfo(&si, js, argv[2], NULL, &jerr);
	if (s != NATS_OK)
		fprintf(stderr, "nats_dump: %s %s: %s\n", argv[1], argv[2],
		    natsStatus_GetText(s));
	else if (si->State.Msgs == 0 ||
	    dump(js, argv[2], si->State.FirstSeq, si->State.LastSeq) == 0) {
		printf("end %" PRIu64 "\n", si->State.Msgs);
		rc = 0;
	}
	jsStreamInfo_Destroy(si);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	nats_Close();
	return (rc);
}
