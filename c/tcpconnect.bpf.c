//go:build ignore

// SPDX-License-Identifier: GPL-2.0
/* Traces active TCP connects. One handler builds each event; the attach
 * flavours (fexit, kprobe/kretprobe, tracepoint) are thin wrappers around it.
 * Filters are const volatile globals that the loader sets before load, so
 * unused ones cost nothing after the verifier prunes them. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "tcpconnect.h"

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define EEXIST 17
/* include/net/tcp_states.h */
#define TCP_ESTABLISHED 1
#define TCP_SYN_SENT 2
#define TCP_CLOSE 7

/* Set by the loader before load (pkg/tracer globals()); all named targ_*. */
const volatile __u32 targ_tgid = 0;
const volatile __u32 targ_uid = (__u32)-1;
const volatile bool targ_cgroup = false;
const volatile __u16 targ_ports[MAX_PORTS] = {};
const volatile __u32 targ_nports = 0;
const volatile bool targ_v4 = true;
const volatile bool targ_v6 = false;
const volatile bool targ_failed = false;     /* also emit ret != 0 */
const volatile bool targ_count = false;      /* count in the kernel, emit nothing */
const volatile bool targ_outcome = false;    /* report the handshake result instead */
const volatile bool targ_tracepoint = false; /* the state hook reports connects */

struct pending {
	struct sock *sk;
	__u8 daddr[16];
	__u16 dport;
};

/* In flight between kprobe and kretprobe, keyed by thread. Separate maps
 * because tcp_v6_connect calls tcp_v4_connect for v4-mapped addresses.
 * LRU: an entry whose kretprobe was missed would otherwise stay for good;
 * an evicted live entry shows up as a miss (entry count - return count). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct pending);
} inflight_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct pending);
} inflight_v6 SEC(".maps");

/* Connects in SYN_SENT whose result is awaited (outcome mode), keyed by
 * sock. Not LRU, which would evict without a word: a failed insert is
 * counted instead. Every socket leaves SYN_SENT through the tracepoint, so
 * entries do not go stale. Sized for ~500 connects/s to a black-holed host
 * retried for 127 s; allocated on use, so an idle map costs nothing. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct event);
} syn_sent SEC(".maps");

/* bcc's tcpconnect sizes its counts the same. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct count_key);
	__type(value, __u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

/* Slot 0 holds the cgroup (v2) that --cgroup selects. */
struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} cgroup_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps");

/* Per-CPU scratch so that the event does not live on the 512-byte stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct event);
} scratch SEC(".maps");

static __always_inline void stat_inc(__u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &slot);

	if (v)
		__sync_fetch_and_add(v, 1);
}

/* Every sample goes out here, so that a full ring is always counted, even
 * when perf has no later sample to carry its own loss record. */
static __always_inline void output(void *ctx, struct event *e)
{
	if (bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, e, sizeof(*e)) < 0)
		stat_inc(STAT_OUTPUT_FAIL);
}

static __always_inline bool caller_filtered(void)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	if (targ_tgid && (__u32)(pid_tgid >> 32) != targ_tgid)
		return true;
	if (targ_uid != (__u32)-1 && (__u32)bpf_get_current_uid_gid() != targ_uid)
		return true;
	if (targ_cgroup && bpf_current_task_under_cgroup(&cgroup_map, 0) != 1)
		return true;
	return false;
}

static __always_inline bool port_filtered(__u16 dport)
{
	if (!targ_nports)
		return false;
	for (int i = 0; i < MAX_PORTS; i++) {
		if (i >= targ_nports)
			break;
		if (targ_ports[i] == dport)
			return false;
	}
	return true;
}

static __always_inline bool is_v4_mapped(const __u8 *a)
{
	return !a[0] && !a[1] && !a[2] && !a[3] && !a[4] && !a[5] && !a[6] &&
	       !a[7] && !a[8] && !a[9] && a[10] == 0xff && a[11] == 0xff;
}

