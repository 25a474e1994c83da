#include "sink.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fmt.h"
#include "preload.h"

static int file_fd = -1;
static pid_t file_pid;
static bool file_failed;
static int log_sock = -1;
static atomic_flag sink_lock = ATOMIC_FLAG_INIT;

static void lock(void)
{
	while (atomic_flag_test_and_set_explicit(&sink_lock, memory_order_acquire))
		;
}

static void unlock(void)
{
	atomic_flag_clear_explicit(&sink_lock, memory_order_release);
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t r = write(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return;
		p += r;
		n -= (size_t)r;
	}
}

/* O_NOFOLLOW: a symlink planted at the name does not redirect us. */
static int open_file(void)
{
	char path[MG_PL_PATH_EXPANDED];
	pid_t pid = getpid();

	if (file_fd >= 0 && file_pid == pid)
		return file_fd;
	if (file_fd >= 0) {
		close(file_fd);
		file_fd = -1;
	}
	if (file_failed && file_pid == pid)
		return -1;
	file_pid = pid;
	file_failed = true;
	if (mg_pl_secure() || mg_pl_expand_path(mg_pl_cfg.log_path, pid, path, sizeof(path)) < 0)
		return -1;
	file_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
	if (file_fd >= 0)
		file_failed = false;
	return file_fd;
}

static void to_file(const char *line, size_t len)
{
	int fd = open_file();

	if (fd < 0) {
		static const char msg[] = "memguard: warning: cannot open MEMGUARD_LOG, writing to stderr\n";
		static bool told;
		if (!told) {
			told = true;
			write_all(2, msg, sizeof(msg) - 1);
		}
		fd = 2;
	}
	write_all(fd, line, len);
}

static int connect_log(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = "/dev/log" };
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* "<PRI>memguard[PID]: message" without the newline: syslogd adds time and
 * host. Facility user. */
static void to_syslog(enum mg_pl_level level, const char *line, size_t len)
{
	char mem[8192 + 64];
	struct mg_buf b;
	static const char prefix[] = "memguard: ";

	if (len && line[len - 1] == '\n')
		len--;
	if (len >= sizeof(prefix) - 1 && memcmp(line, prefix, sizeof(prefix) - 1) == 0) {
		line += sizeof(prefix) - 1;
		len -= sizeof(prefix) - 1;
	}
	mg_buf_init(&b, mem, sizeof(mem));
	mg_buf_str(&b, "<");
	mg_buf_u64(&b, 8 + (unsigned)level);
	mg_buf_str(&b, ">memguard[");
	mg_buf_u64(&b, (uint64_t)getpid());
	mg_buf_str(&b, "]: ");
	mg_buf_mem(&b, line, len);
	for (int attempt = 0; attempt < 2; attempt++) {
		if (log_sock < 0)
			log_sock = connect_log();
		if (log_sock < 0)
			break;
		if (send(log_sock, b.p, b.len, MSG_NOSIGNAL) >= 0)
			return;
		/* syslogd restarted: reconnect once. */
		close(log_sock);
		log_sock = -1;
	}
	/* No syslogd: stderr rather than nothing. */
	write_all(2, line, len);
	write_all(2, "\n", 1);
}

void mg_pl_sink_write(enum mg_pl_level level, const char *line, size_t len)
{
	int saved = errno;

	lock();
	switch (mg_pl_cfg.sink) {
	case MG_PL_FILE:
		to_file(line, len);
		break;
	case MG_PL_SYSLOG:
		to_syslog(level, line, len);
		break;
	case MG_PL_STDERR:
	default:
		write_all(2, line, len);
		break;
	}
	unlock();
	errno = saved;
}

void mg_pl_sink_child(void)
{
	/* Whatever thread held the lock at fork() does not exist here. */
	atomic_flag_clear(&sink_lock);
	/* The pid check in open_file reopens a %p file; a name without %p
	 * keeps the shared descriptor (O_APPEND keeps lines whole). */
	if (file_fd >= 0 && !strstr(mg_pl_cfg.log_path, "%p"))
		file_pid = getpid();
}
