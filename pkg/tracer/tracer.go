package tracer

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"unsafe"

	bpf "github.com/aquasecurity/libbpfgo"
	"golang.org/x/sys/unix"

	"github.com/tcpv4connect/tcpv4connect/pkg/bpfobj"
	"github.com/tcpv4connect/tcpv4connect/pkg/perfbuf"
)

// MaxPorts is how many destination ports the kernel-side filter holds.
const MaxPorts = 64

// Config selects what is traced and how. The zero value of each filter
// means "everything".
type Config struct {
	Mode    Mode
	PID     uint32   // thread group id, 0 for all
	UID     *uint32  // nil for all users
	Ports   []uint16 // destination ports, at most MaxPorts
	Cgroup  string   // cgroup v2 directory; "" for all
	IPv4    bool     // trace tcp_v4_connect
	IPv6    bool     // trace tcp_v6_connect
	Failed  bool     // also report connects that returned an error
	Count   bool     // count in the kernel instead of emitting events
	Outcome bool     // report the handshake result instead of the connect
	// SourcePort asks for each connect's source port. The tracepoint fires
	// before the port is chosen, so in that mode the tracer reports the
	// connect when its handshake ends, as with Outcome.
	SourcePort bool
	BTFPath    string // kernel BTF to use instead of /sys/kernel/btf/vmlinux
	PerfPages  int    // perf buffer pages per CPU; 0 for the default
	// Log receives libbpf's messages; nil keeps libbpf silent.
	Log func(level int, msg string)
	// V4Func and V6Func name the probed kernel functions. Only tests
	// change them, to prove that a missing symbol makes auto move on.
	V4Func, V6Func string
	// MapEntries resizes maps by name. Only tests set it, to fill a map
	// and prove that what it drops is counted.
	MapEntries map[string]uint32
}

// outcomeTracked reports whether mode m reports connects when their
// handshake ends.
func (cfg *Config) outcomeTracked(m Mode) bool {
	return cfg.Outcome || (cfg.SourcePort && !cfg.Count && m == ModeTracepoint)
}

// DefaultPerfPages is the perf buffer size per CPU, in pages.
const DefaultPerfPages = 64

// Attempt records why one mode could not be used.
type Attempt struct {
	Mode Mode
	Err  error
}

// NoModeError is returned when no attach mode worked.
type NoModeError struct {
	Attempts []Attempt
}

func (e *NoModeError) Error() string {
	parts := make([]string, len(e.Attempts))
	for i, a := range e.Attempts {
		parts[i] = fmt.Sprintf("%s: %v", a.Mode, a.Err)
	}
	return "no attach mode works: " + strings.Join(parts, "; ")
}

// Tracer is a loaded and attached BPF object.
type Tracer struct {
	mode Mode
	// Outcome is true when rows come when the handshake ends (-O, or -L
	// in tracepoint mode).
	Outcome bool
	mod     *bpf.Module
	linksMu sync.Mutex
	links   []*bpf.BPFLink
	rd      *perfbuf.Reader
	cgFD    int
	objFD   int
	// Tried lists the modes that failed before this one was chosen.
	Tried []Attempt
}

// Open loads and attaches the tracer. With ModeAuto it tries fentry,
// kprobe and tracepoint in turn and keeps the first that works; the
// failures of the earlier ones are in Tracer.Tried, or in a *NoModeError.
func Open(cfg Config) (*Tracer, error) {
	if err := validate(&cfg); err != nil {
		return nil, err
	}
	bpf.SetLoggerCbs(bpf.Callbacks{Log: func(level int, msg string) {
		if cfg.Log != nil {
			cfg.Log(level, msg)
		}
	}})
	modes := []Mode{cfg.Mode}
	if cfg.Mode == ModeAuto {
		modes = autoModes(&cfg)
	}
	var tried []Attempt
	for _, m := range modes {
		t, err := openMode(&cfg, m)
		if err == nil {
			t.Tried = tried
			return t, nil
		}
		tried = append(tried, Attempt{Mode: m, Err: err})
	}
	return nil, &NoModeError{Attempts: tried}
}

// autoModes lists the modes auto tries: with Failed only those that see
// tcp_v{4,6}_connect's return value.
func autoModes(cfg *Config) []Mode {
	if !cfg.Failed {
		return Modes
	}
	var m []Mode
	for _, x := range Modes {
		if x.KnowsReturn() {
			m = append(m, x)
		}
	}
	return m
}

