/* memguardctl symbolize [LOG...]: a shim log written earlier (a session
 * with trace=, a plain LD_PRELOAD run), with every frame named, as long as
 * the binaries it names are still there. */
#include <errno.h>
#include <string.h>

#include "ctl.h"
#include "symbolized.h"

int cmd_symbolize(struct ctl *c, int argc, char **argv)
{
	struct symbolized s;
	int r, status = EXIT_OK;

	if (symbolized_init(&s, stdout, c->json) < 0) {
		ctl_err("out of memory");
		return EXIT_PROBLEMS;
	}
	for (int i = 0; i < (argc ? argc : 1); i++) {
		const char *name = argc ? argv[i] : "-";
		FILE *in = strcmp(name, "-") == 0 ? stdin : fopen(name, "re");

		if (!in) {
			ctl_err("%s: %s", name, strerror(errno));
			status = EXIT_PROBLEMS;
			continue;
		}
		r = symbolized_stream(&s, in, strcmp(name, "-") == 0 ? "(stdin)" : name);
		if (in != stdin)
			fclose(in);
		if (r == -ENOMEM) {
			ctl_err("out of memory");
			status = EXIT_PROBLEMS;
			break;
		}
		if (r < 0)
			status = EXIT_PROBLEMS;
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		ctl_err("write error: %s", strerror(errno));
		status = EXIT_PROBLEMS;
	}
	symbolized_free(&s);
	return status;
}
