/*
 * check_sigproto.c - unit tests for server/sigproto.c, the codec of the
 * messages between the HTTP workers and the signer.  Both sides decode
 * the other's bytes, so every malformed message must be refused:
 * truncated at every length, trailing bytes, length fields too large or
 * too small (up to the largest a field can hold), ids with a NUL, reply
 * statuses out of range, nonzero reserved bytes, an empty signed reply.
 * A refused message leaves the output untouched; an encoder never
 * writes past its buffer.  Round trips cover every request shape and
 * every reply status.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "server/sigproto.h"
#include "tests/testutil.h"

#define GUARD	0xa5

static const uint32_t seqs[] = { 0, 1, 0x7fffffff, 0x80000000,
    0xdeadbeef, UINT32_MAX };

/* An id of n bytes, none of them NUL. */
static void
id_fill(char *id, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		id[i] = (char)(1 + (i * 37) % 255);
}

/* A well-formed request with an id of idlen bytes; returns its length. */
static size_t
req_make(uint8_t *msg, size_t idlen, uint32_t seq)
{
	char			id[SIGPROTO_ID_MAX];
	struct sigproto_req	r = { seq, 7, SIGPROTO_F_PROBE, idlen, id };
	long			n;

	id_fill(id, idlen);
	n = sigproto_req_encode(msg, SIGPROTO_REQ_HDR + idlen, &r);
	ck_assert_int_eq(n, (long)(SIGPROTO_REQ_HDR + idlen));
	return ((size_t)n);
}

/* Decoding must fail and leave r as it was. */
static void
req_refused(const uint8_t *msg, size_t len)
{
	struct sigproto_req	r, before;

	memset(&r, GUARD, sizeof(r));
	before = r;
	ck_assert_msg(sigproto_req_decode(msg, len, &r) == -1,
	    "request of %zu bytes accepted", len);
	ck_assert_mem_eq(&r, &before, sizeof(r));
}

static void
rep_refused(const uint8_t *msg, size_t len)
{
	struct sigproto_rep	r, before;

	memset(&r, GUARD, sizeof(r));
	before = r;
	ck_assert_msg(sigproto_rep_decode(msg, len, &r) == -1,
	    "reply of %zu bytes accepted", len);
	ck_assert_mem_eq(&r, &before, sizeof(r));
}

/* A well-formed reply of body length blen; returns the message length. */
static size_t
rep_make(uint8_t *msg, uint32_t seq, uint8_t status, size_t blen)
{
	size_t	i;

	sigproto_rep_header(msg, seq, status, blen);
	for (i = 0; i < blen; i++)
		msg[SIGPROTO_REP_HDR + i] = (uint8_t)(i * 13);
	return (SIGPROTO_REP_HDR + blen);
}

/* ---- requests ---------------------------------------------------------- */

START_TEST(test_req_layout)
{
	uint8_t			msg[SIGPROTO_REQ_HDR + 3];
	struct sigproto_req	r = { 0x01020304, 0x11, 0x01, 3, "a:b" };
	static const uint8_t	want[] = { 1, 2, 3, 4, 0x11, 0x01, 0, 3,
	    'a', ':', 'b' };

	ck_assert_int_eq(sigproto_req_encode(msg, sizeof(msg), &r),
	    (long)sizeof(want));
	ck_assert_mem_eq(msg, want, sizeof(want));
}
END_TEST

/* Every id length 1..255 with several seq values, and fmt/flags bytes. */
START_TEST(test_req_round_trip)
{
	uint8_t			msg[SIGPROTO_REQ_HDR + SIGPROTO_ID_MAX];
	char			id[SIGPROTO_ID_MAX];
	struct sigproto_req	in, out;
	size_t			idlen, k;
	long			n;

	for (idlen = 1; idlen <= SIGPROTO_ID_MAX; idlen++) {
		k = idlen % TU_NELEM(seqs);
		id_fill(id, idlen);
		in.seq = seqs[k];
		in.fmt = (uint8_t)idlen;
		in.flags = (uint8_t)(255 - idlen);
		in.idlen = idlen;
		in.id = id;
		n = sigproto_req_encode(msg, sizeof(msg), &in);
		ck_assert_int_eq(n, (long)(SIGPROTO_REQ_HDR + idlen));
		ck_assert_int_eq(sigproto_req_decode(msg, (size_t)n, &out), 0);
		ck_assert_uint_eq(out.seq, seqs[k]);
		ck_assert_uint_eq(out.fmt, in.fmt);
		ck_assert_uint_eq(out.flags, in.flags);
		ck_assert_uint_eq(out.idlen, idlen);
		/* the id points into the message, not into a copy */
		ck_assert_ptr_eq(out.id, (const char *)msg + SIGPROTO_REQ_HDR);
		ck_assert_mem_eq(out.id, id, idlen);
	}
}
END_TEST