// ErrFailedNeedsReturn means failed connects were asked for in a mode that
// cannot see tcp_v{4,6}_connect's return value.
var ErrFailedNeedsReturn = errors.New("failed connects need the return value of tcp_v4_connect/tcp_v6_connect, which only the fentry and kprobe attach modes see (the tracepoint fires inside the function)")

// CanReportFailed returns ErrFailedNeedsReturn when mode m cannot report
// failed connects; auto can, by choosing fentry or kprobe.
func (m Mode) CanReportFailed() error {
	if m != ModeAuto && !m.KnowsReturn() {
		return ErrFailedNeedsReturn
	}
	return nil
}

func validate(cfg *Config) error {
	if cfg.Mode == "" {
		cfg.Mode = ModeAuto
	}
	if _, err := ParseMode(string(cfg.Mode)); err != nil {
		return err
	}
	if cfg.Failed {
		if err := cfg.Mode.CanReportFailed(); err != nil {
			return err
		}
	}
	if !cfg.IPv4 && !cfg.IPv6 {
		return errors.New("nothing to trace: enable IPv4, IPv6 or both")
	}
	if len(cfg.Ports) > MaxPorts {
		return fmt.Errorf("too many ports: %d, at most %d", len(cfg.Ports), MaxPorts)
	}
	if cfg.PerfPages == 0 {
		cfg.PerfPages = DefaultPerfPages
	}
	if cfg.V4Func == "" {
		cfg.V4Func = "tcp_v4_connect"
	}
	if cfg.V6Func == "" {
		cfg.V6Func = "tcp_v6_connect"
	}
	return nil
}

// openMode opens mode m with the first flavour of the state hook that
// attaches: a raw tracepoint, else the tracefs tracepoint. The first
// flavour's error is the one reported.
func openMode(cfg *Config, m Mode) (*Tracer, error) {
	var first error
	for _, fl := range stateFlavours {
		t, err := openFlavour(cfg, m, fl)
		if err == nil {
			return t, nil
		}
		if first == nil {
			first = err
		}
		if m != ModeTracepoint && !cfg.outcomeTracked(m) {
			break // no state hook: nothing else to try
		}
	}
	return nil, first
}

func openFlavour(cfg *Config, m Mode, flavour probeKind) (t *Tracer, err error) {
	t = &Tracer{mode: m, cgFD: -1, objFD: -1, Outcome: cfg.outcomeTracked(m)}
	defer func() {
		if err != nil {
			t.Close()
		}
	}()
	// libbpfgo's buffer loader forces a memlock bump that fails without
	// CAP_SYS_RESOURCE; its file loader can skip it, so the embedded
	// object is handed over as a memfd.
	t.objFD, err = unix.MemfdCreate("tcpconnect.bpf.o", unix.MFD_CLOEXEC)
	if err != nil {
		return t, fmt.Errorf("memfd: %w", err)
	}
	if _, err = unix.Write(t.objFD, bpfobj.Object()); err != nil {
		return t, fmt.Errorf("memfd write: %w", err)
	}
	t.mod, err = bpf.NewModuleFromFileArgs(bpf.NewModuleArgs{
		BPFObjPath:      fmt.Sprintf("/proc/self/fd/%d", t.objFD),
		BTFObjPath:      cfg.BTFPath,
		SkipMemlockBump: true,
	})
	if err != nil {
		return t, fmt.Errorf("open object: %w", err)
	}
	want := selected(cfg, m, flavour)
	for _, p := range probes {
		prog, err := t.mod.GetProgram(p.prog)
		if err != nil {
			return t, fmt.Errorf("program %s: %w", p.prog, err)
		}
		i := slices.IndexFunc(want, func(w probe) bool { return w.prog == p.prog })
		if err := prog.SetAutoload(i >= 0); err != nil {
			return t, fmt.Errorf("autoload %s: %w", p.prog, err)
		}
		if i >= 0 && p.kind == kindFexit {
			if err := prog.SetAttachTarget(0, want[i].target); err != nil {
				return t, fmt.Errorf("%s: %w", want[i], explain(m, errnoOf(err)))
			}
		}
	}
	if err := setGlobals(t.mod, cfg, m); err != nil {
		return t, err
	}
	if err := sizeMaps(t.mod, cfg, m); err != nil {
		return t, err
	}
	if err := t.mod.BPFLoadObject(); err != nil {
		return t, fmt.Errorf("load: %w", explain(m, err))
	}
	if cfg.Cgroup != "" {
		if err := t.setCgroup(cfg.Cgroup); err != nil {
			return t, err
		}
	}
	// The rings first: a connect between attach and their installation
	// would fail to be written, and be counted as lost to a full buffer.
	em, err := t.mod.GetMap(mapEvents)
	if err != nil {
		return t, fmt.Errorf("events map: %w", err)
	}
	if t.rd, err = perfbuf.Open(em, cfg.PerfPages); err != nil {
		return t, fmt.Errorf("perf buffer: %w", explain(m, err))
	}
	if err := t.attach(m, want); err != nil {
		return t, err
	}
	return t, nil
}

