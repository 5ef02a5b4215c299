package format

import (
	"encoding/base64"
	"encoding/json"
	"time"
	"unicode/utf8"

	"github.com/tcpv4connect/tcpv4connect/pkg/event"
)

// SchemaVersion is the version of the JSON records (docs/tcpconnect.md).
// It changes when a field changes meaning or goes away; added fields do
// not change it.
const SchemaVersion = 1

// Record types.
const (
	RecordConnect = "connect" // tcp_v{4,6}_connect was called
	RecordOutcome = "outcome" // the handshake of a traced connect ended (-O)
	RecordLost    = "lost"    // the kernel dropped records: a gap
	RecordStart   = "start"   // the first line: tracing has begun
)

// StartRecord is the first line: the probes are attached.
type StartRecord struct {
	SchemaVersion int    `json:"schema_version"`
	Type          string `json:"type"` // "start"
	Time          string `json:"time"`
	Attach        string `json:"attach"`
}

// Start returns the record that opens the stream, with its newline.
func (f *JSON) Start() string {
	return marshal(&StartRecord{
		SchemaVersion: SchemaVersion,
		Type:          RecordStart,
		Time:          time.Now().UTC().Format(time.RFC3339Nano),
		Attach:        f.attach,
	})
}

// Record is one JSON line. Field order and names are the schema; pointer
// fields are null when the value is not known in the attach mode used.
type Record struct {
	SchemaVersion int    `json:"schema_version"`
	Type          string `json:"type"`
	// Time is the wall-clock time of the connect (RFC 3339, ns), from
	// KtimeNs and an offset between the clocks taken at start.
	Time    string `json:"time"`
	KtimeNs uint64 `json:"ktime_ns"`
	PID     uint32 `json:"pid"`
	TID     uint32 `json:"tid"`
	UID     uint32 `json:"uid"`
	// Comm is the process name; invalid UTF-8 bytes become U+FFFD, and
	// CommB64 then holds the raw bytes (standard base64).
	Comm    string `json:"comm"`
	CommB64 string `json:"comm_b64,omitempty"`
	// PPID and PComm name the caller's real parent at the connect;
	// PCommB64 is to PComm what CommB64 is to Comm.
	PPID     uint32  `json:"ppid"`
	PComm    string  `json:"pcomm"`
	PCommB64 string  `json:"pcomm_b64,omitempty"`
	Family   string  `json:"family"` // "ipv4" or "ipv6"
	Saddr    string  `json:"saddr"`
	Sport    *uint16 `json:"sport"` // null when not known (tracepoint mode without -O)
	Daddr    string  `json:"daddr"`
	Dport    uint16  `json:"dport"`
	Attach   string  `json:"attach"`
	Netns    uint32  `json:"netns"`
	CgroupID uint64  `json:"cgroup_id"`
	// Ret is tcp_v{4,6}_connect's return value; null in tracepoint mode.
	Ret *int32 `json:"ret"`
	// Error is the errno name of a non-zero Ret.
	Error string `json:"error,omitempty"`
	// Outcome and LatencyNs are set on "outcome" records.
	Outcome   string  `json:"outcome,omitempty"`
	LatencyNs *uint64 `json:"latency_ns,omitempty"`
}

// LostRecord reports connects the run did not show, and why (Reason, one
// of the Reason* constants). The counts of all "lost" records of a stream
// add up to every connect it did not show.
type LostRecord struct {
	SchemaVersion int    `json:"schema_version"`
	Type          string `json:"type"` // "lost"
	Time          string `json:"time"` // when the loss was noticed
	Attach        string `json:"attach"`
	Count         uint64 `json:"count"`
	Reason        string `json:"reason"`
}

