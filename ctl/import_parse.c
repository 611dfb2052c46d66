/*
 * import_parse.c - the line parser of `notaryctl import` (see
 * import_parse.h) and the time field parser notaryctl shares.  Runs in
 * notaryctl only; pure: a bad line is -1 with a reason for the caller to
 * report as FILE:LINE.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "store/obs.h"
#include "store/svcid.h"

#include "ctl/ctl.h"
#include "ctl/import_parse.h"

static void trim(const char **, const char **);
static int  has_uppercase_hex(const char *, size_t);

/* Move *s forward and *e back over spaces and tabs. */
static void
trim(const char **s, const char **e)
{
	while (*s < *e && (**s == ' ' || **s == '\t'))
		(*s)++;
	while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
		(*e)--;
}

/* Decimal digits only, 0..OBS_TIME_MAX. */
int
ctl_parse_time(const char *s, size_t len, int64_t *t)
{
	int64_t v = 0;
	size_t  i;

	if (len == 0 || len > 15)
		return (-1);
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return (-1);
		v = v * 10 + (s[i] - '0');
	}
	if (v > OBS_TIME_MAX)
		return (-1);
	*t = v;
	return (0);
}

static int
has_uppercase_hex(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] >= 'A' && s[i] <= 'F')
			return (1);
	return (0);
}

/*
 * "(svc, fp, start, end)" or "(svc, None, None, None)".  The id holds a
 * comma itself, so the fields are split at the last three commas.
 * Returns 0 (e filled, except svc: *svc points to the id in line, e->len
 * long) or -1 with a reason.
 */
int
import_parse_tuple(const char *line, size_t len, struct import_entry *e,
    const char **svc, char *err, size_t errlen)
{
	const char *s = line, *end = line + len, *f[4], *fe[4], *p;
	char        why[128];
	int         i;

	trim(&s, &end);
	if (end - s < 2 || *s != '(' || end[-1] != ')') {
		snprintf(err, errlen,
		    "expected (service, fingerprint, start, "
		    "end)");
		return (-1);
	}
	s++;
	end--;
	/* fields 3, 2, 1 from the right; field 0 is what is left */
	fe[3] = end;
	for (i = 3; i > 0; i--) {
		for (p = fe[i]; p > s && p[-1] != ','; p--)
			;
		if (p == s) {
			snprintf(err, errlen,
			    "expected 4 fields: (service, "
			    "fingerprint, start, end)");
			return (-1);
		}
		f[i] = p;
		fe[i - 1] = p - 1;
	}
	f[0] = s;
	for (i = 0; i < 4; i++)
		trim(&f[i], &fe[i]);
	memset(e, 0, sizeof(*e));
	if (svcid_parse(f[0], (size_t)(fe[0] - f[0]), NULL, why, sizeof(why)) ==
	    -1) {
		snprintf(err, errlen, "bad service id: %s", why);
		return (-1);
	}
	*svc = f[0];
	e->len = (uint32_t)(fe[0] - f[0]);
	for (i = 1; i < 4; i++)
		if (fe[i] - f[i] != 4 || memcmp(f[i], "None", 4) != 0)
			break;
	if (i == 4) {
		e->svc_only = 1;
		return (0);
	}
	if (has_uppercase_hex(f[1], (size_t)(fe[1] - f[1]))) {
		snprintf(err, errlen,
		    "fingerprint has uppercase hex digits "
		    "(notaryd stores lowercase only)");
		return (-1);
	}
	if (obs_parse_colon_hex(
	        f[1], (size_t)(fe[1] - f[1]), e->md5, sizeof(e->md5)) == -1) {
		snprintf(err, errlen,
		    "fingerprint is not an MD5 in colon-hex "
		    "(aa:bb:...: 16 bytes)");
		return (-1);
	}
	if (ctl_parse_time(f[2], (size_t)(fe[2] - f[2]), &e->start) == -1 ||
	    ctl_parse_time(f[3], (size_t)(fe[3] - f[3]), &e->end) == -1) {
		snprintf(err, errlen,
		    "start and end must be times in seconds "
		    "(0..%lld)",
		    (long long)OBS_TIME_MAX);
		return (-1);
	}
	if (e->start > e->end) {
		snprintf(err, errlen, "start %lld is after end %lld",
		    (long long)e->start, (long long)e->end);
		return (-1);
	}
	return (0);
}