// sizeMaps gives the maps this configuration never touches a single
// entry (hash maps are preallocated: creating them costs memory and
// start-up time for nothing), then applies the tests' sizes.
func sizeMaps(mod *bpf.Module, cfg *Config, m Mode) error {
	size := map[string]uint32{}
	for name, unused := range map[string]bool{
		mapInflightV4: m != ModeKprobe || !cfg.IPv4,
		mapInflightV6: m != ModeKprobe || !cfg.IPv6,
		mapSynSent:    !cfg.outcomeTracked(m),
		mapCounts:     !cfg.Count,
	} {
		if unused {
			size[name] = 1
		}
	}
	for name, n := range cfg.MapEntries {
		if _, unused := size[name]; !unused && n > 0 {
			size[name] = n
		}
	}
	for name, n := range size {
		bm, err := mod.GetMap(name)
		if err != nil {
			return fmt.Errorf("map %s: %w", name, err)
		}
		if err := bm.SetMaxEntries(n); err != nil {
			return fmt.Errorf("size map %s: %w", name, err)
		}
	}
	return nil
}

// global is one const volatile global of the object and its value.
type global struct {
	name  string
	value any
}

// globals returns the values of the object's filters and switches.
func globals(cfg *Config, m Mode) []global {
	var ports [MaxPorts]uint16
	copy(ports[:], cfg.Ports)
	uid := ^uint32(0)
	if cfg.UID != nil {
		uid = *cfg.UID
	}
	return []global{
		{"targ_tgid", cfg.PID},
		{"targ_uid", uid},
		{"targ_cgroup", cfg.Cgroup != ""},
		{"targ_ports", ports},
		{"targ_nports", uint32(len(cfg.Ports))},
		{"targ_v4", cfg.IPv4},
		{"targ_v6", cfg.IPv6},
		{"targ_failed", cfg.Failed},
		{"targ_count", cfg.Count},
		{"targ_outcome", cfg.outcomeTracked(m)},
		{"targ_tracepoint", m == ModeTracepoint},
	}
}

func setGlobals(mod *bpf.Module, cfg *Config, m Mode) error {
	for _, v := range globals(cfg, m) {
		if err := mod.InitGlobalVariable(v.name, v.value); err != nil {
			return fmt.Errorf("set %s: %w", v.name, err)
		}
	}
	return nil
}

func (t *Tracer) setCgroup(path string) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("cgroup %s: %w", path, err)
	}
	t.cgFD = fd
	m, err := t.mod.GetMap(mapCgroup)
	if err != nil {
		return fmt.Errorf("cgroup map: %w", err)
	}
	key, val := uint32(0), uint32(fd)
	if err := m.Update(unsafe.Pointer(&key), unsafe.Pointer(&val)); err != nil {
		return fmt.Errorf("cgroup %s: not a cgroup v2 directory? %w", path, err)
	}
	return nil
}

// attach attaches each probe; errors name the probe as a user would
// ("kprobe on tcp_v4_connect: ...").
func (t *Tracer) attach(m Mode, want []probe) error {
	for _, p := range want {
		prog, err := t.mod.GetProgram(p.prog)
		if err != nil {
			return fmt.Errorf("program %s: %w", p.prog, err)
		}
		var l *bpf.BPFLink
		switch p.kind {
		case kindEntry:
			l, err = prog.AttachKprobe(p.target)
		case kindReturn:
			l, err = prog.AttachKretprobe(p.target)
		case kindRawTP:
			l, err = prog.AttachRawTracepoint(p.target)
		case kindTracepoint:
			err = tracefsReady()
			if err == nil {
				cat, name, _ := strings.Cut(p.target, "/")
				l, err = prog.AttachTracepoint(cat, name)
			}
		case kindFexit: // the target was set before load
			l, err = prog.AttachGeneric()
		}
		if err != nil {
			return fmt.Errorf("%s: %w", p, explain(m, errnoOf(err)))
		}
		// Links made by AttachGeneric are not tracked by Module.Close.
		t.links = append(t.links, l)
	}
	return nil
}