/* Refused ids and short buffers: -1, and not a byte written. */
START_TEST(test_req_encode_refused)
{
	uint8_t			msg[SIGPROTO_REQ_HDR + SIGPROTO_ID_MAX + 8];
	uint8_t			before[sizeof(msg)];
	char			id[SIGPROTO_ID_MAX + 2];
	struct sigproto_req	r = { 1, 0, 0, 0, id };
	size_t			len;

	id_fill(id, sizeof(id));
	memset(msg, GUARD, sizeof(msg));
	memcpy(before, msg, sizeof(msg));
	r.idlen = 0;
	ck_assert_int_eq(sigproto_req_encode(msg, sizeof(msg), &r), -1);
	r.idlen = SIGPROTO_ID_MAX + 1;
	ck_assert_int_eq(sigproto_req_encode(msg, sizeof(msg), &r), -1);
	r.idlen = SIZE_MAX;
	ck_assert_int_eq(sigproto_req_encode(msg, sizeof(msg), &r), -1);
	/* every buffer one byte too short, down to none */
	r.idlen = 10;
	for (len = 0; len < SIGPROTO_REQ_HDR + r.idlen; len++)
		ck_assert_int_eq(sigproto_req_encode(msg, len, &r), -1);
	ck_assert_mem_eq(msg, before, sizeof(msg));
	/* the exact size is enough and nothing past it is touched */
	ck_assert_int_eq(sigproto_req_encode(msg, len, &r), (long)len);
	ck_assert_mem_eq(msg + len, before + len, sizeof(msg) - len);
}
END_TEST

/* Truncated at every length, and with 1..16 trailing bytes. */
START_TEST(test_req_truncated_and_trailing)
{
	uint8_t	msg[SIGPROTO_REQ_HDR + SIGPROTO_ID_MAX + 16];
	size_t	sizes[] = { 1, 2, 40, SIGPROTO_ID_MAX }, i, n, len;

	for (i = 0; i < TU_NELEM(sizes); i++) {
		memset(msg, 'x', sizeof(msg));
		n = req_make(msg, sizes[i], 42);
		for (len = 0; len < n; len++)
			req_refused(msg, len);
		for (len = n + 1; len <= n + 16 && len <= sizeof(msg); len++)
			req_refused(msg, len);
	}
}
END_TEST

/* The idlen field: 0, every value that disagrees with the length. */
START_TEST(test_req_length_field)
{
	uint8_t			msg[SIGPROTO_REQ_HDR + SIGPROTO_ID_MAX + 1];
	struct sigproto_req	r;
	size_t			n, v;

	n = req_make(msg, SIGPROTO_ID_MAX, 9);
	for (v = 0; v <= 0xffff; v++) {
		msg[6] = (uint8_t)(v >> 8);
		msg[7] = (uint8_t)v;
		if (v == SIGPROTO_ID_MAX)
			ck_assert_int_eq(sigproto_req_decode(msg, n, &r), 0);
		else
			req_refused(msg, n);
	}
	/* a short message whose field claims more than it holds */
	n = req_make(msg, 5, 9);
	msg[7] = 6;
	req_refused(msg, n);
	msg[7] = 4;
	req_refused(msg, n);
	/* a field over the limit with the bytes really there */
	memset(msg + SIGPROTO_REQ_HDR, 'i', sizeof(msg) - SIGPROTO_REQ_HDR);
	msg[6] = 1;
	msg[7] = 0;
	req_refused(msg, sizeof(msg));
}
END_TEST

/* A NUL anywhere in the id: refused (ids are C strings to the signer). */
START_TEST(test_req_nul_in_id)
{
	uint8_t	msg[SIGPROTO_REQ_HDR + 64];
	size_t	n, i;
	uint8_t	saved;

	n = req_make(msg, 64, 3);
	for (i = SIGPROTO_REQ_HDR; i < n; i++) {
		saved = msg[i];
		msg[i] = '\0';
		req_refused(msg, n);
		msg[i] = saved;
	}
}
END_TEST

/* ---- replies ----------------------------------------------------------- */

START_TEST(test_rep_layout)
{
	uint8_t			hdr[SIGPROTO_REP_HDR + 4];
	static const uint8_t	want[] = { 0xde, 0xad, 0xbe, 0xef, 2, 0, 0,
	    0, 0x00, 0x04, 0x00, 0x00 };

	memset(hdr, GUARD, sizeof(hdr));
	sigproto_rep_header(hdr, 0xdeadbeef, SIG_UNAVAILABLE,
	    SIGPROTO_BODY_MAX);
	ck_assert_mem_eq(hdr, want, sizeof(want));
	ck_assert_uint_eq(hdr[SIGPROTO_REP_HDR], GUARD);
	ck_assert_uint_eq(be32dec(hdr + 8), SIGPROTO_BODY_MAX);
}
END_TEST

