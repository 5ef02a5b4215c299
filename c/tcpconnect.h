/* Event layout shared by the BPF programs (c/tcpconnect.bpf.c) and the Go
 * decoder (pkg/event). Fixed-size fields only, ordered so that no padding
 * is needed; pkg/event checks its copy of the layout against this struct's
 * BTF in the compiled object. */
#ifndef TCPCONNECT_H
#define TCPCONNECT_H

#define TASK_COMM_LEN 16
#define MAX_PORTS 64

/* Event kinds. */
#define EV_CONNECT 1 /* tcp_v{4,6}_connect was called */
#define EV_OUTCOME 2 /* the handshake of a traced connect ended */

/* Flags. */
#define EVF_RET_KNOWN 1 /* ret holds tcp_v{4,6}_connect's return value */
#define EVF_ESTABLISHED 2 /* EV_OUTCOME: the handshake completed */

struct event {
	__u64 ts_ns;     /* bpf_ktime_get_ns() at the connect */
	__u64 cgroup_id; /* cgroup v2 id of the caller */
	__u64 lat_ns;    /* EV_OUTCOME: SYN_SENT to result */
	__u32 pid;       /* tgid */
	__u32 tid;
	__u32 uid;
	__u32 netns;     /* network namespace inode number */
	__s32 ret;       /* return value (EV_CONNECT), -errno or 0 (EV_OUTCOME) */
	__u16 family;    /* AF_INET or AF_INET6 (of the addresses below) */
	__u16 sport;     /* host order; 0 when not yet known */
	__u16 dport;     /* host order */
	__u8 kind;       /* EV_* */
	__u8 flags;      /* EVF_* */
	__u8 saddr[16];  /* IPv4 in the first 4 bytes, network order */
	__u8 daddr[16];
	char comm[TASK_COMM_LEN];
	__u32 ppid;      /* tgid of the caller's real parent, at the connect */
	char pcomm[TASK_COMM_LEN]; /* the real parent's name, at the connect */
};

/* Slots of the stats map: what user space cannot see for itself. */
#define STAT_KPROBE_ENTRY 0  /* kprobe stored a pending connect */
#define STAT_KRETPROBE 1     /* kretprobe found it: entry - this = misses */
#define STAT_OUTPUT_FAIL 2   /* bpf_perf_event_output failed: lost events */
#define STAT_INFLIGHT_FULL 3 /* kprobe could not store a pending connect */
#define STAT_OUTCOME_FULL 4  /* syn_sent full: a handshake not tracked */
#define STAT_COUNT_FULL 5    /* counts full: a connect not counted */
#define STAT_MAX 6

/* Key of the in-kernel connect counters (count mode). */
struct count_key {
	__u8 saddr[16];
	__u8 daddr[16];
	__u32 family;
	__u32 dport; /* host order */
};

#endif
