/*
 * svcid.h - service ids "host:port,type": validation and splitting.
 *
 * Used wherever an id enters: the signer (from HTTP queries), the
 * scanners (before anything is resolved), notaryctl (scan, import).
 * The id itself is never rewritten (the Perspectives signature covers it
 * byte for byte); svcid_parse only says whether it is acceptable and where
 * to connect.  Host: LDH names and A-labels (labels 1..63, total <= 253,
 * no leading/trailing '-'), dotted IPv4, or [IPv6]; port 1..65535 in
 * decimal without leading zeros; type "2" (ssl; "1" ssh is recognised and
 * refused for probing); whole id at most SVCID_MAX bytes, no NUL.  The
 * split is at the last ':' before the ','.
 */
#ifndef NOTARYD_SVCID_H
#define NOTARYD_SVCID_H

#include <stddef.h>
#include <stdint.h>

#define SVCID_MAX 255

/* The Perspectives service types: what follows the comma in an id. */
#define SVCID_TYPE_SSH 1
#define SVCID_TYPE_TLS 2

enum svcid_host {
	SVCID_DNS = 0,
	SVCID_IPV4,
	SVCID_IPV6,
};

struct svcid {
	char            host[256]; /* brackets stripped, NUL-terminated */
	enum svcid_host kind;
	uint8_t         addr[16]; /* IPV4 (4 bytes) / IPV6 literal */
	uint16_t        port;
	int             type; /* 1 or 2 */
};

/* 0 when valid (t filled), -1 with a reason in err. */
int svcid_parse(
    const char *id, size_t len, struct svcid *t, char *err, size_t errlen);

#endif