/* Who the caller's parent is, read now: once the caller has exited (and
 * its parent maybe too), /proc cannot tell. bpf_get_current_task (4.8+)
 * rather than the _btf flavour (5.11+): the fields are CO-RE reads either
 * way. */
static __always_inline void parent_of(struct event *e)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct task_struct *parent = BPF_CORE_READ(task, real_parent);

	if (!parent)
		return;
	e->ppid = BPF_CORE_READ(parent, tgid);
	bpf_core_read(e->pcomm, sizeof(e->pcomm), &parent->comm);
}

static __always_inline struct event *new_event(void)
{
	__u32 zero = 0;
	struct event *e = bpf_map_lookup_elem(&scratch, &zero);
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	if (!e)
		return NULL;
	__builtin_memset(e, 0, sizeof(*e));
	e->kind = EV_CONNECT;
	e->ts_ns = bpf_ktime_get_ns();
	e->pid = pid_tgid >> 32;
	e->tid = (__u32)pid_tgid;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	parent_of(e);
	return e;
}

static __always_inline void count_event(const struct event *e)
{
	struct count_key key = {};
	__u64 one = 1, *val;
	long err;

	__builtin_memcpy(key.saddr, e->saddr, sizeof(key.saddr));
	__builtin_memcpy(key.daddr, e->daddr, sizeof(key.daddr));
	key.family = e->family;
	key.dport = e->dport;
	val = bpf_map_lookup_elem(&counts, &key);
	if (val) {
		__sync_fetch_and_add(val, 1);
		return;
	}
	err = bpf_map_update_elem(&counts, &key, &one, BPF_NOEXIST);
	if (err == -EEXIST) {
		/* Another CPU inserted the key first: add to its entry. */
		val = bpf_map_lookup_elem(&counts, &key);
		if (val) {
			__sync_fetch_and_add(val, 1);
			return;
		}
	}
	if (err)
		stat_inc(STAT_COUNT_FULL);
}

/* Stores a connect until its handshake ends. */
static __always_inline void track(__u64 sk, struct event *e)
{
	if (bpf_map_update_elem(&syn_sent, &sk, e, BPF_ANY))
		stat_inc(STAT_OUTCOME_FULL);
}

/* Hands a finished connect event to user space, the counters, or the
 * outcome tracker. */
static __always_inline void submit_connect(void *ctx, struct event *e, __u64 sk)
{
	if (targ_outcome && e->ret == 0) {
		track(sk, e);
		return;
	}
	if (targ_count) {
		if (e->ret == 0)
			count_event(e);
		return;
	}
	output(ctx, e);
}

/* Shared by the kprobe and fexit flavours: sk is the connecting socket, ret
 * the return value of tcp_v{4,6}_connect, p what the entry saw. Addresses
 * are copied with an explicit size: BPF_CORE_READ_INTO(arr, ...) on a __u8
 * array would copy sizeof(*arr), one byte. */
static __always_inline int handle_return(void *ctx, struct pending *p, int ret, int ipver)
{
	struct sock *sk = p->sk;
	struct event *e;
	__u16 dport;

	if (ret && !targ_failed)
		return 0;
	dport = ret ? p->dport : bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (port_filtered(dport))
		return 0;
	e = new_event();
	if (!e)
		return 0;
	e->ret = ret;
	e->flags = EVF_RET_KNOWN;
	e->dport = dport;
	e->netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	if (ipver == 4) {
		e->family = AF_INET;
		bpf_core_read(e->saddr, 4, &sk->__sk_common.skc_rcv_saddr);
		if (ret)
			__builtin_memcpy(e->daddr, p->daddr, 4);
		else
			bpf_core_read(e->daddr, 4, &sk->__sk_common.skc_daddr);
	} else {
		e->family = AF_INET6;
		bpf_core_read(e->saddr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		if (ret)
			__builtin_memcpy(e->daddr, p->daddr, 16);
		else
			bpf_core_read(e->daddr, 16, &sk->__sk_common.skc_v6_daddr);
	}
	if (!ret)
		e->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	submit_connect(ctx, e, (__u64)sk);
	return 0;
}

/* Reads what the entry knows. Returns false when the connect is not ours:
 * filtered, or a v4-mapped tcp_v6_connect that tcp_v4_connect reports. As
 * with bcc, IPv6 alone reports a v4-mapped connect as IPv6. */
static __always_inline bool read_entry(struct pending *p, struct sock *sk,
				       struct sockaddr *uaddr, int ipver)
{
	if (caller_filtered())
		return false;
	p->sk = sk;
	if (ipver == 4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)uaddr;

		bpf_core_read(p->daddr, 4, &sin->sin_addr.s_addr);
		p->dport = bpf_ntohs(BPF_CORE_READ(sin, sin_port));
		return true;
	}
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)uaddr;

	bpf_core_read(p->daddr, 16, &sin6->sin6_addr);
	p->dport = bpf_ntohs(BPF_CORE_READ(sin6, sin6_port));
	return !targ_v4 || !is_v4_mapped(p->daddr);
}

