#include "systemd_stack.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "pamconf.h"

int mg_sd_stack_read(const char *pam_dir, const char *service, struct mg_sd_stack *st)
{
	struct mg_pamconf pc = { 0 };
	struct mg_diags d = { 0 };
	struct mg_pam_layout l;
	int r;

	memset(st, 0, sizeof(*st));
	if (!service || !*service)
		return -EINVAL;
	/* Only the service's own file and its includes: a login reads no
	 * other. */
	r = mg_pamconf_load_service(pam_dir, service, &pc, &d);
	/* Malformed lines are PAM's to report; what could be read counts. */
	mg_diags_free(&d);
	if (r < 0)
		return r;
	mg_pamconf_layout(&pc.svc[0], &l);
	st->loads_pam_systemd = l.systemd != SIZE_MAX;
	st->post_line_after = st->loads_pam_systemd && l.post != SIZE_MAX && l.post > l.systemd;
	st->first_line_after = st->loads_pam_systemd && l.mine != SIZE_MAX && l.mine > l.systemd;
	mg_pamconf_free(&pc);
	return 0;
}
