#include "sink.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fmt.h"
#include "preload.h"

/* How long a line waits for a full non-blocking descriptor before it is
 * counted as lost. */
#define NONBLOCK_WAIT_MS 1000

/* What a descriptor we opened is, so that we notice when the program has
 * closed it and its own file now has the number. */
struct fd_id {
	dev_t dev;
	ino_t ino;
};

static int file_fd = -1;
static struct fd_id file_id;
static pid_t file_pid;
static bool file_failed;
static int log_sock = -1;
static struct fd_id sock_id;
/* A mutex, not a spinlock: the holder may sit in write() on a full pipe
 * for as long as nobody reads it, and the other threads must sleep. */
static pthread_mutex_t sink_lock = PTHREAD_MUTEX_INITIALIZER;
/* A non-blocking descriptor stayed full for NONBLOCK_WAIT_MS: later lines
 * do not wait again until a write gets through. */
static bool stalled;
static atomic_uint_least64_t lost;

static int fd_id_get(int fd, struct fd_id *id)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	return 0;
}

static bool fd_still_ours(int fd, const struct fd_id *id)
{
	struct fd_id now = { 0, 0 };

	return fd_id_get(fd, &now) == 0 && now.dev == id->dev && now.ino == id->ino;
}

static int wait_writable(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	struct timespec end, now;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += NONBLOCK_WAIT_MS / 1000;
	for (;;) {
		long ms;
		clock_gettime(CLOCK_MONOTONIC, &now);
		ms = (end.tv_sec - now.tv_sec) * 1000 + (end.tv_nsec - now.tv_nsec) / 1000000;
		if (ms <= 0)
			return -EAGAIN;
		r = poll(&pfd, 1, (int)ms);
		if (r > 0)
			return 0;
		if (r == 0)
			return -EAGAIN;
		if (errno != EINTR)
			return -errno;
	}
}

static int write_loop(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t r = write(fd, p, n);
		if (r > 0) {
			p += r;
			n -= (size_t)r;
			stalled = false;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && !stalled) {
			int w = wait_writable(fd);
			if (w == 0)
				continue;
			stalled = true;
			return w;
		}
		return r < 0 ? -errno : -EIO;
	}
	return 0;
}

/* A report must not kill the program: stderr may be a pipe whose reader
 * has gone, where the program itself would never have written. SIGPIPE is
 * blocked around the write and the one it raised taken back. */
static int write_all(int fd, const char *p, size_t n)
{
	static const struct timespec no_wait;
	sigset_t pipe_set, old, pending;
	bool was_pending;
	int r;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE);
	r = write_loop(fd, p, n);
	if (r == -EPIPE && !was_pending)
		(void)sigtimedwait(&pipe_set, NULL, &no_wait);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}

/* O_NOFOLLOW: a symlink planted at the name does not redirect us. */
static int open_file(void)
{
	char path[MG_PL_PATH_EXPANDED];
	pid_t pid = getpid();

	/* The program closed our descriptor and has a file of its own at the
	 * number: forget it (closing it would close the program's file). */
	if (file_fd >= 0 && !fd_still_ours(file_fd, &file_id)) {
		file_fd = -1;
		file_failed = false;
	}
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
	if (file_fd >= 0 && fd_id_get(file_fd, &file_id) < 0) {
		close(file_fd);
		file_fd = -1;
	}
	if (file_fd >= 0)
		file_failed = false;
	return file_fd;
}

static int to_file(const char *line, size_t len)
{
	int fd = open_file();

	if (fd >= 0 && write_all(fd, line, len) == 0)
		return 0;
	if (fd < 0) {
		static const char msg[] = "memguard: warning: cannot open MEMGUARD_LOG, writing to stderr\n";
		static bool told;
		if (!told) {
			told = true;
			(void)write_all(2, msg, sizeof(msg) - 1);
		}
	}
	/* A file that refuses the line (full disk): stderr rather than nothing. */
	return write_all(2, line, len);
}

static int connect_log(struct fd_id *id)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = "/dev/log" };
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || fd_id_get(fd, id) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* "<PRI>memguard[PID]: message" without the newline: syslogd adds time and
 * host. Facility user. */
static int to_syslog(enum mg_pl_level level, const char *line, size_t len)
{
	char mem[8192 + 64];
	struct mg_buf b;
	static const char prefix[] = "memguard: ";
	const char *msg = line;
	size_t n = len;

	if (n && msg[n - 1] == '\n')
		n--;
	if (n >= sizeof(prefix) - 1 && memcmp(msg, prefix, sizeof(prefix) - 1) == 0) {
		msg += sizeof(prefix) - 1;
		n -= sizeof(prefix) - 1;
	}
	mg_buf_init(&b, mem, sizeof(mem));
	mg_buf_str(&b, "<");
	mg_buf_u64(&b, 8 + (unsigned)level);
	mg_buf_str(&b, ">memguard[");
	mg_buf_u64(&b, (uint64_t)getpid());
	mg_buf_str(&b, "]: ");
	mg_buf_mem(&b, msg, n);
	for (int attempt = 0; attempt < 2; attempt++) {
		/* As for the file: the number may be the program's now. */
		if (log_sock >= 0 && !fd_still_ours(log_sock, &sock_id))
			log_sock = -1;
		if (log_sock < 0)
			log_sock = connect_log(&sock_id);
		if (log_sock < 0)
			break;
		if (send(log_sock, b.p, b.len, MSG_NOSIGNAL) >= 0)
			return 0;
		/* syslogd restarted: reconnect once. */
		close(log_sock);
		log_sock = -1;
	}
	/* No syslogd: stderr rather than nothing, the line as it was. */
	return write_all(2, line, len);
}

void mg_pl_sink_write(enum mg_pl_level level, const char *line, size_t len)
{
	int saved = errno, r;

	pthread_mutex_lock(&sink_lock);
	switch (mg_pl_cfg.sink) {
	case MG_PL_FILE:
		r = to_file(line, len);
		break;
	case MG_PL_SYSLOG:
		r = to_syslog(level, line, len);
		break;
	case MG_PL_STDERR:
	default:
		r = write_all(2, line, len);
		break;
	}
	pthread_mutex_unlock(&sink_lock);
	if (r < 0)
		atomic_fetch_add_explicit(&lost, 1, memory_order_relaxed);
	errno = saved;
}

uint64_t mg_pl_sink_lost(void)
{
	return atomic_load_explicit(&lost, memory_order_relaxed);
}

void mg_pl_sink_child(void)
{
	/* Whatever thread held the lock at fork() does not exist here. */
	pthread_mutex_init(&sink_lock, NULL);
	atomic_store(&lost, 0);
	stalled = false;
	/* The pid check in open_file reopens a %p file; a name without %p
	 * keeps the shared descriptor (O_APPEND keeps lines whole). */
	if (file_fd >= 0 && !strstr(mg_pl_cfg.log_path, "%p"))
		file_pid = getpid();
}
