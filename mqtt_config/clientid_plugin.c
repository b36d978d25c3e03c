/*
 * BREXIT Mosquitto plugin: a client id belongs to one login.
 *
 * Mosquitto 2.0 lets any login connect with any client id, and a second connection with
 * the same id takes the first one's place (and its persistent session). This plugin
 * refuses a CONNECT whose client id is owned by another login. Ownership comes from the
 * file named by `plugin_opt_clientids` (rendered by `brexit broker`, see docs/brokers.md):
 *
 *     # comment
 *     brexit-janti-kiosk-1    node.janti.kiosk-1
 *     brexit-janti-kiosk-1-*  node.janti.kiosk-1
 *     auto-*                  *
 *
 * A pattern ending in '*' is a prefix. The longest matching pattern decides the owner;
 * owner '*' means any login. A client id no pattern matches is refused. The plugin only
 * ever refuses or defers: the password file still decides whether the password is right.
 *
 * Build: cc -shared -fPIC -O2 -o mosquitto_brexit_clientid.so clientid_plugin.c
 * (Debian: mosquitto-dev; `brexit broker plugin --out DIR` does this.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>

#define MAX_LINE 512

struct rule {
	char *pattern; /* without the trailing '*' when prefix */
	size_t length;
	int prefix;
	char *owner;
};

struct rules {
	struct rule *items;
	size_t count;
};

static mosquitto_plugin_id_t *plugin_id = NULL;
static struct rules rules = {NULL, 0};

static void rules_free(struct rules *r)
{
	for(size_t i = 0; i < r->count; i++){
		free(r->items[i].pattern);
		free(r->items[i].owner);
	}
	free(r->items);
	r->items = NULL;
	r->count = 0;
}

static int rules_add(struct rules *r, const char *pattern, const char *owner)
{
	struct rule *grown = realloc(r->items, (r->count + 1) * sizeof(struct rule));
	if(grown == NULL) return MOSQ_ERR_NOMEM;
	r->items = grown;
	struct rule *it = &r->items[r->count];
	size_t len = strlen(pattern);
	it->prefix = len > 0 && pattern[len - 1] == '*';
	it->length = it->prefix ? len - 1 : len;
	it->pattern = strndup(pattern, it->length);
	it->owner = strdup(owner);
	if(it->pattern == NULL || it->owner == NULL){
		free(it->pattern);
		free(it->owner);
		return MOSQ_ERR_NOMEM;
	}
	r->count++;
	return MOSQ_ERR_SUCCESS;
}

static int rules_load(struct rules *r, const char *path)
{
	FILE *f = fopen(path, "r");
	if(f == NULL){
		mosquitto_log_printf(MOSQ_LOG_ERR, "brexit-clientid: cannot open %s", path);
		return MOSQ_ERR_INVAL;
	}
	char line[MAX_LINE], pattern[MAX_LINE], owner[MAX_LINE];
	int rc = MOSQ_ERR_SUCCESS, number = 0;
	while(rc == MOSQ_ERR_SUCCESS && fgets(line, sizeof(line), f) != NULL){
		number++;
		char *start = line + strspn(line, " \t");
		if(*start == '#' || *start == '\n' || *start == '\0') continue;
		if(sscanf(start, "%511s %511s", pattern, owner) != 2){
			mosquitto_log_printf(MOSQ_LOG_ERR, "brexit-clientid: %s:%d: want 'PATTERN LOGIN'",
					path, number);
			rc = MOSQ_ERR_INVAL;
		}else{
			rc = rules_add(r, pattern, owner);
		}
	}
	fclose(f);
	return rc;
}

/* The owner of the longest pattern matching client_id, or NULL if none matches. */
static const char *owner_of(const struct rules *r, const char *client_id)
{
	const struct rule *best = NULL;
	size_t id_len = strlen(client_id);
	for(size_t i = 0; i < r->count; i++){
		const struct rule *it = &r->items[i];
		int match = it->prefix
			? id_len >= it->length && strncmp(client_id, it->pattern, it->length) == 0
			: id_len == it->length && strcmp(client_id, it->pattern) == 0;
		if(match && (best == NULL || it->length > best->length
					|| (it->length == best->length && !it->prefix))){
			best = it;
		}
	}
	return best ? best->owner : NULL;
}

static int on_basic_auth(int event, void *event_data, void *userdata)
{
	(void)event;
	(void)userdata;
	struct mosquitto_evt_basic_auth *ed = event_data;
	const char *client_id = mosquitto_client_id(ed->client);
	const char *username = ed->username;
	if(client_id == NULL || username == NULL) return MOSQ_ERR_AUTH;
	const char *owner = owner_of(&rules, client_id);
	if(owner != NULL && (strcmp(owner, "*") == 0 || strcmp(owner, username) == 0)){
		return MOSQ_ERR_PLUGIN_DEFER; /* the password file decides */
	}
	mosquitto_log_printf(MOSQ_LOG_NOTICE,
			"brexit-clientid: login %s may not use client id %s (%s)", username, client_id,
			owner ? "it belongs to another login" : "no login owns it");
	return MOSQ_ERR_AUTH;
}

int mosquitto_plugin_version(int supported_version_count, const int *supported_versions)
{
	for(int i = 0; i < supported_version_count; i++){
		if(supported_versions[i] == 5) return 5;
	}
	return -1;
}

int mosquitto_plugin_init(mosquitto_plugin_id_t *identifier, void **userdata,
		struct mosquitto_opt *options, int option_count)
{
	(void)userdata;
	const char *path = NULL;
	for(int i = 0; i < option_count; i++){
		if(strcmp(options[i].key, "clientids") == 0) path = options[i].value;
	}
	if(path == NULL){
		mosquitto_log_printf(MOSQ_LOG_ERR, "brexit-clientid: plugin_opt_clientids is missing");
		return MOSQ_ERR_INVAL;
	}
	rules_free(&rules); /* a reload (SIGHUP) reads the file again */
	int rc = rules_load(&rules, path);
	if(rc != MOSQ_ERR_SUCCESS){
		rules_free(&rules);
		return rc;
	}
	plugin_id = identifier;
	mosquitto_log_printf(MOSQ_LOG_INFO, "brexit-clientid: %zu client id rules from %s",
			rules.count, path);
	rc = mosquitto_callback_register(plugin_id, MOSQ_EVT_BASIC_AUTH, on_basic_auth, NULL, NULL);
	return rc == MOSQ_ERR_ALREADY_EXISTS ? MOSQ_ERR_SUCCESS : rc;
}

int mosquitto_plugin_cleanup(void *userdata, struct mosquitto_opt *options, int option_count)
{
	(void)userdata;
	(void)options;
	(void)option_count;
	if(plugin_id != NULL){
		mosquitto_callback_unregister(plugin_id, MOSQ_EVT_BASIC_AUTH, on_basic_auth, NULL);
	}
	rules_free(&rules);
	return MOSQ_ERR_SUCCESS;
}