// errnoOf strips libbpfgo's wording ("failed to attach to {...}: ...")
// down to the errno, which is what a user can act on; other errors pass.
func errnoOf(err error) error {
	var en syscall.Errno
	if errors.As(err, &en) {
		return en
	}
	var te *TracefsError
	if errors.As(err, &te) {
		return err
	}
	// AttachKprobe formats the errno with %v: match its text.
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		tail := msg[i+2:]
		for n := syscall.Errno(1); n < 134; n++ {
			if n.Error() == tail {
				return n
			}
		}
	}
	return err
}

// errENOTSUPP is the kernel-internal ENOTSUPP (524) that leaks to user space
// when a fentry/fexit trampoline cannot be made (e.g. arm64 before 6.0, or
// built without ftrace direct calls); Go has no name for it.
const errENOTSUPP = syscall.Errno(524)

// explain adds what the kernel most likely meant by an error.
func explain(m Mode, err error) error {
	switch {
	case m == ModeKprobe && !kprobesAvailable():
		return fmt.Errorf("%w (kernel has no kprobes: CONFIG_KPROBES not set)", err)
	case privilegeHint(err) != "":
		return fmt.Errorf("%w (%s)", err, privilegeHint(err))
	case m == ModeFentry && errors.Is(err, syscall.EPERM):
		return fmt.Errorf("%w (kernel refused fentry/fexit programs)", err)
	case m == ModeFentry && (errors.Is(err, errENOTSUPP) || strings.HasSuffix(err.Error(), errENOTSUPP.Error())):
		return fmt.Errorf("%w (kernel has no BPF trampoline for fentry/fexit here: on arm64 it needs CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS, 6.0+)", err)
	case m == ModeFentry && errors.Is(err, syscall.ESRCH):
		// libbpf looks the target up in the kernel's BTF: a function
		// in a module (ipv6 on some builds) has none before 5.11.
		return fmt.Errorf("%w (function not in the kernel's BTF: a module's function needs module BTF, 5.11+)", err)
	case errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ESRCH):
		return fmt.Errorf("%w (probed function or event not found in this kernel)", err)
	}
	return err
}

// kprobesAvailable reports whether the kernel can create kprobes, through
// the perf PMU or the legacy tracefs interface.
func kprobesAvailable() bool {
	for _, p := range []string{
		"/sys/bus/event_source/devices/kprobe/type",
		"/sys/kernel/tracing/kprobe_events",
		"/sys/kernel/debug/tracing/kprobe_events",
	} {
		if _, err := os.Stat(p); err == nil {
			return true
		}
	}
	return false
}

// Mode returns the attach mode in use.
func (t *Tracer) Mode() Mode { return t.mode }

// Poll waits up to timeoutMs for samples and hands each to sample (the
// slice is valid only during the call); lost gets the number of samples
// the kernel dropped because a ring was full.
func (t *Tracer) Poll(timeoutMs int, sample func([]byte), lost func(uint64)) error {
	return t.rd.Poll(timeoutMs, sample, lost)
}

// Wait returns when samples wait to be read, after at most timeoutMs, or
// at once after Interrupt (perfbuf.Reader.Wait: it paces reads under
// load).
func (t *Tracer) Wait(timeoutMs int) error { return t.rd.Wait(timeoutMs) }

// Interrupt ends the current Wait and every later one.
func (t *Tracer) Interrupt() {
	if t.rd != nil {
		t.rd.Interrupt()
	}
}

// Detach stops the probes: after it no new event or count arrives, so the
// rings can be drained and the counters read knowing nothing follows.
func (t *Tracer) Detach() {
	// The stream detaches before its last read while the caller may
	// detach after giving up on a blocked output: either may come first.
	t.linksMu.Lock()
	defer t.linksMu.Unlock()
	for _, l := range t.links {
		_ = l.Destroy()
	}
	t.links = nil
}

// Close detaches every program and frees every kernel object. It is safe
// on a partly opened Tracer.
func (t *Tracer) Close() {
	t.Detach()
	if t.rd != nil {
		t.rd.Close()
		t.rd = nil
	}
	if t.mod != nil {
		t.mod.Close()
		t.mod = nil
	}
	for _, fd := range []*int{&t.cgFD, &t.objFD} {
		if *fd >= 0 {
			unix.Close(*fd)
			*fd = -1
		}
	}
}
