/*
 * ctl.h - what the notaryctl commands share: the open data_dir, the
 * exit statuses, limits and formats, and the helpers in notaryctl.c.
 * One file per command (ctl/<command>.c) implements cmd_<command>.
 */
#ifndef NOTARYD_CTL_H
#define NOTARYD_CTL_H

#include <stdint.h>
#include <stdio.h>

#include "common/conf.h"
#include "store/dbenv.h"
#include "store/obs.h"

#define EXIT_OK      0
#define EXIT_RUNTIME 1
#define EXIT_USAGE   2

#define MAX_OVERRIDES      64
#define DAY_SECONDS        86400
#define LIST_DEFAULT_DAYS  10 /* list_services.py's default */
#define LIST_MAX_DAYS      36500
#define IMPORT_LINE_MAX    1024 /* bytes, without the \n */
#define IMPORT_MAX_ENTRIES (4 * 1024 * 1024)
#define IMPORT_BATCH       1000 /* spans per transaction */
#define SHOW_MAX_SPANS     (2 * OBS_MAX_SPANS)
#define ISO_LEN            32
#define MD5_HEX_LEN        48 /* 16 * 3, with the NUL */
#define SHA1_HEX_LEN       60
#define SHA256_HEX_LEN     96

struct ctl {
	struct conf  *cf;
	DB_ENV       *env;
	struct obs_db obs;
	int           obs_open;
};

/* A growable list of strings (service ids), with a value each. */
struct names {
	char   **v;
	int64_t *newest; /* newest span end, or -1 */
	size_t   n;
	size_t   cap;
};

int  ctl_check_interrupt(void);
int  ctl_open(struct ctl *c);
void ctl_close(struct ctl *c);
void ctl_iso_time(int64_t t, char *buf, size_t len);
int  ctl_out_error(FILE *f, const char *what);
void ctl_names_add(struct names *nm, const char *s, size_t len, int64_t newest);
void ctl_names_free(struct names *nm);
int  ctl_parse_time(const char *s, size_t len, int64_t *t);
int  ctl_interrupted(void);
/* obs_walk_services callback: add each service to a struct names. */
int
ctl_collect_service(const char *, size_t, const struct obs_service *, void *);

/* The commands (the table is in notaryctl.c). */
int cmd_convergence_bundle(struct ctl *, int, char **);
int cmd_ct_positions(struct ctl *, int, char **);
int cmd_backup(struct ctl *, int, char **);
int cmd_export(struct ctl *, int, char **);
int cmd_import(struct ctl *, int, char **);
int cmd_keygen(struct ctl *, int, char **);
int cmd_list_services(struct ctl *, int, char **);
int cmd_scan(struct ctl *, int, char **);
int cmd_show(struct ctl *, int, char **);

#endif
