#!/bin/sh
# Writes a kernel log in syslog (kern.log) format of about MB megabytes
# holding EVENTS OOM reports, for bench/oom-report-bench.sh:
#
#   sh bench/gen-oom-log.sh MB EVENTS > kern.log
#
# The reports alternate between a global OOM with a 120-task table in the
# 6.1 format and a memcg kill in a memguard session group with a 3.10-era
# table; between them, ordinary kernel lines (network, audit, USB, a
# warning's call trace) fill the file to its size. Deterministic: the same
# arguments give the same bytes.
set -u
mb=${1:-200}
events=${2:-1000}
exec awk -v mb="$mb" -v events="$events" '
function stamp(   s) {
	sec += 0.0371
	s = int(sec)
	return sprintf("Dec  1 %02d:%02d:%02d lab kernel: [%6d.%06d] ", int(s / 3600) % 24, int(s / 60) % 60, s % 60,
		       s, int((sec - s) * 1000000))
}
function noise(n,   i, k) {
	for (i = 0; i < n; i++) {
		k = (i + nl) % 8
		nl++
		if (k == 0) print stamp() "e1000e 0000:00:19.0 eth0: NIC Link is Up 1000 Mbps Full Duplex, Flow Control: Rx/Tx"
		else if (k == 1) print stamp() "audit: type=1400 audit(1733050800.000:" nl "): apparmor=\"DENIED\" operation=\"open\" profile=\"snap.firefox\" name=\"/proc/" nl "/mountinfo\" pid=" nl " comm=\"firefox\""
		else if (k == 2) print stamp() "usb 1-1.2: new high-speed USB device number " (nl % 100) " using ehci-pci"
		else if (k == 3) print stamp() "EXT4-fs (sda1): mounted filesystem with ordered data mode. Quota mode: none."
		else if (k == 4) print stamp() "CPU: 3 PID: " nl " Comm: kworker/3:1 Tainted: G        W          6.1.0-56-amd64 #1 Debian 6.1.158-1"
		else if (k == 5) print stamp() " ? __pfx_worker_thread+0x10/0x10"
		else if (k == 6) print stamp() "TCP: request_sock_TCP: Possible SYN flooding on port 443. Sending cookies.  Check SNMP counters."
		else print stamp() "nfs: server fileserver not responding, still trying"
	}
}
function global_event(e,   i, pid) {
	print stamp() "cc1 invoked oom-killer: gfp_mask=0x140dca(GFP_HIGHUSER_MOVABLE|__GFP_COMP|__GFP_ZERO), order=0, oom_score_adj=0"
	print stamp() "CPU: 1 PID: " (50000 + e) " Comm: cc1 Not tainted 6.1.0-56-amd64 #1  Debian 6.1.158-1"
	print stamp() "Call Trace:"
	print stamp() " <TASK>"
	print stamp() " dump_stack_lvl+0x44/0x5c"
	print stamp() " dump_header+0x4a/0x211"
	print stamp() " oom_kill_process.cold+0xb/0x10"
	print stamp() " out_of_memory+0x1fd/0x4c0"
	print stamp() " </TASK>"
	print stamp() "Mem-Info:"
	print stamp() "active_anon:1413442 inactive_anon:1509191 isolated_anon:0"
	print stamp() "Node 0 DMA free:13312kB boost:0kB min:64kB low:80kB high:96kB reserved_highatomic:0KB active_anon:0kB"
	print stamp() "Tasks state (memory values in pages):"
	print stamp() "[  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name"
	print stamp() "[    900]   113   900   500000   400000  3500000        0             0 postgres"
	for (i = 0; i < 119; i++) {
		pid = 50000 + e + i
		printf "%s[%7d] %5d %5d %8d %8d %8d %8d %13d %s\n", stamp(), pid, 1000 + (i % 3 == 0), pid, 90000, 30000 + i * 7, 700000, 0, 0, (i % 3 ? "cc1" : "make")
	}
	print stamp() "oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/system.slice/postgresql.service,task=postgres,pid=900,uid=113"
	print stamp() "Out of memory: Killed process 900 (postgres) total-vm:2000000kB, anon-rss:1600000kB, file-rss:0kB, shmem-rss:0kB, UID:113 pgtables:3418kB oom_score_adj:0"
	print stamp() "oom_reaper: reaped process 900 (postgres), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB"
}
function memcg_event(e,   i, pid, g) {
	g = "/memguard/user-" (1000 + e % 50) "/session-" (60000 + e) "-" (123456 + e)
	pid = 60000 + e
	print stamp() "hog invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0"
	print stamp() "CPU: 0 PID: " pid " Comm: hog Not tainted 6.1.0-56-amd64 #1  Debian 6.1.158-1"
	print stamp() "memory: usage 65536kB, limit 65536kB, failcnt 12"
	print stamp() "swap: usage 0kB, limit 0kB, failcnt 0"
	print stamp() "Memory cgroup stats for " g ":"
	print stamp() "anon 66498560"
	print stamp() "file 4096"
	print stamp() "Tasks state (memory values in pages):"
	print stamp() "[  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name"
	for (i = 0; i < 4; i++)
		printf "%s[%7d] %5d %5d %8d %8d %8d %8d %13d %s\n", stamp(), pid - 4 + i, 1000 + e % 50, pid - 4 + i, 2000, 300 + i, 45056, 0, 0, "bash"
	printf "%s[%7d] %5d %5d %8d %8d %8d %8d %13d %s\n", stamp(), pid, 1000 + e % 50, pid, 52000, 16000, 172032, 0, 0, "hog"
	print stamp() "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=" g ",task_memcg=" g ",task=hog,pid=" pid ",uid=" (1000 + e % 50)
	print stamp() "Memory cgroup out of memory: Killed process " pid " (hog) total-vm:208000kB, anon-rss:63800kB, file-rss:200kB, shmem-rss:0kB, UID:" (1000 + e % 50) " pgtables:168kB oom_score_adj:0"
}
BEGIN {
	# one event of each kind is about 12.4 kB + 1.3 kB; the rest is noise
	per_event = mb * 1048576 / events
	for (e = 0; e < events; e++) {
		noise(int((per_event - (e % 2 ? 1450 : 13100)) / 128))
		if (e % 2) memcg_event(e); else global_event(e)
	}
}'
