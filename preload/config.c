/* The live settings, read once from the environment. secure_getenv() means
 * a setuid or otherwise secure-execution program ignores every MEMGUARD_*
 * variable, and the log then stays on stderr: an attacker must not be able
 * to make a privileged program write into a file of their choosing. */
#include "preload.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

#include "fmt.h"

struct mg_pl_settings mg_pl_cfg;

bool mg_pl_secure(void)
{
	return getauxval(AT_SECURE) != 0;
}

static const char *default_text(size_t idx)
{
	switch (idx) {
	case 0: return "64M";
	case 1: return "stderr";
	case 2: return "text";
	case 3: return "8";
	case 4: return "0";
	case 5:
	case 6: return "off";
	case 7: return "10/60";
	default: return "?";
	}
}

static void warn_bad(size_t idx, const char *value, int err)
{
	char mem[512];
	struct mg_buf b;
	size_t n = strlen(value);

	mg_buf_init(&b, mem, sizeof(mem));
	mg_buf_str(&b, mg_pl_vars[idx].name);
	mg_buf_str(&b, "=\"");
	/* Enough of the value to recognise it, not a whole environment block. */
	mg_buf_mem(&b, value, n > 64 ? 64 : n);
	mg_buf_str(&b, n > 64 ? "...\" is " : "\" is ");
	mg_buf_str(&b, err == -ERANGE ? "out of range" : "not valid");
	mg_buf_str(&b, " (expected ");
	mg_buf_str(&b, mg_pl_vars[idx].expected);
	mg_buf_str(&b, "), using ");
	mg_buf_str(&b, default_text(idx));
	mem[b.len] = '\0';
	mg_pl_warn(mem);
}

void mg_pl_config_load(void)
{
	struct mg_pl_settings s;
	int errs[16];
	const char *vals[16];

	mg_pl_settings_default(&s);
	for (size_t i = 0; i < mg_pl_nvars; i++) {
		vals[i] = secure_getenv(mg_pl_vars[i].name);
		errs[i] = 0;
		/* An empty value means the same as an unset one. */
		if (vals[i] && *vals[i])
			errs[i] = mg_pl_setting_apply(&s, i, vals[i]);
	}
	/* Belt and braces: secure_getenv already hid MEMGUARD_LOG there. */
	if (s.sink == MG_PL_FILE && mg_pl_secure())
		s.sink = MG_PL_STDERR;
	mg_pl_cfg = s;
	/* Warnings go where the valid settings say, so load first. */
	for (size_t i = 0; i < mg_pl_nvars; i++)
		if (errs[i] < 0)
			warn_bad(i, vals[i], errs[i]);
}
