package tracer

// probeKind is how a program attaches.
type probeKind int

const (
	kindFexit      probeKind = iota // BPF trampoline on function return
	kindEntry                       // kprobe
	kindReturn                      // kretprobe
	kindRawTP                       // raw tracepoint: no tracefs needed
	kindTracepoint                  // tracefs tracepoint: the fallback
)

// probe is one BPF program of c/tcpconnect.bpf.c and where it attaches.
type probe struct {
	prog   string
	mode   Mode // the mode that reports connects through it; "" for the state hooks
	family int  // 4 or 6 for tcp_v{4,6}_connect; 0 for the state hooks
	kind   probeKind
	// target is the kernel function, or the tracepoint (category/name;
	// a raw tracepoint takes the name only).
	target string
}

// stateEvent is the tracepoint that sees every TCP state change.
const stateEvent = "inet_sock_set_state"

// probes is every program in the object, one row each.
var probes = []probe{
	{"fexit_v4", ModeFentry, 4, kindFexit, "tcp_v4_connect"},
	{"fexit_v6", ModeFentry, 6, kindFexit, "tcp_v6_connect"},
	{"kprobe_v4", ModeKprobe, 4, kindEntry, "tcp_v4_connect"},
	{"kretprobe_v4", ModeKprobe, 4, kindReturn, "tcp_v4_connect"},
	{"kprobe_v6", ModeKprobe, 6, kindEntry, "tcp_v6_connect"},
	{"kretprobe_v6", ModeKprobe, 6, kindReturn, "tcp_v6_connect"},
	{"raw_tp_state", "", 0, kindRawTP, stateEvent},
	{"tp_state", "", 0, kindTracepoint, "sock/" + stateEvent},
}

// stateFlavours are the ways to attach the state hook, in the order tried.
var stateFlavours = []probeKind{kindRawTP, kindTracepoint}

// selected returns the probes that mode m needs, with the state hook in
// the given flavour, and their targets after the test overrides.
func selected(cfg *Config, m Mode, flavour probeKind) []probe {
	var out []probe
	for _, p := range probes {
		switch {
		case p.family != 0:
			if p.mode != m || (p.family == 4 && !cfg.IPv4) || (p.family == 6 && !cfg.IPv6) {
				continue
			}
			if p.family == 4 {
				p.target = cfg.V4Func
			} else {
				p.target = cfg.V6Func
			}
		case p.kind != flavour || !(m == ModeTracepoint || cfg.outcomeTracked(m)):
			continue
		}
		out = append(out, p)
	}
	return out
}

// String names a probe as a user would: "kprobe on tcp_v4_connect".
func (p probe) String() string {
	switch p.kind {
	case kindFexit:
		return "fexit on " + p.target
	case kindEntry:
		return "kprobe on " + p.target
	case kindReturn:
		return "kretprobe on " + p.target
	case kindRawTP:
		return "raw tracepoint " + p.target
	}
	return "tracepoint " + p.target
}

// Names of the maps the Go side opens, as in c/tcpconnect.bpf.c.
const (
	mapEvents     = "events"
	mapStats      = "stats"
	mapCounts     = "counts"
	mapSynSent    = "syn_sent"
	mapInflightV4 = "inflight_v4"
	mapInflightV6 = "inflight_v6"
	mapCgroup     = "cgroup_map"
)

// usedMaps lists them, for the test that checks them against the object.
var usedMaps = []string{mapEvents, mapStats, mapCounts, mapSynSent, mapInflightV4, mapInflightV6, mapCgroup}