static __always_inline int kprobe_entry(void *map, struct sock *sk, struct sockaddr *uaddr, int ipver)
{
	struct pending p = {};
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	if (!read_entry(&p, sk, uaddr, ipver))
		return 0;
	if (bpf_map_update_elem(map, &tid, &p, BPF_ANY))
		stat_inc(STAT_INFLIGHT_FULL);
	else
		stat_inc(STAT_KPROBE_ENTRY);
	return 0;
}

static __always_inline int kprobe_return(void *ctx, void *map, int ret, int ipver)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct pending *p = bpf_map_lookup_elem(map, &tid);

	if (!p)
		return 0;
	stat_inc(STAT_KRETPROBE);
	handle_return(ctx, p, ret, ipver);
	bpf_map_delete_elem(map, &tid);
	return 0;
}

SEC("kprobe/tcp_v4_connect")
int BPF_KPROBE(kprobe_v4, struct sock *sk, struct sockaddr *uaddr)
{
	return kprobe_entry(&inflight_v4, sk, uaddr, 4);
}

SEC("kretprobe/tcp_v4_connect")
int BPF_KRETPROBE(kretprobe_v4, int ret)
{
	return kprobe_return(ctx, &inflight_v4, ret, 4);
}

SEC("kprobe/tcp_v6_connect")
int BPF_KPROBE(kprobe_v6, struct sock *sk, struct sockaddr *uaddr)
{
	return kprobe_entry(&inflight_v6, sk, uaddr, 6);
}

SEC("kretprobe/tcp_v6_connect")
int BPF_KRETPROBE(kretprobe_v6, int ret)
{
	return kprobe_return(ctx, &inflight_v6, ret, 6);
}

/* fexit sees the arguments and the return value at once: no map needed. */
SEC("fexit/tcp_v4_connect")
int BPF_PROG(fexit_v4, struct sock *sk, struct sockaddr *uaddr, int addr_len, int ret)
{
	struct pending p = {};

	if (read_entry(&p, sk, uaddr, 4))
		handle_return(ctx, &p, ret, 4);
	return 0;
}

SEC("fexit/tcp_v6_connect")
int BPF_PROG(fexit_v6, struct sock *sk, struct sockaddr *uaddr, int addr_len, int ret)
{
	struct pending p = {};

	if (read_entry(&p, sk, uaddr, 6))
		handle_return(ctx, &p, ret, 6);
	return 0;
}

/* CLOSE -> SYN_SENT happens inside tcp_v{4,6}_connect, in the caller's
 * context, after the addresses are set and before the source port is
 * chosen. Everything is read from the socket, so that the raw tracepoint
 * (no tracefs needed) and the tracefs one share this handler. */