// Reasons of "lost" records (docs/tcpconnect.md). perf_buffer_full
// records come where the gap is noticed; the others once, at exit, with
// the run's total.
const (
	ReasonPerfBufferFull = "perf_buffer_full" // the reader fell behind
	ReasonMalformed      = "malformed"        // a sample that did not decode
	ReasonKretprobeMiss  = "kretprobe_miss"   // kprobe mode: the return probe did not fire
	ReasonOutcomeMapFull = "outcome_map_full" // -O: no room to follow the handshake
	ReasonCountMapFull   = "count_map_full"   // -c: no room for a new key
	ReasonInflightFull   = "inflight_full"    // no room for a connect in progress
	ReasonOutputBlocked  = "output_blocked"   // stdout took nothing at exit
	ReasonPendingAtExit  = "pending_at_exit"  // -O: the handshake had not ended at exit
)

// JSON renders events as JSON lines (-j).
type JSON struct {
	attach   string
	offsetNs int64
}

// NewJSON returns a JSON formatter. attach is the attach mode in use;
// offsetNs is wall-clock ns minus CLOCK_MONOTONIC ns, taken at start.
func NewJSON(attach string, offsetNs int64) *JSON {
	return &JSON{attach: attach, offsetNs: offsetNs}
}

// Row returns the record of an event, with its newline.
func (f *JSON) Row(e *event.Event) string {
	r := Record{
		SchemaVersion: SchemaVersion,
		Type:          RecordConnect,
		Time:          f.wall(e.TsNs),
		KtimeNs:       e.TsNs,
		PID:           e.PID,
		TID:           e.TID,
		UID:           e.UID,
		Family:        "ipv4",
		Saddr:         e.SrcAddr().String(),
		Daddr:         e.DstAddr().String(),
		Dport:         e.Dport,
		Attach:        f.attach,
		Netns:         e.Netns,
		CgroupID:      e.CgroupID,
	}
	if e.Family == event.AFInet6 {
		r.Family = "ipv6"
	}
	r.Comm, r.CommB64 = jsonName(e.CommBytes())
	r.PPID = e.PPID
	r.PComm, r.PCommB64 = jsonName(e.PCommBytes())
	if e.Sport != 0 {
		sport := e.Sport
		r.Sport = &sport
	}
	if ret, ok := e.ConnectRet(); ok {
		r.Ret = &ret
		if ret != 0 {
			r.Error = event.ErrnoName(ret)
		}
	}
	if e.Kind == event.KindOutcome {
		r.Type = RecordOutcome
		r.Outcome = e.Outcome()
		lat := e.LatNs
		r.LatencyNs = &lat
	}
	return marshal(&r)
}

// jsonName returns a process name for a JSON string (json.Marshal turns
// invalid UTF-8 into U+FFFD) and, only when it is not valid UTF-8, its raw
// bytes in base64.
func jsonName(b []byte) (name, b64 string) {
	if !utf8.Valid(b) {
		b64 = base64.StdEncoding.EncodeToString(b)
	}
	return string(b), b64
}

// Lost returns the record that reports n records the kernel dropped
// because the perf buffer was full.
func (f *JSON) Lost(n uint64) string { return f.LostBecause(ReasonPerfBufferFull, n) }

// LostBecause returns the record that reports n connects not shown for
// the given reason.
func (f *JSON) LostBecause(reason string, n uint64) string {
	return marshal(&LostRecord{
		SchemaVersion: SchemaVersion,
		Type:          RecordLost,
		Time:          time.Now().UTC().Format(time.RFC3339Nano),
		Attach:        f.attach,
		Count:         n,
		Reason:        reason,
	})
}

func (f *JSON) wall(ktimeNs uint64) string {
	return time.Unix(0, int64(ktimeNs)+f.offsetNs).UTC().Format(time.RFC3339Nano)
}

func marshal(r any) string {
	b, err := json.Marshal(r)
	if err != nil { // cannot happen: every field is a plain value
		return `{"schema_version":1,"type":"error"}` + "\n"
	}
	return terminalSafeJSON(b) + "\n"
}