/* Every status with and without a body, several seqs and body sizes. */
START_TEST(test_rep_round_trip)
{
	static uint8_t		msg[SIGPROTO_REP_HDR + SIGPROTO_BODY_MAX];
	static const size_t	blens[] = { 0, 1, 100, 4096,
	    SIGPROTO_BODY_MAX - 1, SIGPROTO_BODY_MAX };
	struct sigproto_rep	r;
	size_t			i, k, n;
	uint8_t			st;

	for (st = SIG_OK; st <= SIG_BAD; st++)
		for (i = 0; i < TU_NELEM(blens); i++) {
			k = (st + i) % TU_NELEM(seqs);
			n = rep_make(msg, seqs[k], st, blens[i]);
			if (st == SIG_OK && blens[i] == 0) {
				rep_refused(msg, n);
				continue;
			}
			ck_assert_int_eq(sigproto_rep_decode(msg, n, &r), 0);
			ck_assert_uint_eq(r.seq, seqs[k]);
			ck_assert_uint_eq(r.status, st);
			ck_assert_uint_eq(r.len, blens[i]);
			ck_assert_ptr_eq(r.body, msg + SIGPROTO_REP_HDR);
		}
}
END_TEST

START_TEST(test_rep_truncated_and_trailing)
{
	uint8_t	msg[SIGPROTO_REP_HDR + 300 + 16];
	size_t	blens[] = { 1, 2, 300 }, i, n, len;

	for (i = 0; i < TU_NELEM(blens); i++) {
		memset(msg, 'y', sizeof(msg));
		n = rep_make(msg, 77, SIG_OK, blens[i]);
		for (len = 0; len < n; len++)
			rep_refused(msg, len);
		for (len = n + 1; len <= n + 16 && len <= sizeof(msg); len++)
			rep_refused(msg, len);
	}
	/* a bare header with a non-OK status is complete; one byte less not */
	n = rep_make(msg, 77, SIG_UNKNOWN, 0);
	for (len = 0; len < n; len++)
		rep_refused(msg, len);
}
END_TEST

/*
 * The length field: one more or less than the body, over the maximum
 * with the bytes present, and values that would overflow a 32-bit sum.
 */
START_TEST(test_rep_length_field)
{
	static uint8_t		msg[SIGPROTO_REP_HDR + SIGPROTO_BODY_MAX + 1];
	static const uint32_t	bad[] = { 99, 101, SIGPROTO_BODY_MAX + 1,
	    0x7fffffff, 0x80000000, UINT32_MAX - SIGPROTO_REP_HDR + 1,
	    UINT32_MAX };
	struct sigproto_rep	r;
	size_t			i, n;

	n = rep_make(msg, 5, SIG_OK, 100);
	for (i = 0; i < TU_NELEM(bad); i++) {
		be32enc(msg + 8, bad[i]);
		rep_refused(msg, n);
	}
	/* over the maximum although the message really is that long */
	n = rep_make(msg, 5, SIG_OK, SIGPROTO_BODY_MAX + 1);
	rep_refused(msg, n);
	/* and the maximum itself is fine */
	n = rep_make(msg, 5, SIG_OK, SIGPROTO_BODY_MAX);
	ck_assert_int_eq(sigproto_rep_decode(msg, n, &r), 0);
	ck_assert_uint_eq(r.len, SIGPROTO_BODY_MAX);
}
END_TEST

/* Statuses past SIG_BAD and nonzero reserved bytes are refused. */
START_TEST(test_rep_status_and_reserved)
{
	uint8_t			msg[SIGPROTO_REP_HDR + 8];
	struct sigproto_rep	r;
	size_t			n;
	unsigned		st, pos, v;

	for (st = 0; st <= 255; st++) {
		n = rep_make(msg, 1, (uint8_t)st, 8);
		if (st <= SIG_BAD)
			ck_assert_int_eq(sigproto_rep_decode(msg, n, &r), 0);
		else
			rep_refused(msg, n);
	}
	for (pos = 5; pos < 8; pos++)
		for (v = 1; v <= 255; v++) {
			n = rep_make(msg, 1, SIG_OK, 8);
			msg[pos] = (uint8_t)v;
			rep_refused(msg, n);
		}
}
END_TEST

Suite *
tu_suite(void)
{
	Suite	*s = suite_create("sigproto");
	TCase	*tc;

	tc = tu_tcase(s, "request", 30);
	tcase_add_test(tc, test_req_layout);
	tcase_add_test(tc, test_req_round_trip);
	tcase_add_test(tc, test_req_encode_refused);
	tcase_add_test(tc, test_req_truncated_and_trailing);
	tcase_add_test(tc, test_req_length_field);
	tcase_add_test(tc, test_req_nul_in_id);

	tc = tu_tcase(s, "reply", 30);
	tcase_add_test(tc, test_rep_layout);
	tcase_add_test(tc, test_rep_round_trip);
	tcase_add_test(tc, test_rep_truncated_and_trailing);
	tcase_add_test(tc, test_rep_length_field);
	tcase_add_test(tc, test_rep_status_and_reserved);
	return (s);
}