static __always_inline int state_connect(void *ctx, struct sock *sk)
{
	struct event *e;
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	__u16 dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	__u8 daddr6[16] = {};
	bool mapped = false;

	/* In the fentry and kprobe modes submit_connect stores the connect
	 * once tcp_v{4,6}_connect has returned 0: a connect that fails inside
	 * the function (SYN_SENT then CLOSE) is reported once, by -x. The
	 * caller holds the socket lock, so no handshake result can come
	 * before the return. */
	if (!targ_tracepoint)
		return 0;
	if (caller_filtered() || port_filtered(dport))
		return 0;
	if (family == AF_INET6) {
		bpf_core_read(daddr6, 16, &sk->__sk_common.skc_v6_daddr);
		mapped = is_v4_mapped(daddr6);
	} else if (family != AF_INET) {
		return 0;
	}
	/* A v4-mapped connect goes through tcp_v4_connect: IPv4, unless only
	 * IPv6 is traced (bcc then shows it as IPv6). */
	bool v4 = family == AF_INET || (mapped && targ_v4);

	if (v4 ? !targ_v4 : !targ_v6)
		return 0;
	e = new_event();
	if (!e)
		return 0;
	e->dport = dport;
	e->netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	if (v4) {
		e->family = AF_INET;
		bpf_core_read(e->saddr, 4, &sk->__sk_common.skc_rcv_saddr);
		bpf_core_read(e->daddr, 4, &sk->__sk_common.skc_daddr);
	} else if (mapped) {
		/* skc_v6_rcv_saddr is set only after tcp_v4_connect returns. */
		e->family = AF_INET6;
		e->saddr[10] = 0xff;
		e->saddr[11] = 0xff;
		bpf_core_read(&e->saddr[12], 4, &sk->__sk_common.skc_rcv_saddr);
		__builtin_memcpy(e->daddr, daddr6, 16);
	} else {
		e->family = AF_INET6;
		bpf_core_read(e->saddr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		__builtin_memcpy(e->daddr, daddr6, 16);
	}
	submit_connect(ctx, e, (__u64)sk);
	return 0;
}

/* SYN_SENT -> anything ends the handshake; this runs in softirq, so who
 * connected comes from what state_connect or submit_connect stored. */
static __always_inline int state_result(void *ctx, struct sock *sk, int newstate)
{
	__u64 key = (__u64)sk;
	struct event *e = bpf_map_lookup_elem(&syn_sent, &key);

	if (!e)
		return 0;
	e->kind = EV_OUTCOME;
	e->lat_ns = bpf_ktime_get_ns() - e->ts_ns;
	/* inet_sport, not skc_num: a failed connect has released its port
	 * (skc_num = 0) before the state change is traced. */
	e->sport = bpf_ntohs(BPF_CORE_READ((struct inet_sock *)sk, inet_sport));
	if (e->family == AF_INET)
		bpf_core_read(e->saddr, 4, &sk->__sk_common.skc_rcv_saddr);
	if (newstate == TCP_ESTABLISHED) {
		e->ret = 0;
		e->flags |= EVF_ESTABLISHED;
	} else {
		e->ret = -BPF_CORE_READ(sk, sk_err);
	}
	if (targ_count) {
		if (newstate == TCP_ESTABLISHED)
			count_event(e);
	} else {
		output(ctx, e);
	}
	bpf_map_delete_elem(&syn_sent, &key);
	return 0;
}

static __always_inline int state_change(void *ctx, struct sock *sk, int oldstate, int newstate)
{
	if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	if (oldstate == TCP_CLOSE && newstate == TCP_SYN_SENT)
		return state_connect(ctx, sk);
	if (targ_outcome && oldstate == TCP_SYN_SENT)
		return state_result(ctx, sk, newstate);
	return 0;
}

/* The tracepoint modes' two flavours: a raw tracepoint needs no tracefs;
 * the tracefs one is the fallback. */
SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(raw_tp_state, struct sock *sk, int oldstate, int newstate)
{
	return state_change(ctx, sk, oldstate, newstate);
}

SEC("tracepoint/sock/inet_sock_set_state")
int tp_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	return state_change(ctx, (struct sock *)ctx->skaddr, ctx->oldstate, ctx->newstate);
}

char LICENSE[] SEC("license") = "GPL";
