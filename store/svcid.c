/*
 * svcid.c - validation and splitting of service ids "host:port,type"
 * (see svcid.h).
 *
 * Runs wherever an id enters notaryd: the signer (ids built from HTTP
 * query values), the scanners (before anything is resolved) and
 * notaryctl (scan, import, show).  Pure functions: no allocation, no I/O,
 * no logging.  An id is either accepted as it is or refused with a
 * one-line reason in the caller's buffer; it is never rewritten, because
 * the Perspectives signature covers its bytes.
 *
 * Decisions beyond the header:
 *   - A trailing dot ("example.com.") is refused.  The id is signed byte
 *     for byte, so "example.com." would be a second service for the same
 *     host, and the dot is not allowed in SNI (RFC 6066 §3) either.
 *   - Any host that the C library would read as a numeric IPv4 address
 *     (inet_aton: "127.1", "0x7f.0.0.1", "017.0.0.1", "2130706433") and
 *     that is not a canonical dotted quad is refused, so that a name can
 *     never smuggle an address past a check that looks at the host kind.
 *   - Case is kept (no lowercasing): hosts are compared as the client
 *     sent them.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "store/svcid.h"

#define SVCID_LABEL_MAX 63  /* RFC 1035 §2.3.4 */
#define SVCID_NAME_MAX  253 /* without a trailing dot */
#define SVCID_PORT_MAX  65535
#define SVCID_V6_MAX    45 /* INET6_ADDRSTRLEN - 1 */

static int
refuse(char *, size_t, const char *, ...) __attribute__((format(printf, 3, 4)));
static int is_ldh(int);
static int is_digit(int);
static int check_bytes(const char *, size_t, char *, size_t);
static int parse_type(const char *, size_t, int *, char *, size_t);
static int parse_port(const char *, size_t, uint16_t *, char *, size_t);
static int parse_dotted_quad(const char *, size_t, uint8_t *);
static int looks_numeric(const char *, size_t);
static int all_digits_and_dots(const char *, size_t);
static int parse_ipv6(const char *, size_t, struct svcid *, char *, size_t);
static int parse_dns(const char *, size_t, char *, size_t);
static int parse_host(const char *, size_t, struct svcid *, char *, size_t);

/* Write the reason (if the caller wants it) and return -1. */
static int
refuse(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		(void)vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return (-1);
}

/* Letters, digits, hyphen (RFC 952/1123), in ASCII only. */
static int
is_ldh(int c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    is_digit(c) || c == '-');
}

/* isdigit() depends on the locale; ids are ASCII by definition. */
static int
is_digit(int c)
{
	return (c >= '0' && c <= '9');
}

/* The whole id: printable ASCII only, so no NUL, controls or UTF-8. */
static int
check_bytes(const char *id, size_t len, char *err, size_t errlen)
{
	size_t        i;
	unsigned char c;

	for (i = 0; i < len; i++) {
		c = (unsigned char)id[i];
		if (c == '\0')
			return (
			    refuse(err, errlen, "NUL byte at offset %zu", i));
		if (c >= 0x80)
			return (refuse(err, errlen,
			    "non-ASCII byte 0x%02x at "
			    "offset %zu",
			    c, i));
		if (c <= 0x20 || c == 0x7f)
			return (refuse(err, errlen,
			    "control or space byte "
			    "0x%02x at offset %zu",
			    c, i));
	}
	return (0);
}

static int
parse_type(const char *s, size_t len, int *type, char *err, size_t errlen)
{
	if (len == 1 && (s[0] == '1' || s[0] == '2')) {
		*type = s[0] - '0';
		return (0);
	}
	return (refuse(err, errlen,
	    "service type must be 1 (ssh) or 2 (ssl), "
	    "got \"%.*s\"",
	    (int)(len > 16 ? 16 : len), s));
}

/* 1..65535 in decimal, digits only, no leading zero. */
static int
parse_port(const char *s, size_t len, uint16_t *port, char *err, size_t errlen)
{
	unsigned long v = 0;
	size_t        i;

	if (len == 0)
		return (refuse(err, errlen, "empty port"));
	if (len > 5)
		return (refuse(err, errlen, "port longer than 5 digits"));
	for (i = 0; i < len; i++) {
		if (!is_digit(s[i]))
			return (refuse(err, errlen,
			    "port is not a decimal "
			    "number"));
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (s[0] == '0')
		return (refuse(err, errlen,
		    len == 1 ? "port 0" : "port with a leading zero"));
	if (v > SVCID_PORT_MAX)
		return (
		    refuse(err, errlen, "port %lu out of range 1..65535", v));
	*port = (uint16_t)v;
	return (0);
}

/*
 * Strict dotted quad: four parts of 1..3 digits, each 0..255, no leading
 * zeros (which inet_aton would read as octal).  0 when it is one.
 */
static int
parse_dotted_quad(const char *s, size_t len, uint8_t *addr)
{
	size_t   i = 0, digits;
	unsigned part, v;

	for (part = 0; part < 4; part++) {
		if (part > 0) {
			if (i >= len || s[i] != '.')
				return (-1);
			i++;
		}
		v = 0;
		for (digits = 0; i < len && is_digit(s[i]); digits++, i++) {
			if (digits == 3)
				return (-1);
			v = v * 10 + (unsigned)(s[i] - '0');
		}
		if (digits == 0 || v > 255 ||
		    (digits > 1 && s[i - digits] == '0'))
			return (-1);
		addr[part] = (uint8_t)v;
	}
	return (i == len ? 0 : -1);
}

/* Would inet_aton(3) take this host for an IPv4 address? */
static int
looks_numeric(const char *s, size_t len)
{
	char           buf[SVCID_NAME_MAX + 1];
	struct in_addr ia;

	if (len >= sizeof(buf))
		return (0);
	memcpy(buf, s, len);
	buf[len] = '\0';
	return (inet_aton(buf, &ia) != 0);
}

static int
all_digits_and_dots(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!is_digit(s[i]) && s[i] != '.')
			return (0);
	return (1);
}

