/* assets: the static files' versioned URLs (see assets.h). */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <json-c/json.h>

#include "infra/assets.h"

struct asset {
	char name[ASSETS_NAME_MAX + 1];
	char *url;
};

struct assets {
	struct asset files[ASSETS_MAX];
	size_t n;
	struct json_object *json;   /* key -> URL */
};

void
assets_version(const void *p, size_t n, char out[17])
{
	const unsigned char *b = p;
	uint64_t h = UINT64_C(14695981039346656037);
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= b[i];
		h *= UINT64_C(1099511628211);
	}
	snprintf(out, 17, "%016" PRIx64, h);
}

/* True for a name assets takes: 1..ASSETS_NAME_MAX bytes of [a-z0-9._-], no leading '.'. */
static int
name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > ASSETS_NAME_MAX || s[0] == '.')
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

/* The version of file path into out. Returns 0, or -1 with err set. */
static int
file_version(const char *path, char out[17], char *err, size_t err_len)
{
	FILE *f = fopen(path, "re");
	char *data;
	size_t n;
	int rc = -1;

	if (f == NULL) {
		snprintf(err, err_len, "%s: %s", path, strerror(errno));
		return -1;
	}
	data = malloc(ASSETS_FILE_MAX + 1);
	if (data == NULL)
		abort();
	n = fread(data, 1, ASSETS_FILE_MAX + 1, f);
	if (ferror(f))
		snprintf(err, err_len, "%s: read error", path);
	else if (n > ASSETS_FILE_MAX)
		snprintf(err, err_len, "%s: larger than %d bytes", path, ASSETS_FILE_MAX);
	else {
		assets_version(data, n, out);
		rc = 0;
	}
	free(data);
	fclose(f);
	return rc;
}

/* The template key of a name: every byte outside [a-z0-9] becomes '_'. */
static void
key_of(const char *name, char *key)
{
	size_t i;

	for (i = 0; name[i] != '\0'; i++)
		key[i] = (name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ?
		    name[i] : '_';
	key[i] = '\0';
}

/* Adds the regular file name of dir. Returns 0, 1 when it is no regular file (skipped), or
 * -1 with err set. */
static int
add_file(struct assets *a, const char *dir, const char *name, char *err, size_t err_len)
{
	char path[4096], version[17], key[ASSETS_NAME_MAX + 1];
	struct asset *f;
	struct stat st;
	int len;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path)) {
		snprintf(err, err_len, "%s: path too long", dir);
		return -1;
	}
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return 1;
	if (a->n == ASSETS_MAX) {
		snprintf(err, err_len, "%s: more than %d files", dir, ASSETS_MAX);
		return -1;
	}
	if (file_version(path, version, err, err_len) != 0)
		return -1;
	f = &a->files[a->n++];
	snprintf(f->name, sizeof(f->name), "%s", name);
	len = snprintf(NULL, 0, "/static/%s?v=%s", name, version);
	f->url = malloc((size_t)len + 1);
	if (f->url == NULL)
		abort();
	snprintf(f->url, (size_t)len + 1, "/static/%s?v=%s", name, version);
	key_of(name, key);
	json_object_object_add(a->json, key, json_object_new_string(f->url));
	return 0;
}

struct assets *
assets_load(const char *dir, char *err, size_t err_len)
{
	struct assets *a;
	struct dirent *e;
	DIR *d = opendir(dir);
	int rc = 0;

	if (d == NULL) {
		snprintf(err, err_len, "%s: %s", dir, strerror(errno));
		return NULL;
	}
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		abort();
	a->json = json_object_new_object();
	while (rc >= 0 && (e = readdir(d)) != NULL) {
		if (name_ok(e->d_name))
			rc = add_file(a, dir, e->d_name, err, err_len);
	}
	closedir(d);
	if (rc >= 0 && a->n == 0) {
		snprintf(err, err_len, "%s: no static file", dir);
		rc = -1;
	}
	if (rc < 0)
		assets_free(&a);
	return a;
}

void
assets_free(struct assets **a)
{
	size_t i;

	if (*a == NULL)
		return;
	for (i = 0; i < (*a)->n; i++)
		free((*a)->files[i].url);
	json_object_put((*a)->json);
	free(*a);
	*a = NULL;
}

struct json_object *
assets_json(const struct assets *a)
{
	return a->json;
}