/* s is the text between the brackets. */
static int
parse_ipv6(const char *s, size_t len, struct svcid *t, char *err, size_t errlen)
{
	char buf[SVCID_V6_MAX + 1];

	if (len == 0)
		return (refuse(err, errlen, "empty IPv6 literal"));
	if (len > SVCID_V6_MAX)
		return (refuse(err, errlen, "IPv6 literal too long"));
	memcpy(buf, s, len);
	buf[len] = '\0';
	/* inet_pton refuses zone ids ("%eth0") and IPv4 in brackets. */
	if (inet_pton(AF_INET6, buf, t->addr) != 1)
		return (refuse(err, errlen, "bad IPv6 literal \"%s\"", buf));
	t->kind = SVCID_IPV6;
	return (0);
}

/* LDH labels of 1..63, no leading or trailing '-', total <= 253. */
static int
parse_dns(const char *s, size_t len, char *err, size_t errlen)
{
	size_t i, label = 0;

	if (len > SVCID_NAME_MAX)
		return (refuse(err, errlen, "host name longer than %d bytes",
		    SVCID_NAME_MAX));
	if (s[len - 1] == '.')
		return (refuse(err, errlen, "host name with a trailing dot"));
	for (i = 0; i <= len; i++) {
		if (i == len || s[i] == '.') {
			if (label == 0)
				return (refuse(err, errlen,
				    "empty label in "
				    "host name"));
			if (s[i - 1] == '-')
				return (refuse(err, errlen,
				    "label ends with "
				    "'-'"));
			label = 0;
			continue;
		}
		if (!is_ldh(s[i]))
			return (refuse(err, errlen,
			    "character '%c' not "
			    "allowed in a host name",
			    s[i]));
		if (label == 0 && s[i] == '-')
			return (refuse(err, errlen, "label starts with '-'"));
		if (++label > SVCID_LABEL_MAX)
			return (refuse(err, errlen,
			    "label longer than %d "
			    "bytes",
			    SVCID_LABEL_MAX));
	}
	return (0);
}

static int
parse_host(const char *s, size_t len, struct svcid *t, char *err, size_t errlen)
{
	if (len == 0)
		return (refuse(err, errlen, "empty host"));
	if (s[0] == '[') {
		if (len < 2 || s[len - 1] != ']')
			return (refuse(err, errlen,
			    "'[' without a closing "
			    "']' at the end of the host"));
		if (parse_ipv6(s + 1, len - 2, t, err, errlen) == -1)
			return (-1);
		memcpy(t->host, s + 1, len - 2);
		t->host[len - 2] = '\0';
		return (0);
	}
	if (memchr(s, ']', len) != NULL || memchr(s, '[', len) != NULL)
		return (refuse(err, errlen, "misplaced bracket in host"));
	if (memchr(s, ':', len) != NULL)
		return (refuse(err, errlen,
		    "an IPv6 literal must be written "
		    "in brackets: [addr]:port,type"));
	if (parse_dotted_quad(s, len, t->addr) == 0) {
		t->kind = SVCID_IPV4;
	} else {
		if (looks_numeric(s, len))
			return (refuse(err, errlen,
			    "numeric host that is not "
			    "a dotted quad without leading zeros"));
		if (parse_dns(s, len, err, errlen) == -1)
			return (-1);
		/* "1.2.3.256" and the like: numbers, but no address */
		if (all_digits_and_dots(s, len))
			return (refuse(err, errlen, "bad IPv4 address"));
		t->kind = SVCID_DNS;
	}
	memcpy(t->host, s, len);
	t->host[len] = '\0';
	return (0);
}

int
svcid_parse(
    const char *id, size_t len, struct svcid *out, char *err, size_t errlen)
{
	struct svcid t;
	const char  *comma, *colon;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (id == NULL || len == 0)
		return (refuse(err, errlen, "empty service id"));
	if (len > SVCID_MAX)
		return (refuse(
		    err, errlen, "service id longer than %d bytes", SVCID_MAX));
	if (check_bytes(id, len, err, errlen) == -1)
		return (-1);
	memset(&t, 0, sizeof(t));
	/* Neither host nor port holds a ',', so the last one splits. */
	if ((comma = memrchr(id, ',', len)) == NULL)
		return (refuse(err, errlen, "no ',type' after host:port"));
	if (parse_type(comma + 1, len - (size_t)(comma + 1 - id), &t.type, err,
	        errlen) == -1)
		return (-1);
	/* The port never holds a ':', an IPv6 host does: split at the last. */
	if ((colon = memrchr(id, ':', (size_t)(comma - id))) == NULL)
		return (refuse(err, errlen, "no ':port' after the host"));
	if (parse_port(colon + 1, (size_t)(comma - colon - 1), &t.port, err,
	        errlen) == -1)
		return (-1);
	if (parse_host(id, (size_t)(colon - id), &t, err, errlen) == -1)
		return (-1);
	if (out != NULL)
		*out = t;
	return (0);
}
